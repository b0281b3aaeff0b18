/** Issued certificates (SecretBackendCert) and the registration of the Vault emulations. */
import "../../reflect-shim";
import * as x509 from "@peculiar/x509";
import * as crypto from "node:crypto";
import * as net from "node:net";
import { HandlerContext, StoredResource, TlsEmulator, Emulation } from "../../tls-emulator";
import { GoName, marshalGoName, marshalSans, parseIp, pemEncode, Sans, spkiDer, subjectKeyId } from "../../tls-crypto";
import { EmulatedIssuer, EmulatedMount, SYSTEM_LEASE_TTL_SECONDS, VAULT_TYPES, VaultEmulator, vaultMounts } from "./state";
import { apiError, glob, goDuration, normPath, noRoute, parseVaultDuration, q, requireInput, rfc3339Nano, toAscii, validateCommonName, validateNames, WILD_HOSTNAME_RE } from "./names";
import { generateVaultKey, goIpList, keyPem, KU_BITS, list, roleEkus, vaultSerial, webAlg } from "./keys";
import { configIssuersEmulation, configUrlsEmulation, intermediateCertRequestEmulation, mountEmulation, mountOf, setSignedEmulation } from "./mounts";
import { roleEmulation } from "./roles";

function renewPending(outputs: Record<string, any>, now: Date): boolean {
    const expiration = Number(outputs.expiration);
    if (!Number.isFinite(expiration)) return false;
    return now.getTime() > (expiration - Number(outputs.minSecondsRemaining ?? 604800)) * 1000;
}

/** SecretBackendCert's inputs with the provider's defaults: the state before (and in a preview, instead of) issuance. */
export function certStateDefaults(ctx: HandlerContext): Record<string, any> {
    const i = ctx.inputs;
    return {
        ...ctx.rawInputs,
        format: i.format ?? "pem",
        privateKeyFormat: i.privateKeyFormat ?? "der",
        autoRenew: i.autoRenew ?? false,
        minSecondsRemaining: i.minSecondsRemaining ?? 604800,
        revoke: i.revoke ?? false,
    };
}

