// Emulated Vault PKI secrets engine behind @pulumi/vault (7.8.0, bridging hashicorp/terraform-provider-vault), for
// Pulumi unit tests on top of the tls emulator (register(type, emulation)). Crypto is real: keys, CSRs and
// certificates are generated and signed, so certificates can be checked with openssl.
//
// What is reproduced (Vault builtin/logical/pki, sdk/helper/certutil, and the provider resources):
//  - vault:index/mount:Mount: one emulated PKI engine per path; equal or nested paths are refused
//    ("path is already in use at ..."); lease TTLs default to Vault's system 768h.
//  - SecretBackendIntermediateCertRequest: a real key (rsa 2048 / ec 256 by default) and CSR; the CN is a DNS SAN
//    of the CSR unless excludeCnFromSans; privateKey only for type "exported" ("" for internal). The key stays in
//    the mount.
//  - SecretBackendIntermediateSetSigned: imports every certificate of the bundle as an issuer (in bundle order,
//    skipping known ones), links issuers to mount keys by public key (keyless issuers are imported too),
//    and makes the first imported issuer the default when none is set. Outputs importedIssuers / importedKeys.
//  - SecretBackendConfigIssuers (`default`), SecretBackendConfigUrls (AIA / CRL DP written into issued certs).
//  - SecretBackendRole: the provider's defaults (server/client flags true, enforce_hostnames true, key rsa/2048,
//    key_usage DigitalSignature+KeyAgreement+KeyEncipherment, not_before_duration 30s...), Vault's role checks
//    (key type/bits, ttl ≤ max_ttl), auto-naming (`<resource name>-<random>`) when `name` is unset.
//  - SecretBackendCert (pki/issue/<role>): GenerateCreationBundle — CN and SAN validation (ValidateCommonName /
//    ValidateNames: allowed_domains with bare / subdomain / glob matching, allow_localhost, allow_any_name,
//    enforce_hostnames, cn_validations), IP / URI SAN rules, O/OU from the role, key usages and EKU flags from the
//    role, TTL resolution (ttl → role ttl → mount default; capped at role max_ttl → mount max with a Vault
//    *warning*, not an error), refusal past the issuer's NotAfter (leaf_not_after_behavior "err") and of
//    now − not_before_duration before the issuer's NotBefore; the certificate is backdated 30 s (or
//    not_before_duration when > 0) from the clock read after key generation (NotAfter is read before it), carries SKID/AKID, AIA and CRL DP, no basicConstraints, DNS SANs sorted and
//    deduplicated (strutil.RemoveDuplicates). Outputs certificate, issuingCa, caChain ("\n"-joined), privateKey,
//    privateKeyType, serialNumber (colon hex), expiration (unix), renewPending. `pulumi refresh` (emulator.refresh())
//    sets renewPending inside min_seconds_remaining; with autoRenew the next run replaces the cert.
//  - Errors are worded like the provider reports Vault API errors ("Error making API request ... Code: 400 ...").
//
// Not emulated: namespaces, managed keys / kms / existing key types, ACME/EST, CRL content, revocation, multiple
// Vault servers (state is per emulator, keyed by mount path, whatever the provider).

import "./reflect-shim";
import * as x509 from "@peculiar/x509";
import * as crypto from "node:crypto";
import * as net from "node:net";
import { HandlerContext, HandlerResult, StoredResource, TlsEmulator, Emulation } from "./tls-emulator";
import {
    createCertificateRequest,
    generateKey,
    GoName,
    marshalGoName,
    marshalSans,
    ParsedKey,
    parseCertificatePem,
    parseIp,
    pemDecodeFirst,
    pemEncode,
    Sans,
    spkiDer,
    subjectKeyId,
} from "./tls-crypto";

export const VAULT_TYPES = {
    Mount: "vault:index/mount:Mount",
    IntermediateCertRequest: "vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest",
    IntermediateSetSigned: "vault:pkiSecret/secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned",
    ConfigIssuers: "vault:pkiSecret/secretBackendConfigIssuers:SecretBackendConfigIssuers",
    ConfigUrls: "vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls",
    Role: "vault:pkiSecret/secretBackendRole:SecretBackendRole",
    Cert: "vault:pkiSecret/secretBackendCert:SecretBackendCert",
} as const;

/** The address errors are reported against (the emulator has no server). */
export const EMULATED_VAULT_ADDR = "https://vault.emulated:8200";

