/** Mounts, intermediate CSRs, set-signed and issuer config, emulated from Vault's PKI engine and the vault provider. */
import * as crypto from "node:crypto";
import { HandlerContext, HandlerResult, TlsEmulator, Emulation } from "../../tls-emulator";
import { createCertificateRequest, GoName, parseCertificatePem, parseIp, pemDecodeFirst, pemEncode, Sans, spkiDer, subjectKeyId } from "../../tls-crypto";
import { EmulatedMount, vaultMounts } from "./state";
import { apiError, normPath, noRoute, q, requireInput, toAscii, uuid, WILD_HOSTNAME_RE } from "./names";
import { defaultBits, generateVaultKey, keyPem, keyTypeLengthProblem, list, splitPems } from "./keys";

// ------------------------------------------------------------------------------------------ emulations

export function mountOf(emulator: TlsEmulator, backend: unknown): EmulatedMount | undefined {
    return vaultMounts(emulator).get(normPath(String(backend ?? "")));
}

export function mountEmulation(): Emulation {
    const check = (ctx: HandlerContext, path: string, except?: string) => {
        for (const existing of vaultMounts(ctx.emulator).keys()) {
            if (existing === except) continue;
            if (existing === path || path.startsWith(existing + "/") || existing.startsWith(path + "/")) {
                throw apiError("error writing to Vault", "POST", `sys/mounts/${path}`, 400, [`path is already in use at ${existing}/`]);
            }
        }
    };
    const state = (ctx: HandlerContext, m: EmulatedMount) => ({
        ...ctx.rawInputs,
        path: m.path,
        accessor: m.accessor,
        defaultLeaseTtlSeconds: m.defaultLeaseTtlSeconds,
        maxLeaseTtlSeconds: m.maxLeaseTtlSeconds,
        local: ctx.inputs.local ?? false,
        sealWrap: ctx.inputs.sealWrap ?? false,
    });
    return {
        updatableInputs: ["path", "description", "defaultLeaseTtlSeconds", "maxLeaseTtlSeconds", "options", "listingVisibility"],
        create(ctx) {
            requireInput(ctx, "path", "path");
            requireInput(ctx, "type", "type");
            if (ctx.preview) return { state: { ...ctx.rawInputs } };
            const path = normPath(ctx.inputs.path);
            const priorPath = ctx.prior ? normPath(ctx.prior.inputs.path) : undefined;
            check(ctx, path, priorPath);
            if (priorPath !== undefined) vaultMounts(ctx.emulator).delete(priorPath);
            const m: EmulatedMount = {
                path,
                type: String(ctx.inputs.type),
                accessor: `${ctx.inputs.type}_${crypto.randomBytes(4).toString("hex")}`,
                defaultLeaseTtlSeconds: Number(ctx.inputs.defaultLeaseTtlSeconds ?? 0),
                maxLeaseTtlSeconds: Number(ctx.inputs.maxLeaseTtlSeconds ?? 0),
                keys: new Map(),
                issuers: new Map(),
                roles: new Map(),
                urls: { issuingCertificates: [], crlDistributionPoints: [], ocspServers: [] },
                certs: new Map(),
            };
            vaultMounts(ctx.emulator).set(path, m);
            return { id: path, state: state(ctx, m) };
        },
        update(ctx) {
            const priorPath = normPath(ctx.prior!.inputs.path);
            const path = normPath(ctx.inputs.path);
            const mounts = vaultMounts(ctx.emulator);
            const m = mounts.get(priorPath);
            if (!m) throw noRoute("error reading mount", "GET", `sys/mounts/${priorPath}`);
            if (path !== priorPath) {
                // remount (the provider moves the mount in place)
                check(ctx, path, priorPath);
                mounts.delete(priorPath);
                m.path = path;
                mounts.set(path, m);
            }
            m.defaultLeaseTtlSeconds = Number(ctx.inputs.defaultLeaseTtlSeconds ?? 0);
            m.maxLeaseTtlSeconds = Number(ctx.inputs.maxLeaseTtlSeconds ?? 0);
            return { id: path, state: state(ctx, m) };
        },
    };
}