function certEmulation(): Emulation {
    return {
        updatableInputs: ["ttl", "autoRenew", "minSecondsRemaining", "revoke", "revokeWithKey", "issuerRef", "notAfter", "certMetadata"],
        update(ctx) {
            // pkiSecretBackendCertUpdate is a no-op: the state takes the new arguments
            const state = { ...ctx.prior!.outputs, ...ctx.rawInputs, minSecondsRemaining: ctx.inputs.minSecondsRemaining ?? 604800 };
            return { id: ctx.prior!.id, state: { ...state, renewPending: renewPending(state, ctx.now) } };
        },
        replaceIf(prior: StoredResource, _now: Date, inputs: Record<string, any>) {
            // pkiCertAutoRenewCustomizeDiff: planned from the *stored* renew_pending (set by a refresh)
            return inputs.autoRenew === true && prior.outputs.renewPending === true ? "renewPending" : undefined;
        },
        refresh(prior: StoredResource, now: Date) {
            return { ...prior.outputs, renewPending: renewPending(prior.outputs, now) };
        },
        async create(ctx) {
            requireInput(ctx, "backend", "backend");
            requireInput(ctx, "commonName", "common_name");
            const i = ctx.inputs;
            const base = certStateDefaults(ctx);
            if (ctx.preview) return { state: base };
            if (i.name === undefined) {
                // the bridge would auto-name `name` (the ROLE) with a random suffix: no such role exists
                i.name = `${ctx.name}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
                base.name = i.name;
            }
            const backend = normPath(i.backend);
            const roleName = String(i.name);
            const cn = String(i.commonName ?? "");
            const prefix = `error creating certificate ${cn} by ${roleName} for PKI secret backend ${q(backend)}`;
            const route = `${backend}/issue/${roleName}`;
            const fail = (...errors: string[]) => apiError(prefix, "PUT", route, 400, errors);
            const mount = mountOf(ctx.emulator, backend);
            if (!mount) throw noRoute(prefix, "PUT", route);
            const role = mount.roles.get(roleName);
            if (!role) throw fail(`unknown role: ${roleName}`);
            if (role.keyType === "any") throw fail(`role key type "any" not allowed for issuing certificates, only signing`);

            // issuer (issuer_ref on the request, else the role's, "default" → the mount's default issuer)
            const ref = i.issuerRef ?? role.issuerRef ?? "default";
            const issuerId = ref === "default" ? mount.defaultIssuer : ref;
            const issuer = issuerId ? mount.issuers.get(issuerId) : undefined;
            if (!issuer) throw fail(ref === "default" ? "no default issuer currently configured" : `unable to find PKI issuer for reference: ${ref}`);
            const signer = issuer.keyId ? mount.keys.get(issuer.keyId) : undefined;
            if (!signer) throw fail(`unable to fetch corresponding key for issuer ${issuer.id}; unable to use this issuer for signing`);

            // names (GenerateCreationBundle)
            if (cn === "" && role.requireCn) {
                throw fail(`the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false`);
            }
            let dnsNames: string[] = [];
            let emails: string[] = [];
            if (cn !== "" && !i.excludeCnFromSans) {
                if (cn.includes("@")) emails.push(cn);
                else {
                    const a = toAscii(cn);
                    if (a !== undefined && WILD_HOSTNAME_RE.test(a)) dnsNames.push(a);
                }
            }
            for (const v of [...new Set(list(i.altNames).filter((s) => s !== ""))].sort()) {
                if (v.includes("@")) emails.push(v);
                else {
                    const a = toAscii(v);
                    if (a === undefined || !WILD_HOSTNAME_RE.test(a)) throw fail(`subject alternate name ${v} is not a valid DNS name and cannot be included as a SAN`);
                    dnsNames.push(a);
                }
            }
            if (cn !== "" && validateCommonName(role, cn) !== "") throw fail(`common name ${cn} not allowed by this role`);
            let bad = validateNames(role, dnsNames);
            if (bad) throw fail(`subject alternate name ${bad} not allowed by this role`);
            bad = validateNames(role, emails);
            if (bad) throw fail(`email address ${bad} not allowed by this role`);
            const ipStrings = list(i.ipSans);
            if (ipStrings.length > 0 && !role.allowIpSans) {
                throw fail(`IP Subject Alternative Names are not allowed in this role, but was provided ${goIpList(ipStrings)}`);
            }
            const ipAddresses = ipStrings.map((s) => {
                const ip = net.isIP(s) ? parseIp(s) : undefined;
                if (!ip) throw fail(`the value ${q(s)} is not a valid IP address`);
                return ip;
            });
            const uris = list(i.uriSans);
            if (uris.length > 0) {
                if (role.allowedUriSans.length === 0) throw fail("URI Subject Alternative Names are not allowed in this role, but were provided via the API");
                if (!uris.every((u) => role.allowedUriSans.some((p) => glob(p, u)))) {
                    throw fail("URI Subject Alternative Names were provided via the API which are not valid for this role");
                }
            }
            dnsNames = [...new Set(dnsNames)].sort();
            emails = [...new Set(emails)].sort();

            // TTL (GetCertificateNotAfter)
            const now = ctx.now;
            let ttl: number;
            try {
                ttl = parseVaultDuration(i.ttl);
            } catch (e) {
                throw fail((e as Error).message);
            }
            if (ttl > 0 && i.notAfter) throw fail("Either ttl or not_after should be provided. Both should not be provided in the same request.");
            if (ttl === 0 && role.ttl > 0) ttl = role.ttl;
            const maxTtl = role.maxTtl > 0 ? role.maxTtl : mount.maxLeaseTtlSeconds || SYSTEM_LEASE_TTL_SECONDS;
            if (ttl === 0) ttl = mount.defaultLeaseTtlSeconds || SYSTEM_LEASE_TTL_SECONDS;
            if (ttl > maxTtl) {
                ctx.emulator.warnings.push({
                    urn: ctx.urn,
                    summary: "Vault warning",
                    detail: `TTL ${q(goDuration(ttl))} is longer than permitted maxTTL ${q(goDuration(maxTtl))}, so maxTTL is being used`,
                });
                ttl = maxTtl;
            }
            const notAfter = i.notAfter ? new Date(i.notAfter) : new Date(now.getTime() + ttl * 1000);
            const issuerNotAfter = new Date(issuer.cert.validTo);
            if (notAfter.getTime() > issuerNotAfter.getTime()) {
                throw fail(
                    `cannot satisfy request, as TTL would result in notAfter of ${rfc3339Nano(notAfter)} that is beyond the expiration of the CA certificate at ${rfc3339Nano(issuerNotAfter)}`,
                );
            }
            const checkNotBefore = now.getTime() - role.notBeforeDuration * 1000;
            if (checkNotBefore < Date.parse(issuer.cert.validFrom)) throw fail("notBefore before signer's notBefore");
            // key and certificate (certutil.createCertificate with a signing bundle). NotBefore comes from a second
            // time.Now() taken after the key is generated (NotAfter was taken before): the validity is ttl + 30 s
            // minus the key generation time, truncated to seconds (27–30 s over the ttl seen on a loaded machine).
            const key = generateVaultKey(role.keyType, role.keyBits);
            const notBefore = new Date(ctx.emulator.now().getTime() - (role.notBeforeDuration > 0 ? role.notBeforeDuration : 30) * 1000);
            const subject: GoName = {
                commonName: cn || undefined,
                organization: role.organizations.length ? [...new Set(role.organizations)] : undefined,
                organizationalUnit: role.organizationUnit.length ? [...new Set(role.organizationUnit)] : undefined,
            };
            const exts: x509.Extension[] = [];
            const ku = role.keyUsages.reduce((acc, k) => acc | (KU_BITS[k.trim().toLowerCase()] ?? 0), 0);
            if (ku !== 0) exts.push(new x509.KeyUsagesExtension(ku, true));
            const ekus = roleEkus(role);
            if (ekus.length > 0) exts.push(new x509.ExtendedKeyUsageExtension(ekus, false));
            if (role.basicConstraintsValidForNonCa) exts.push(new x509.BasicConstraintsExtension(false, undefined, true));
            exts.push(new x509.SubjectKeyIdentifierExtension(subjectKeyId(key.publicKey).toString("hex"), false));
            if (issuer.skid && issuer.skid.length > 0) exts.push(new x509.AuthorityKeyIdentifierExtension(issuer.skid.toString("hex"), false));
            if (mount.urls.issuingCertificates.length > 0 || mount.urls.ocspServers.length > 0) {
                exts.push(
                    new x509.AuthorityInfoAccessExtension({
                        ...(mount.urls.ocspServers.length ? { ocsp: mount.urls.ocspServers } : {}),
                        ...(mount.urls.issuingCertificates.length ? { caIssuers: mount.urls.issuingCertificates } : {}),
                    }),
                );
            }
            const sans: Sans = { dnsNames, emailAddresses: emails, ipAddresses, uris };
            if (dnsNames.length + emails.length + ipAddresses.length + uris.length > 0) {
                const subjectDer = marshalGoName(subject);
                exts.push(new x509.Extension("2.5.29.17", subjectDer.length <= 2, marshalSans(sans)));
            }
            if (mount.urls.crlDistributionPoints.length > 0) exts.push(new x509.CRLDistributionPointsExtension(mount.urls.crlDistributionPoints));
            const { importAlg, signAlg } = webAlg(signer.key);
            const signingKey = await crypto.webcrypto.subtle.importKey(
                "pkcs8",
                signer.key.privateKey.export({ type: "pkcs8", format: "der" }),
                importAlg as unknown as crypto.webcrypto.AlgorithmIdentifier,
                false,
                ["sign"],
            );
            const serial = vaultSerial();
            const cert = await x509.X509CertificateGenerator.create(
                {
                    serialNumber: serial.hex,
                    subject: new x509.Name(marshalGoName(subject)),
                    issuer: new x509.Name(issuer.subjectDer),
                    notBefore: new Date(Math.floor(notBefore.getTime() / 1000) * 1000),
                    notAfter: new Date(Math.floor(notAfter.getTime() / 1000) * 1000),
                    publicKey: spkiDer(key.publicKey),
                    signingKey: signingKey as never,
                    signingAlgorithm: signAlg as never,
                    extensions: exts,
                },
                crypto.webcrypto as never,
            );
            const certPem = pemEncode("CERTIFICATE", Buffer.from(cert.rawData)).trim();
            if (!role.noStore) mount.certs.set(serial.colon, { serial: serial.colon, role: roleName, commonName: cn, certPem });

            // ca_chain: the issuer and its parents known to the mount
            const chain: string[] = [];
            for (let cur: EmulatedIssuer | undefined = issuer; cur && !chain.includes(cur.certPem); ) {
                chain.push(cur.certPem);
                const c: EmulatedIssuer = cur;
                if (c.cert.checkIssued(c.cert)) break;
                cur = [...mount.issuers.values()].find((p) => p !== c && c.cert.checkIssued(p.cert) && c.cert.verify(p.cert.publicKey));
            }
            const expiration = Math.floor(notAfter.getTime() / 1000);
            const state: Record<string, any> = {
                ...base,
                certificate: certPem,
                issuingCa: issuer.certPem,
                caChain: chain.join("\n"),
                privateKey: keyPem(key),
                privateKeyType: role.keyType,
                serialNumber: serial.colon,
                expiration,
            };
            state.renewPending = renewPending(state, now);
            return { id: `${backend}/${roleName}/${cn}`, state };
        },
    };
}

/**
 * Adds the Vault PKI emulations to a tls emulator (idempotent). The emulated Vault state lives on the emulator
 * instance (`emulator.vaultMounts`, keyed by mount path) and survives program runs like the tls state does.
 */
export function registerVault<T extends TlsEmulator>(emulator: T): T & VaultEmulator {
    if (!(emulator as unknown as { vaultMounts?: Map<string, EmulatedMount> }).vaultMounts) {
        Object.defineProperty(emulator, "vaultMounts", { value: new Map<string, EmulatedMount>(), enumerable: false });
    }
    emulator.register(VAULT_TYPES.Mount, mountEmulation());
    emulator.register(VAULT_TYPES.IntermediateCertRequest, intermediateCertRequestEmulation());
    emulator.register(VAULT_TYPES.IntermediateSetSigned, setSignedEmulation());
    emulator.register(VAULT_TYPES.ConfigIssuers, configIssuersEmulation());
    emulator.register(VAULT_TYPES.ConfigUrls, configUrlsEmulation());
    emulator.register(VAULT_TYPES.Role, roleEmulation());
    emulator.register(VAULT_TYPES.Cert, certEmulation());
    return emulator as T & VaultEmulator;
}

/** Forgets the emulated Vault (all mounts): pair with emulator.reset(). */
export function resetVault(emulator: TlsEmulator): void {
    vaultMounts(emulator).clear();
}