// ------------------------------------------------------------------------------------------ emulated state

export interface EmulatedKey {
    id: string;
    name: string;
    key: ParsedKey;
    /** SPKI DER of the public key */
    spki: Buffer;
}

export interface EmulatedIssuer {
    id: string;
    certPem: string;
    der: Buffer;
    cert: crypto.X509Certificate;
    subjectDer: Buffer;
    spki: Buffer;
    skid?: Buffer;
    keyId?: string;
}

export interface EmulatedRole {
    name: string;
    allowedDomains: string[];
    allowBareDomains: boolean;
    allowSubdomains: boolean;
    allowGlobDomains: boolean;
    allowAnyName: boolean;
    allowLocalhost: boolean;
    allowWildcardCertificates: boolean;
    enforceHostnames: boolean;
    allowIpSans: boolean;
    allowedUriSans: string[];
    serverFlag: boolean;
    clientFlag: boolean;
    codeSigningFlag: boolean;
    emailProtectionFlag: boolean;
    basicConstraintsValidForNonCa: boolean;
    keyType: string;
    keyBits: number;
    keyUsages: string[];
    extKeyUsages: string[];
    extKeyUsageOids: string[];
    organizations: string[];
    organizationUnit: string[];
    cnValidations: string[];
    requireCn: boolean;
    noStore: boolean;
    /** seconds; 0 = unset */
    ttl: number;
    maxTtl: number;
    notBeforeDuration: number;
    issuerRef: string;
}

export interface IssuedCertificate {
    serial: string;
    role: string;
    commonName: string;
    certPem: string;
}

export interface EmulatedMount {
    path: string;
    type: string;
    accessor: string;
    /** seconds; 0 = the system default (768h) */
    defaultLeaseTtlSeconds: number;
    maxLeaseTtlSeconds: number;
    keys: Map<string, EmulatedKey>;
    /** in import order */
    issuers: Map<string, EmulatedIssuer>;
    defaultIssuer?: string;
    roles: Map<string, EmulatedRole>;
    urls: { issuingCertificates: string[]; crlDistributionPoints: string[]; ocspServers: string[] };
    /** issued certificates by serial (unless the role has no_store) */
    certs: Map<string, IssuedCertificate>;
}

/** Vault's system default / max lease TTL (32 days). */
export const SYSTEM_LEASE_TTL_SECONDS = 768 * 3600;

export type VaultEmulator = TlsEmulator & { readonly vaultMounts: Map<string, EmulatedMount> };

/** The emulated Vault mounts of an emulator (after registerVault), keyed by mount path. */
export function vaultMounts(emulator: TlsEmulator): Map<string, EmulatedMount> {
    const m = (emulator as unknown as { vaultMounts?: Map<string, EmulatedMount> }).vaultMounts;
    if (!m) throw new Error("vault emulator: call registerVault(emulator) first");
    return m;
}

// ------------------------------------------------------------------------------------------ helpers

const q = (s: unknown) => JSON.stringify(s);
const normPath = (p: string) => String(p ?? "").replace(/^\/+|\/+$/g, "");

function apiError(prefix: string, method: string, path: string, code: number, errors: string[]): Error {
    return new Error(
        `${prefix}: Error making API request.\n\nURL: ${method} ${EMULATED_VAULT_ADDR}/v1/${path}\nCode: ${code}. Errors:\n\n` +
            errors.map((e) => `* ${e}`).join("\n"),
    );
}

function noRoute(prefix: string, method: string, path: string): Error {
    return apiError(prefix, method, path, 404, [`no handler for route ${q(path)}. route entry not found.`]);
}

function requireInput(ctx: HandlerContext, attr: string, tf: string): void {
    if (ctx.unknownInputs.has(attr)) return; // computed in a preview
    if (ctx.inputs[attr] === undefined || ctx.inputs[attr] === null || ctx.inputs[attr] === "") {
        throw new Error(
            `${ctx.type} resource '${ctx.name}' has a problem: Missing required argument: The argument "${tf}" is required, but no definition was found.. Examine values at '${ctx.name}.${attr}'.`,
        );
    }
}

const uuid = () => crypto.randomUUID();