export function intermediateCertRequestEmulation(): Emulation {
    return {
        async create(ctx) {
            requireInput(ctx, "backend", "backend");
            requireInput(ctx, "commonName", "common_name");
            requireInput(ctx, "type", "type");
            const type = ctx.inputs.type;
            if (!["exported", "internal", "existing", "kms"].includes(type)) {
                throw new Error(`expected type to be one of ["exported" "internal" "kms" "existing"], got ${type}`);
            }
            if (ctx.preview) return { state: { ...ctx.rawInputs } };
            const backend = normPath(ctx.inputs.backend);
            const prefix = `error creating intermediate cert request for PKI secret backend ${q(backend)}`;
            const route = `${backend}/intermediate/generate/${type}`;
            const mount = mountOf(ctx.emulator, backend);
            if (!mount) throw noRoute(prefix, "PUT", route);
            if (type === "existing" || type === "kms") throw new Error(`vault emulator: intermediate type ${q(type)} is not emulated`);
            const keyType = ctx.inputs.keyType ?? "rsa";
            if (!["rsa", "ec", "ed25519"].includes(keyType)) throw apiError(prefix, "PUT", route, 400, [`unknown key_type value ${q(keyType)}`]);
            const keyBits = defaultBits(keyType, ctx.inputs.keyBits);
            const bad = keyTypeLengthProblem(keyType, keyBits);
            if (bad) throw apiError(prefix, "PUT", route, 400, [bad]);
            const key = generateVaultKey(keyType, keyBits);
            const cn = String(ctx.inputs.commonName);
            const subject: GoName = { commonName: cn };
            const one = (v: unknown) => (typeof v === "string" && v !== "" ? [v] : undefined);
            subject.organization = one(ctx.inputs.organization);
            subject.organizationalUnit = one(ctx.inputs.ou);
            subject.country = one(ctx.inputs.country);
            subject.locality = one(ctx.inputs.locality);
            subject.province = one(ctx.inputs.province);
            const dnsNames: string[] = [];
            if (!ctx.inputs.excludeCnFromSans && !cn.includes("@")) {
                const a = toAscii(cn);
                if (a !== undefined && WILD_HOSTNAME_RE.test(a)) dnsNames.push(a);
            }
            for (const n of list(ctx.inputs.altNames)) dnsNames.push(n);
            const ipAddresses = list(ctx.inputs.ipSans).map((s) => {
                const ip = parseIp(s);
                if (!ip) throw apiError(prefix, "PUT", route, 400, [`the value ${q(s)} is not a valid IP address`]);
                return ip;
            });
            const sans: Sans = { dnsNames: [...new Set(dnsNames)].sort(), emailAddresses: [], ipAddresses, uris: list(ctx.inputs.uriSans) };
            const der = await createCertificateRequest(subject, sans, key);
            const keyId = uuid();
            mount.keys.set(keyId, { id: keyId, name: ctx.inputs.keyName ?? "", key, spki: spkiDer(key.publicKey) });
            const exported = type === "exported";
            return {
                id: `${backend}/intermediate/${cn}`,
                state: {
                    ...ctx.rawInputs,
                    keyType,
                    keyBits,
                    format: ctx.inputs.format ?? "pem",
                    privateKeyFormat: ctx.inputs.privateKeyFormat ?? "der",
                    csr: pemEncode("CERTIFICATE REQUEST", der).trim(),
                    privateKey: exported ? keyPem(key) : "",
                    privateKeyType: exported ? keyType : "",
                    keyId,
                    keyName: ctx.inputs.keyName ?? "",
                },
            };
        },
    };
}