/** Vault durations: an integer is seconds, else Go-style units (s, m, h, d). */
export function parseVaultDuration(v: unknown): number {
    if (v === undefined || v === null || v === "") return 0;
    if (typeof v === "number") return Math.floor(v);
    const s = String(v).trim();
    if (/^\d+$/.test(s)) return Number(s);
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
        total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
        consumed += m[0].length;
    }
    if (consumed !== s.length) throw new Error(`time: invalid duration ${q(s)}`);
    return Math.floor(total);
}

/** Go's time.Duration.String() for whole seconds (e.g. "8760h0m0s", "30s"). */
export function goDuration(secondsTotal: number): string {
    if (secondsTotal === 0) return "0s";
    const h = Math.floor(secondsTotal / 3600);
    const m = Math.floor((secondsTotal % 3600) / 60);
    const s = secondsTotal % 60;
    if (h > 0) return `${h}h${m}m${s}s`;
    if (m > 0) return `${m}m${s}s`;
    return `${s}s`;
}

/** Go time.RFC3339Nano in UTC (fraction trimmed). */
function rfc3339Nano(d: Date): string {
    return d.toISOString().replace(/\.(\d*?)0*Z$/, (_m, f: string) => (f ? `.${f}Z` : "Z"));
}

/** github.com/ryanuber/go-glob */
export function glob(pattern: string, subj: string): boolean {
    if (pattern === "") return subj === pattern;
    if (pattern === "*") return true;
    const parts = pattern.split("*");
    if (parts.length === 1) return subj === pattern;
    const leadingGlob = pattern.startsWith("*");
    const trailingGlob = pattern.endsWith("*");
    const end = parts.length - 1;
    for (let i = 0; i < end; i++) {
        const idx = subj.indexOf(parts[i]);
        if (i === 0 && !leadingGlob && idx !== 0) return false;
        if (idx < 0) return false;
        subj = subj.slice(idx + parts[i].length);
    }
    return trailingGlob || subj.endsWith(parts[end]);
}

// issue_common.go: labelPattern, leftWildLabelPattern, hostnamePattern, wildHostnameRegex
const LABEL = `([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]*[a-zA-Z0-9])`;
const LEFT_WILD = `(\\*|\\*${LABEL}|${LABEL}\\*|${LABEL}\\*${LABEL})`;
const HOSTNAME = `(${LABEL}\\.)*${LABEL}\\.?$`;
const WILD_HOSTNAME_RE = new RegExp(`^(${LEFT_WILD}\\.)?${HOSTNAME}`);

/** idna ToASCII (StrictDomainName, VerifyDNSLength), ASCII subset: lowercases; rejects what is not LDH. */
function toAscii(name: string): string | undefined {
    if (/[^\x00-\x7f]/.test(name)) return undefined; // the emulator does not do punycode
    const labels = name.replace(/\.$/, "").split(".");
    if (labels.some((l) => l.length === 0 || l.length > 63) || name.length > 253) return undefined;
    if (/[^A-Za-z0-9.\-*]/.test(name)) return undefined;
    return name.toLowerCase();
}

/** ValidateNames: the first name the role does not allow, or "". */
export function validateNames(role: EmulatedRole, names: string[]): string {
    for (const name of names) {
        let reducedName = name;
        let emailDomain = reducedName;
        let wildcardLabel = "";
        let isEmail = false;
        let isWildcard = false;
        if (reducedName.includes("@")) {
            const split = reducedName.split("@");
            if (split.length !== 2) return name;
            reducedName = split[1];
            emailDomain = split[1];
            isEmail = true;
        }
        if (reducedName.includes("*")) {
            isWildcard = true;
            if (!role.allowWildcardCertificates) return name;
            if ((reducedName.match(/\*/g) ?? []).length > 1) return name;
            const split = reducedName.split(/\.(.*)/s);
            if (split.length < 2) {
                wildcardLabel = split[0];
                reducedName = "";
            } else {
                wildcardLabel = split[0];
                reducedName = split[1];
                if (reducedName.includes("*")) return name;
            }
        }
        if (isEmail && isWildcard) return name;
        if (role.enforceHostnames && reducedName !== "") {
            let converted = toAscii(reducedName);
            if (converted === undefined) return name;
            if (isWildcard) converted = `${wildcardLabel}.${converted}`;
            if (!WILD_HOSTNAME_RE.test(converted)) return name;
        }
        if (role.allowAnyName) continue;
        if (role.allowLocalhost) {
            if (["localhost", "localdomain"].includes(reducedName) || (isEmail && ["localhost", "localdomain"].includes(emailDomain))) continue;
            if (role.allowSubdomains) {
                if (reducedName.endsWith(".localhost") || (isWildcard && reducedName === "localhost")) continue;
                if (reducedName.endsWith(".localdomain") || (isWildcard && reducedName === "localdomain")) continue;
            }
        }
        if (role.allowedDomains.length > 0) {
            let valid = false;
            for (const currDomain of role.allowedDomains) {
                if (currDomain === "") continue;
                if (role.allowBareDomains && (name.toLowerCase() === currDomain.toLowerCase() || (isEmail && emailDomain.toLowerCase() === currDomain.toLowerCase()))) {
                    valid = true;
                    break;
                }
                if (role.allowSubdomains && (reducedName.endsWith("." + currDomain) || (isWildcard && reducedName.toLowerCase() === currDomain.toLowerCase()))) {
                    valid = true;
                    break;
                }
                if (role.allowGlobDomains && currDomain.includes("*") && glob(currDomain.toLowerCase(), name.toLowerCase())) {
                    valid = true;
                    break;
                }
            }
            if (valid) continue;
        }
        return name;
    }
    return "";
}

/** ValidateCommonName */
export function validateCommonName(role: EmulatedRole, name: string): string {
    if (role.cnValidations.length === 1 && role.cnValidations[0] === "disabled") return "";
    if (validateNames(role, [name]) !== "") return name;
    if (role.cnValidations.length === 0) return "";
    if (name.includes("@")) return role.cnValidations.includes("email") ? "" : name;
    return role.cnValidations.includes("hostname") ? "" : name;
}

const KU_BITS: Record<string, number> = {
    digitalsignature: 1 << 0,
    contentcommitment: 1 << 1,
    keyencipherment: 1 << 2,
    dataencipherment: 1 << 3,
    keyagreement: 1 << 4,
    certsign: 1 << 5,
    crlsign: 1 << 6,
    encipheronly: 1 << 7,
    decipheronly: 1 << 8,
};

/** certutil ext key usage order (AddKeyUsages) */
const EKU_ORDER: [string, string][] = [
    ["any", "2.5.29.37.0"],
    ["serverauth", "1.3.6.1.5.5.7.3.1"],
    ["clientauth", "1.3.6.1.5.5.7.3.2"],
    ["codesigning", "1.3.6.1.5.5.7.3.3"],
    ["emailprotection", "1.3.6.1.5.5.7.3.4"],
    ["ipsecendsystem", "1.3.6.1.5.5.7.3.5"],
    ["ipsectunnel", "1.3.6.1.5.5.7.3.6"],
    ["ipsecuser", "1.3.6.1.5.5.7.3.7"],
    ["timestamping", "1.3.6.1.5.5.7.3.8"],
    ["ocspsigning", "1.3.6.1.5.5.7.3.9"],
    ["microsoftservergatedcrypto", "1.3.6.1.4.1.311.10.3.3"],
    ["netscapeservergatedcrypto", "2.16.840.1.113730.4.1"],
    ["microsoftcommercialcodesigning", "1.3.6.1.4.1.311.2.1.22"],
    ["microsoftkernelcodesigning", "1.3.6.1.4.1.311.61.1.1"],
];

function roleEkus(role: EmulatedRole): string[] {
    const set = new Set(role.extKeyUsages.map((k) => k.trim().toLowerCase()));
    if (role.serverFlag) set.add("serverauth");
    if (role.clientFlag) set.add("clientauth");
    if (role.codeSigningFlag) set.add("codesigning");
    if (role.emailProtectionFlag) set.add("emailprotection");
    return [...EKU_ORDER.filter(([n]) => set.has(n)).map(([, oid]) => oid), ...role.extKeyUsageOids];
}

function webAlg(k: ParsedKey): { importAlg: Record<string, unknown>; signAlg: Record<string, unknown> } {
    if (k.algorithm === "RSA") {
        const a = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        return { importAlg: a, signAlg: a };
    }
    if (k.algorithm === "ECDSA") {
        // selectSignatureAlgorithmForECDSA: the hash follows the signer's curve
        const hash = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" }[k.curve!] ?? "SHA-256";
        return { importAlg: { name: "ECDSA", namedCurve: k.curve }, signAlg: { name: "ECDSA", hash } };
    }
    return { importAlg: { name: "Ed25519" }, signAlg: { name: "Ed25519" } };
}