export function setSignedEmulation(): Emulation {
    return {
        create(ctx) {
            requireInput(ctx, "backend", "backend");
            requireInput(ctx, "certificate", "certificate");
            if (ctx.preview) return { state: { ...ctx.rawInputs } };
            const backend = normPath(ctx.inputs.backend);
            const prefix = `error writing intermediate signed certificate to PKI secret backend ${q(backend)}`;
            const route = `${backend}/intermediate/set-signed`;
            const mount = mountOf(ctx.emulator, backend);
            if (!mount) throw noRoute(prefix, "PUT", route);
            const pems = splitPems(ctx.inputs.certificate);
            if (pems.length === 0) throw apiError(prefix, "PUT", route, 400, ["no data found in PEM block"]);
            const imported: string[] = [];
            const parsed = pems.map((pem) => {
                const der = pemDecodeFirst(pem)!.der;
                const cert = new crypto.X509Certificate(der);
                return { pem: pem.trim(), der, cert, spki: spkiDer(cert.publicKey) };
            });
            // Vault imports keyless issuers too (issuing then fails with "unable to fetch corresponding key")
            const matchesKey = parsed.some((p) => [...mount.keys.values()].some((k) => k.spki.equals(p.spki)));
            if (!matchesKey) {
                ctx.emulator.warnings.push({
                    urn: ctx.urn,
                    summary: "Vault emulator",
                    detail: "none of the imported certificates matches a key of this mount: they cannot issue",
                });
            }
            for (const p of parsed) {
                if ([...mount.issuers.values()].some((i) => i.der.equals(p.der))) continue;
                const id = uuid();
                const key = [...mount.keys.values()].find((k) => k.spki.equals(p.spki));
                const info = parseCertificatePem(p.pem);
                mount.issuers.set(id, {
                    id,
                    certPem: p.pem,
                    der: p.der,
                    cert: p.cert,
                    subjectDer: info.subjectDer,
                    spki: p.spki,
                    skid: info.subjectKeyId,
                    keyId: key?.id,
                });
                imported.push(id);
            }
            // importIssuer: with no default issuer set, the first imported issuer becomes the default (key or not)
            if (!mount.defaultIssuer && imported.length > 0) mount.defaultIssuer = imported[0];
            return { id: `${backend}/intermediate/set-signed`, state: { ...ctx.rawInputs, importedIssuers: imported, importedKeys: [] } };
        },
    };
}

export function configIssuersEmulation(): Emulation {
    const apply = (ctx: HandlerContext): HandlerResult => {
        requireInput(ctx, "backend", "backend");
        const state = { ...ctx.rawInputs, defaultFollowsLatestIssuer: ctx.inputs.defaultFollowsLatestIssuer ?? false };
        if (ctx.preview) return { state };
        const backend = normPath(ctx.inputs.backend);
        const prefix = `error writing issuer config to PKI secret backend ${q(backend)}`;
        const mount = mountOf(ctx.emulator, backend);
        if (!mount) throw noRoute(prefix, "PUT", `${backend}/config/issuers`);
        const ref = ctx.inputs.default;
        if (ref !== undefined && ref !== "") {
            if (!mount.issuers.has(ref)) {
                throw apiError(prefix, "PUT", `${backend}/config/issuers`, 400, [
                    `Error resolving issuer reference: unable to find PKI issuer for reference: ${ref}`,
                ]);
            }
            mount.defaultIssuer = ref;
        }
        return { id: `${backend}/config/issuers`, state };
    };
    return { updatableInputs: ["default", "defaultFollowsLatestIssuer"], create: apply, update: apply };
}

export function configUrlsEmulation(): Emulation {
    const apply = (ctx: HandlerContext): HandlerResult => {
        requireInput(ctx, "backend", "backend");
        if (ctx.preview) return { state: { ...ctx.rawInputs } };
        const backend = normPath(ctx.inputs.backend);
        const mount = mountOf(ctx.emulator, backend);
        if (!mount) throw noRoute(`error writing URL config to PKI secret backend ${q(backend)}`, "PUT", `${backend}/config/urls`);
        mount.urls = {
            issuingCertificates: list(ctx.inputs.issuingCertificates),
            crlDistributionPoints: list(ctx.inputs.crlDistributionPoints),
            ocspServers: list(ctx.inputs.ocspServers),
        };
        return { id: `${backend}/config/urls`, state: { ...ctx.rawInputs } };
    };
    return { updatableInputs: ["issuingCertificates", "crlDistributionPoints", "ocspServers", "enableTemplating"], create: apply, update: apply };
}