/** Vault GenerateSerialNumber: a random positive integer below 2^159, DER-minimal; colon hex like Vault prints it. */
function vaultSerial(): { hex: string; colon: string } {
    const b = crypto.randomBytes(20);
    b[0] &= 0x7f;
    let hex = b.toString("hex").replace(/^(00)+/, "");
    if (hex.length % 2) hex = "0" + hex;
    if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = "00" + hex;
    return { hex, colon: (hex.replace(/^00(?=[89a-f])/, "").match(/../g) ?? []).join(":") };
}

function keyPem(k: ParsedKey): string {
    const type = k.algorithm === "RSA" ? "pkcs1" : k.algorithm === "ECDSA" ? "sec1" : "pkcs8";
    return (k.privateKey.export({ type, format: "pem" }) as string).trim();
}

function generateVaultKey(keyType: string, keyBits: number): ParsedKey {
    switch (keyType) {
        case "rsa":
            return generateKey("RSA", keyBits || 2048, "P256");
        case "ec":
            return generateKey("ECDSA", 0, ({ 224: "P224", 256: "P256", 384: "P384", 521: "P521" } as const)[keyBits || 256] ?? "P256");
        case "ed25519":
            return generateKey("ED25519", 0, "P256");
        default:
            throw new Error(`unsupported key type ${keyType}`);
    }
}

/** certutil.ValidateKeyTypeLength (after defaulting 0 bits) */
function keyTypeLengthProblem(keyType: string, keyBits: number): string | undefined {
    switch (keyType) {
        case "rsa":
            return [2048, 3072, 4096, 8192].includes(keyBits) ? undefined : `unsupported bit length for RSA key: ${keyBits}`;
        case "ec":
            return [224, 256, 384, 521].includes(keyBits) ? undefined : `unsupported bit length for EC key: ${keyBits}`;
        case "ed25519":
        case "any":
            return undefined;
        default:
            return `unknown key type ${keyType}`;
    }
}

function defaultBits(keyType: string, keyBits: number | undefined): number {
    if (keyBits) return keyBits;
    return keyType === "rsa" ? 2048 : keyType === "ec" ? 256 : 0;
}

function splitPems(bundle: string): string[] {
    return [...String(bundle ?? "").matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0]);
}

function goIpList(ips: string[]): string {
    return `[${ips.join(" ")}]`;
}

const bool = (v: unknown, dflt: boolean) => (typeof v === "boolean" ? v : dflt);
const list = (v: unknown, dflt: string[] = []) => (Array.isArray(v) ? (v as string[]).filter((x) => typeof x === "string") : dflt);

// ------------------------------------------------------------------------------------------ emulations

function mountOf(emulator: TlsEmulator, backend: unknown): EmulatedMount | undefined {
    return vaultMounts(emulator).get(normPath(String(backend ?? "")));
}

function mountEmulation(): Emulation {
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

function intermediateCertRequestEmulation(): Emulation {
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

function setSignedEmulation(): Emulation {
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

function configIssuersEmulation(): Emulation {
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

function configUrlsEmulation(): Emulation {
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

const ROLE_UPDATABLE = [
    "allowAnyName", "allowBareDomains", "allowGlobDomains", "allowIpSans", "allowLocalhost", "allowSubdomains",
    "allowWildcardCertificates", "allowedDomains", "allowedDomainsTemplate", "allowedOtherSans", "allowedSerialNumbers",
    "allowedUriSans", "allowedUriSansTemplate", "allowedUserIds", "basicConstraintsValidForNonCa", "clientFlag",
    "cnValidations", "codeSigningFlag", "countries", "emailProtectionFlag", "enforceHostnames", "extKeyUsageOids",
    "extKeyUsages", "generateLease", "issuerRef", "keyBits", "keyType", "keyUsages", "localities", "maxTtl", "noStore",
    "noStoreMetadata", "notAfter", "notBeforeDuration", "organizationUnit", "organizations", "policyIdentifiers",
    "postalCodes", "provinces", "requireCn", "serverFlag", "signatureBits", "streetAddresses", "ttl", "useCsrCommonName",
    "useCsrSans", "usePss",
];

function roleEmulation(): Emulation {
    const apply = (ctx: HandlerContext): HandlerResult => {
        requireInput(ctx, "backend", "backend");
        const i = ctx.inputs;
        // the bridge auto-names a role without `name` (DESIGN §4: always set it)
        const name: string = i.name ?? ctx.prior?.outputs.name ?? `${ctx.name}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
        const keyType = i.keyType ?? "rsa";
        if (!["rsa", "ec", "ed25519", "any"].includes(keyType)) {
            throw new Error(`expected key_type to be one of ["rsa" "ec" "ed25519" "any"], got ${keyType}`);
        }
        const keyBits = i.keyBits ?? 2048;
        const state: Record<string, any> = {
            ...ctx.rawInputs,
            name,
            keyType,
            keyBits,
            keyUsages: i.keyUsages ?? ["DigitalSignature", "KeyAgreement", "KeyEncipherment"],
            cnValidations: i.cnValidations ?? ["email", "hostname"],
            issuerRef: i.issuerRef ?? "default",
            notBeforeDuration: i.notBeforeDuration ?? "30s",
            allowLocalhost: i.allowLocalhost ?? true,
            enforceHostnames: i.enforceHostnames ?? true,
            allowIpSans: i.allowIpSans ?? true,
            serverFlag: i.serverFlag ?? true,
            clientFlag: i.clientFlag ?? true,
            requireCn: i.requireCn ?? true,
        };
        if (ctx.preview) return { state };
        const backend = normPath(i.backend);
        const prefix = `error creating role ${name} for backend ${q(backend)}`;
        const route = `${backend}/roles/${name}`;
        const mount = mountOf(ctx.emulator, backend);
        if (!mount) throw noRoute(prefix, "PUT", route);
        if (!/^\w(([\w.-]+)?\w)?$/.test(name)) throw noRoute(prefix, "PUT", route);
        const bits = defaultBits(keyType, keyBits);
        const bad = keyTypeLengthProblem(keyType, bits);
        if (bad) throw apiError(prefix, "PUT", route, 400, [bad]);
        let ttl: number, maxTtl: number, nbd: number;
        try {
            ttl = parseVaultDuration(i.ttl);
            maxTtl = parseVaultDuration(i.maxTtl);
            nbd = parseVaultDuration(state.notBeforeDuration);
        } catch (e) {
            throw apiError(prefix, "PUT", route, 400, [(e as Error).message]);
        }
        if (maxTtl > 0 && ttl > maxTtl) throw apiError(prefix, "PUT", route, 400, [`"ttl" value must be less than "max_ttl" value`]);
        const role: EmulatedRole = {
            name,
            allowedDomains: list(i.allowedDomains),
            allowBareDomains: bool(i.allowBareDomains, false),
            allowSubdomains: bool(i.allowSubdomains, false),
            allowGlobDomains: bool(i.allowGlobDomains, false),
            allowAnyName: bool(i.allowAnyName, false),
            allowLocalhost: state.allowLocalhost,
            allowWildcardCertificates: bool(i.allowWildcardCertificates, true),
            enforceHostnames: state.enforceHostnames,
            allowIpSans: state.allowIpSans,
            allowedUriSans: list(i.allowedUriSans),
            serverFlag: state.serverFlag,
            clientFlag: state.clientFlag,
            codeSigningFlag: bool(i.codeSigningFlag, false),
            emailProtectionFlag: bool(i.emailProtectionFlag, false),
            basicConstraintsValidForNonCa: bool(i.basicConstraintsValidForNonCa, false),
            keyType,
            keyBits: bits,
            keyUsages: list(state.keyUsages),
            extKeyUsages: list(i.extKeyUsages),
            extKeyUsageOids: list(i.extKeyUsageOids),
            organizations: list(i.organizations),
            organizationUnit: list(i.organizationUnit),
            cnValidations: list(state.cnValidations),
            requireCn: state.requireCn,
            noStore: bool(i.noStore, false),
            ttl,
            maxTtl,
            notBeforeDuration: nbd,
            issuerRef: state.issuerRef,
        };
        if (ctx.prior && ctx.prior.outputs.name !== name) mount.roles.delete(ctx.prior.outputs.name);
        mount.roles.set(name, role);
        // Vault reads ttl / max_ttl back as seconds
        state.ttl = String(ttl);
        state.maxTtl = String(maxTtl);
        return { id: route, state };
    };
    return { updatableInputs: ROLE_UPDATABLE, create: apply, update: apply };
}

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
