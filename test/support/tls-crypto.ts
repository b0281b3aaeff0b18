// Crypto core of the @pulumi/tls emulator: what terraform-provider-tls does with Go's crypto/x509, redone with
// node:crypto keys and @peculiar/x509 certificate/CSR assembly, keeping Go's encoding choices where they are
// visible in the DER (subject string types and RDN order, extension order and criticality, SAN layout,
// key identifiers, signature algorithm per key).
//
// References (hashicorp/terraform-provider-tls, internal/provider/):
//   common_cert.go     createCertificate, keyUsages / extendedKeyUsages, generateSubjectKeyID,
//                      createSubjectDistinguishedNames, modifyPlanIfCertificateReadyForRenewal
//   common_key.go      keyGenerators, keyParsers / parsePrivateKeyPEM, setPublicKeyAttributes
//   resource_private_key.go, resource_self_signed_cert.go, resource_cert_request.go,
//   resource_locally_signed_cert.go
// and Go's crypto/x509 (CreateCertificate, buildCertExtensions, marshalSANs, signingParamsForKey,
// CreateCertificateRequest, pkix.Name.ToRDNSequence / FillFromRDNSequence).

import "./reflect-shim";
import * as x509 from "@peculiar/x509";
import * as crypto from "node:crypto";
import * as net from "node:net";
import { children, decode, decodeOid, decodeString, goString, oid, seq, setOf, TAG, tlv, Tlv } from "./der";

export type KeyAlgorithm = "RSA" | "ECDSA" | "ED25519";
export type EcdsaCurve = "P224" | "P256" | "P384" | "P521";

/** An error as the provider would report it: a diagnostic summary plus detail. */
export class ProviderError extends Error {
    constructor(
        readonly summary: string,
        readonly detail: string,
    ) {
        super(detail ? `${summary}: ${detail}` : summary);
        this.name = "ProviderError";
    }
}

// ------------------------------------------------------------------------------------------ key usages

/** common_cert.go `keyUsages`: name -> Go x509.KeyUsage bit. */
export const KEY_USAGES: Record<string, number> = {
    digital_signature: 1 << 0,
    content_commitment: 1 << 1,
    key_encipherment: 1 << 2,
    data_encipherment: 1 << 3,
    key_agreement: 1 << 4,
    cert_signing: 1 << 5,
    crl_signing: 1 << 6,
    encipher_only: 1 << 7,
    decipher_only: 1 << 8,
};

/** common_cert.go `extendedKeyUsages`: name -> OID (Go's extKeyUsageOIDs). */
export const EXT_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

/** supportedKeyUsagesStr(): sorted list, used in the validator message. */
export const SUPPORTED_USAGES = [...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].sort();

// ------------------------------------------------------------------------------------------ PEM

export function pemEncode(type: string, der: Buffer): string {
    const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
    return `-----BEGIN ${type}-----\n${b64}\n-----END ${type}-----\n`;
}

/** Like Go's pem.Decode: the first PEM block in the text (leading garbage skipped), or undefined. */
export function pemDecodeFirst(text: string): { type: string; der: Buffer } | undefined {
    const m = /-----BEGIN ([^-\n]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
    if (!m) return undefined;
    const body = m[2]
        .split(/\r?\n/)
        .filter((l) => l.trim() !== "" && !l.includes(":")) // drop RFC 1421 headers
        .join("");
    return { type: m[1], der: Buffer.from(body, "base64") };
}

// ------------------------------------------------------------------------------------------ keys

export interface ParsedKey {
    privateKey: crypto.KeyObject;
    publicKey: crypto.KeyObject;
    algorithm: KeyAlgorithm;
    /** node curve name for ECDSA keys ("P-256" ...) */
    curve?: string;
}

const CURVES: Record<EcdsaCurve, string> = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" };
const CURVE_ALIASES: Record<string, string> = {
    "P-224": "P-224",
    secp224r1: "P-224",
    "P-256": "P-256",
    prime256v1: "P-256",
    secp256r1: "P-256",
    "P-384": "P-384",
    secp384r1: "P-384",
    "P-521": "P-521",
    secp521r1: "P-521",
};

function describeKey(privateKey: crypto.KeyObject): ParsedKey {
    const publicKey = crypto.createPublicKey(privateKey);
    switch (privateKey.asymmetricKeyType) {
        case "rsa":
            return { privateKey, publicKey, algorithm: "RSA" };
        case "ec": {
            const curve = CURVE_ALIASES[privateKey.asymmetricKeyDetails?.namedCurve ?? ""];
            if (!curve) throw new Error(`unsupported elliptic curve ${privateKey.asymmetricKeyDetails?.namedCurve}`);
            return { privateKey, publicKey, algorithm: "ECDSA", curve };
        }
        case "ed25519":
            return { privateKey, publicKey, algorithm: "ED25519" };
        default:
            throw new Error(`unsupported private key type: ${privateKey.asymmetricKeyType}`);
    }
}

/** common_key.go keyGenerators (Go 1.24+ rsa.GenerateKey refuses < 1024 bits). */
export function generateKey(algorithm: KeyAlgorithm, rsaBits: number, ecdsaCurve: EcdsaCurve): ParsedKey {
    switch (algorithm) {
        case "RSA":
            if (rsaBits < 1024) {
                throw new ProviderError(
                    "Unable to generate Key from configuration",
                    `crypto/rsa: ${rsaBits}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)`,
                );
            }
            return describeKey(crypto.generateKeyPairSync("rsa", { modulusLength: rsaBits, publicExponent: 65537 }).privateKey);
        case "ECDSA":
            return describeKey(crypto.generateKeyPairSync("ec", { namedCurve: CURVES[ecdsaCurve] }).privateKey);
        case "ED25519":
            return describeKey(crypto.generateKeyPairSync("ed25519").privateKey);
    }
}

/** common_key.go parsePrivateKeyPEM: PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY". */
export function parsePrivateKeyPem(text: string): ParsedKey {
    const block = pemDecodeFirst(text);
    if (!block) {
        throw new Error(`failed to decode PEM block: decoded bytes 0, undecoded ${Buffer.byteLength(text)}`);
    }
    const formats: Record<string, "pkcs1" | "sec1" | "pkcs8"> = {
        "RSA PRIVATE KEY": "pkcs1",
        "EC PRIVATE KEY": "sec1",
        "PRIVATE KEY": "pkcs8",
    };
    const type = formats[block.type];
    if (!type) throw new Error(`unsupported PEM preamble: ${block.type}`);
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey({ key: block.der, format: "der", type });
    } catch (e) {
        throw new Error(`failed to parse private key given PEM preamble '${block.type}': ${(e as Error).message}`);
    }
    return describeKey(key);
}

export function spkiDer(pub: crypto.KeyObject): Buffer {
    return pub.export({ type: "spki", format: "der" }) as Buffer;
}

/** The subjectPublicKey BIT STRING content of a SubjectPublicKeyInfo. */
function spkiKeyBits(spki: Buffer): Buffer {
    return children(decode(spki))[1].value.subarray(1);
}

/**
 * common_cert.go generateSubjectKeyID: SHA-1 of asn1.Marshal(*rsa.PublicKey) (= PKCS#1 RSAPublicKey),
 * elliptic.Marshal(point) (= uncompressed point) or asn1.Marshal(ed25519.PublicKey) (= an OCTET STRING!).
 */
export function subjectKeyId(pub: crypto.KeyObject): Buffer {
    const bits = spkiKeyBits(spkiDer(pub));
    const input = pub.asymmetricKeyType === "ed25519" ? tlv(TAG.OCTET_STRING, bits) : bits;
    return crypto.createHash("sha1").update(input).digest();
}

// -- OpenSSH encodings (golang.org/x/crypto/ssh MarshalAuthorizedKey / Fingerprint* / MarshalPrivateKey)

function sshString(b: Buffer | string): Buffer {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
}
function sshMpint(b: Buffer): Buffer {
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    let v = b.subarray(i);
    if (v.length && v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return sshString(v);
}
function sshUint32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
}
const b64u = (s: string) => Buffer.from(s, "base64url");
const SSH_EC: Record<string, string> = { "P-256": "nistp256", "P-384": "nistp384", "P-521": "nistp521" };

/** SSH wire public key, or undefined where x/crypto/ssh has no encoding (ECDSA P-224). */
function sshPublicBlob(k: ParsedKey): Buffer | undefined {
    const jwk = () => k.publicKey.export({ format: "jwk" }) as crypto.JsonWebKey;
    switch (k.algorithm) {
        case "RSA":
            return Buffer.concat([sshString("ssh-rsa"), sshMpint(b64u(jwk().e!)), sshMpint(b64u(jwk().n!))]);
        case "ECDSA": {
            const name = SSH_EC[k.curve!];
            if (!name) return undefined;
            const point = spkiKeyBits(spkiDer(k.publicKey));
            return Buffer.concat([sshString(`ecdsa-sha2-${name}`), sshString(name), sshString(point)]);
        }
        case "ED25519":
            return Buffer.concat([sshString("ssh-ed25519"), sshString(b64u(jwk().x!))]);
    }
}

function sshPrivateKeyPem(k: ParsedKey, pub: Buffer): string {
    const jwk = k.privateKey.export({ format: "jwk" }) as crypto.JsonWebKey;
    let body: Buffer;
    switch (k.algorithm) {
        case "RSA":
            body = Buffer.concat([
                sshString("ssh-rsa"),
                sshMpint(b64u(jwk.n!)),
                sshMpint(b64u(jwk.e!)),
                sshMpint(b64u(jwk.d!)),
                sshMpint(b64u(jwk.qi!)),
                sshMpint(b64u(jwk.p!)),
                sshMpint(b64u(jwk.q!)),
            ]);
            break;
        case "ECDSA": {
            const name = SSH_EC[k.curve!];
            body = Buffer.concat([
                sshString(`ecdsa-sha2-${name}`),
                sshString(name),
                sshString(spkiKeyBits(spkiDer(k.publicKey))),
                sshMpint(b64u(jwk.d!)),
            ]);
            break;
        }
        case "ED25519": {
            const seed = b64u(jwk.d!);
            const p = b64u(jwk.x!);
            body = Buffer.concat([sshString("ssh-ed25519"), sshString(p), sshString(Buffer.concat([seed, p]))]);
            break;
        }
    }
    const check = crypto.randomBytes(4).readUInt32BE();
    let priv = Buffer.concat([sshUint32(check), sshUint32(check), body, sshString("")]);
    const pad: number[] = [];
    for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
    priv = Buffer.concat([priv, Buffer.from(pad)]);
    const blob = Buffer.concat([
        Buffer.from("openssh-key-v1\0", "latin1"),
        sshString("none"),
        sshString("none"),
        sshString(""),
        sshUint32(1),
        sshString(pub),
        sshString(priv),
    ]);
    return pemEncode("OPENSSH PRIVATE KEY", blob);
}

export interface PublicKeyAttributes {
    /** hashForState(PKIX DER): hex SHA-1 */
    id: string;
    publicKeyPem: string;
    publicKeyOpenssh: string;
    publicKeyFingerprintMd5: string;
    publicKeyFingerprintSha256: string;
}

/** common_key.go setPublicKeyAttributes (P-224: the OpenSSH fields are empty strings). */
export function publicKeyAttributes(k: ParsedKey): PublicKeyAttributes {
    const der = spkiDer(k.publicKey);
    const blob = sshPublicBlob(k);
    let openssh = "";
    let md5 = "";
    let sha256 = "";
    if (blob) {
        const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
        openssh = `${type} ${blob.toString("base64")}\n`;
        md5 = (crypto.createHash("md5").update(blob).digest("hex").match(/../g) ?? []).join(":");
        sha256 = "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
    }
    return {
        id: crypto.createHash("sha1").update(der).digest("hex"),
        publicKeyPem: pemEncode("PUBLIC KEY", der),
        publicKeyOpenssh: openssh,
        publicKeyFingerprintMd5: md5,
        publicKeyFingerprintSha256: sha256,
    };
}

export interface PrivateKeyAttributes extends PublicKeyAttributes {
    privateKeyPem: string;
    privateKeyPemPkcs8: string;
    privateKeyOpenssh: string;
}

/** resource_private_key.go Create: PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for ED25519. */
export function privateKeyAttributes(k: ParsedKey): PrivateKeyAttributes {
    const pem = (type: "pkcs1" | "sec1" | "pkcs8") => k.privateKey.export({ type, format: "pem" }) as string;
    const privateKeyPem = k.algorithm === "RSA" ? pem("pkcs1") : k.algorithm === "ECDSA" ? pem("sec1") : pem("pkcs8");
    const blob = sshPublicBlob(k);
    return {
        ...publicKeyAttributes(k),
        privateKeyPem,
        privateKeyPemPkcs8: pem("pkcs8"),
        privateKeyOpenssh: blob ? sshPrivateKeyPem(k, blob) : "",
    };
}

// ------------------------------------------------------------------------------------------ names

/** The Pulumi `subject` input (CertRequestSubject / SelfSignedCertSubject). */
export interface SubjectInput {
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
    streetAddresses?: string[];
    locality?: string;
    province?: string;
    country?: string;
    postalCode?: string;
    serialNumber?: string;
    emailAddress?: string;
}

/** The fields of Go's pkix.Name that survive ToRDNSequence. */
export interface GoName {
    country?: string[];
    province?: string[];
    locality?: string[];
    streetAddress?: string[];
    postalCode?: string[];
    organization?: string[];
    organizationalUnit?: string[];
    commonName?: string;
    serialNumber?: string;
    /** ExtraNames: appended as single-valued RDNs (type OID, DER of the value) */
    extraNames?: { type: string; value: Buffer }[];
}

const OID_EMAIL = "1.2.840.113549.1.9.1";
const NAME_OIDS: [keyof GoName, string][] = [
    ["country", "2.5.4.6"],
    ["province", "2.5.4.8"],
    ["locality", "2.5.4.7"],
    ["streetAddress", "2.5.4.9"],
    ["postalCode", "2.5.4.17"],
    ["organization", "2.5.4.10"],
    ["organizationalUnit", "2.5.4.11"],
];

/** common_cert.go createSubjectDistinguishedNames. */
export function subjectToGoName(s: SubjectInput | undefined): GoName {
    const n: GoName = {};
    if (!s) return n;
    const one = (v: string | undefined) => (typeof v === "string" ? [v] : undefined);
    if (typeof s.commonName === "string") n.commonName = s.commonName;
    n.organization = one(s.organization);
    n.organizationalUnit = one(s.organizationalUnit);
    if (Array.isArray(s.streetAddresses)) n.streetAddress = [...s.streetAddresses];
    n.locality = one(s.locality);
    n.province = one(s.province);
    n.country = one(s.country);
    n.postalCode = one(s.postalCode);
    if (typeof s.serialNumber === "string") n.serialNumber = s.serialNumber;
    if (typeof s.emailAddress === "string") {
        n.extraNames = [{ type: OID_EMAIL, value: tlv(TAG.IA5String, Buffer.from(s.emailAddress, "utf8")) }];
    }
    return n;
}

/** cmp.Equal(name, pkix.Name{}): nil and empty slices differ, so `streetAddresses: []` counts as set. */
export function goNameIsZero(n: GoName): boolean {
    return (
        !n.commonName &&
        !n.serialNumber &&
        NAME_OIDS.every(([k]) => n[k] === undefined) &&
        (n.extraNames === undefined || n.extraNames.length === 0)
    );
}

/** pkix.Name.ToRDNSequence, DER-marshalled. */
export function marshalGoName(n: GoName): Buffer {
    const extraTypes = new Set((n.extraNames ?? []).map((e) => e.type));
    const rdns: Buffer[] = [];
    const add = (values: string[] | undefined, type: string) => {
        if (!values || values.length === 0 || extraTypes.has(type)) return;
        rdns.push(setOf(...values.map((v) => seq(oid(type), goString(v)))));
    };
    for (const [k, type] of NAME_OIDS) add(n[k] as string[] | undefined, type);
    if (n.commonName) add([n.commonName], "2.5.4.3");
    if (n.serialNumber) add([n.serialNumber], "2.5.4.5");
    for (const e of n.extraNames ?? []) rdns.push(setOf(seq(oid(e.type), e.value)));
    return seq(...rdns);
}

/** pkix.Name.FillFromRDNSequence (only the typed fields; everything else lands in Names, not ExtraNames). */
export function goNameFromDer(der: Buffer): GoName {
    const n: GoName = {};
    const push = (k: keyof GoName, v: string) => {
        const arr = ((n[k] as string[] | undefined) ?? []) as string[];
        arr.push(v);
        (n as Record<string, unknown>)[k] = arr;
    };
    for (const rdn of children(decode(der))) {
        for (const atv of children(rdn)) {
            const [t, v] = children(atv);
            const value = decodeString(v);
            if (value === undefined) continue;
            switch (decodeOid(t.value)) {
                case "2.5.4.3":
                    n.commonName = value;
                    break;
                case "2.5.4.5":
                    n.serialNumber = value;
                    break;
                case "2.5.4.6":
                    push("country", value);
                    break;
                case "2.5.4.7":
                    push("locality", value);
                    break;
                case "2.5.4.8":
                    push("province", value);
                    break;
                case "2.5.4.9":
                    push("streetAddress", value);
                    break;
                case "2.5.4.10":
                    push("organization", value);
                    break;
                case "2.5.4.11":
                    push("organizationalUnit", value);
                    break;
                case "2.5.4.17":
                    push("postalCode", value);
                    break;
            }
        }
    }
    return n;
}

// ------------------------------------------------------------------------------------------ SANs

function parseIPv4(s: string): number[] | undefined {
    const parts = s.split(".");
    if (parts.length !== 4) return undefined;
    const out: number[] = [];
    for (const p of parts) {
        if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
        const v = Number(p);
        if (v > 255) return undefined;
        out.push(v);
    }
    return out;
}

function parseIPv6(s: string): number[] | undefined {
    if (s.includes("%") || !net.isIPv6(s)) return undefined;
    let str = s;
    const last = s.lastIndexOf(":");
    if (s.slice(last + 1).includes(".")) {
        const v4 = parseIPv4(s.slice(last + 1));
        if (!v4) return undefined;
        str = s.slice(0, last + 1) + ((v4[0] << 8) | v4[1]).toString(16) + ":" + ((v4[2] << 8) | v4[3]).toString(16);
    }
    const halves = str.split("::");
    const groups = (h: string) => (h === "" ? [] : h.split(":"));
    const head = groups(halves[0]);
    const tail = halves.length > 1 ? groups(halves[1]) : [];
    const fill = halves.length > 1 ? 8 - head.length - tail.length : 0;
    const all = [...head, ...Array(fill).fill("0"), ...tail];
    if (all.length !== 8) return undefined;
    return all.flatMap((g) => {
        const v = parseInt(g, 16);
        return [v >> 8, v & 0xff];
    });
}

/** net.ParseIP followed by To4() where possible (marshalSANs always writes IPv4 in 4 bytes). */
export function parseIp(s: string): Buffer | undefined {
    const v4 = parseIPv4(s);
    if (v4) return Buffer.from(v4);
    const v6 = parseIPv6(s);
    if (!v6) return undefined;
    const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
    return Buffer.from(mapped ? v6.slice(12) : v6);
}

export function ipToString(b: Buffer): string {
    if (b.length === 4) return [...b].join(".");
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
    return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}

export interface Sans {
    dnsNames: string[];
    emailAddresses: string[];
    ipAddresses: Buffer[];
    uris: string[];
}

function checkIA5(s: string) {
    if (/[^\x00-\x7f]/.test(s)) throw new Error(`x509: ${JSON.stringify(s)} cannot be encoded as an IA5String`);
}

/** x509.marshalSANs: all DNS names, then emails, then IPs, then URIs. */
export function marshalSans(s: Sans): Buffer {
    const items: Buffer[] = [];
    for (const d of s.dnsNames) {
        checkIA5(d);
        items.push(tlv(0x82, Buffer.from(d, "latin1")));
    }
    for (const e of s.emailAddresses) {
        checkIA5(e);
        items.push(tlv(0x81, Buffer.from(e, "latin1")));
    }
    for (const ip of s.ipAddresses) items.push(tlv(0x87, ip));
    for (const u of s.uris) {
        checkIA5(u);
        items.push(tlv(0x86, Buffer.from(u, "latin1")));
    }
    return seq(...items);
}

export function parseSans(value: Buffer): Sans {
    const out: Sans = { dnsNames: [], emailAddresses: [], ipAddresses: [], uris: [] };
    for (const gn of children(decode(value))) {
        switch (gn.tag) {
            case 0x81:
                out.emailAddresses.push(gn.value.toString("latin1"));
                break;
            case 0x82:
                out.dnsNames.push(gn.value.toString("latin1"));
                break;
            case 0x86:
                out.uris.push(gn.value.toString("latin1"));
                break;
            case 0x87:
                if (gn.value.length !== 4 && gn.value.length !== 16) {
                    throw new Error(`x509: cannot parse IP address of length ${gn.value.length}`);
                }
                out.ipAddresses.push(Buffer.from(gn.value));
                break;
        }
    }
    return out;
}

// ------------------------------------------------------------------------------------------ parsing

function extensionsOf(list: Tlv | undefined): Map<string, { critical: boolean; value: Buffer }> {
    const map = new Map<string, { critical: boolean; value: Buffer }>();
    if (!list) return map;
    for (const ext of children(list)) {
        const parts = children(ext);
        const critical = parts.length === 3 && parts[1].tag === TAG.BOOLEAN && parts[1].value[0] !== 0;
        map.set(decodeOid(parts[0].value), { critical, value: parts[parts.length - 1].value });
    }
    return map;
}

export interface ParsedCertificate {
    der: Buffer;
    subjectDer: Buffer;
    spki: Buffer;
    subjectKeyId?: Buffer;
    isCA: boolean;
}

/** resource_locally_signed_cert.go parseCertificate (first PEM block, type must be CERTIFICATE). */
export function parseCertificatePem(text: string): ParsedCertificate {
    const block = pemDecodeFirst(text);
    if (!block) throw new Error(`failed to decode PEM of expected type "CERTIFICATE" from bytes`);
    if (block.type !== "CERTIFICATE") {
        throw new Error(`invalid PEM type - expected "CERTIFICATE", got "${block.type}"`);
    }
    try {
        const tbs = children(children(decode(block.der))[0]);
        const off = tbs[0].tag === 0xa0 ? 1 : 0;
        const subject = tbs[off + 4];
        const spki = tbs[off + 5];
        const extWrapper = tbs.find((t) => t.tag === 0xa3);
        const exts = extensionsOf(extWrapper ? children(extWrapper)[0] : undefined);
        const skid = exts.get("2.5.29.14");
        const bc = exts.get("2.5.29.19");
        let isCA = false;
        if (bc) {
            const f = children(decode(bc.value));
            isCA = f.length > 0 && f[0].tag === TAG.BOOLEAN && f[0].value[0] !== 0;
        }
        new crypto.X509Certificate(block.der); // let OpenSSL reject what Go would not parse either
        return {
            der: block.der,
            subjectDer: Buffer.from(subject.raw),
            spki: Buffer.from(spki.raw),
            subjectKeyId: skid ? Buffer.from(decode(skid.value).value) : undefined,
            isCA,
        };
    } catch (e) {
        throw new Error(`failed to parse certificate: ${(e as Error).message}`);
    }
}

export interface ParsedCsr {
    der: Buffer;
    subject: GoName;
    spki: Buffer;
    publicKey: crypto.KeyObject;
    sans: Sans;
}

/** x509.ParseCertificateRequest as used by the provider (the CSR signature is NOT checked). */
export function parseCsrPem(text: string): ParsedCsr {
    const block = pemDecodeFirst(text);
    if (!block) throw new Error(`failed to decode PEM of expected type "CERTIFICATE REQUEST" from bytes`);
    if (block.type !== "CERTIFICATE REQUEST") {
        throw new Error(`invalid PEM type - expected "CERTIFICATE REQUEST", got "${block.type}"`);
    }
    try {
        const info = children(children(decode(block.der))[0]);
        const [, subject, spki, attrs] = info;
        let sans: Sans = { dnsNames: [], emailAddresses: [], ipAddresses: [], uris: [] };
        for (const attr of attrs ? children(attrs) : []) {
            const [type, values] = children(attr);
            if (decodeOid(type.value) !== "1.2.840.113549.1.9.14") continue;
            const first = children(values)[0];
            const san = extensionsOf(first).get("2.5.29.17");
            if (san) sans = parseSans(san.value);
        }
        const publicKey = crypto.createPublicKey({ key: Buffer.from(spki.raw), format: "der", type: "spki" });
        return { der: block.der, subject: goNameFromDer(Buffer.from(subject.raw)), spki: spkiDer(publicKey), publicKey, sans };
    } catch (e) {
        throw new Error(`failed to parse certificate request: ${(e as Error).message}`);
    }
}

// ------------------------------------------------------------------------------------------ signing

/** Go's signingParamsForKey: SHA-256 for RSA, by curve for ECDSA (P-224 -> SHA-256), pure Ed25519. */
type SigningAlgorithm = { name: string } & Record<string, unknown>;
type PeculiarCrypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
type PeculiarCryptoKey = Parameters<typeof x509.X509CertificateGenerator.create>[0] extends infer P
    ? P extends { signingKey: infer K }
        ? K
        : never
    : never;

function signingAlgorithm(k: ParsedKey): SigningAlgorithm {
    switch (k.algorithm) {
        case "RSA":
            return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        case "ECDSA": {
            const hash = { "P-224": "SHA-256", "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" }[k.curve!];
            return { name: "ECDSA", namedCurve: k.curve, hash };
        }
        case "ED25519":
            return { name: "Ed25519" };
    }
}

/** A CryptoKey look-alike that carries a node KeyObject, for the adapter below. */
class NodeCryptoKey {
    readonly extractable = true;
    readonly usages: string[] = [];
    constructor(
        readonly keyObject: crypto.KeyObject,
        readonly algorithm: SigningAlgorithm,
        readonly type: "public" | "private",
    ) {}
}

// @peculiar/x509 converts raw (r || s) ECDSA signatures to DER by curve size; it lacks P-224 (WebCrypto has no
// P-224, Go and OpenSSL do).
x509.AsnEcSignatureFormatter.namedCurveSize.set("P-224", 28);

/** The small part of WebCrypto @peculiar/x509 uses to sign, done by node:crypto (all curves, sync keys). */
const nodeCrypto = {
    getRandomValues: <T extends ArrayBufferView>(a: T) => crypto.webcrypto.getRandomValues(a as never) as T,
    randomUUID: () => crypto.randomUUID(),
    subtle: {
        async sign(alg: Record<string, unknown>, key: NodeCryptoKey, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> {
            const bytes = Buffer.from(
                data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
            );
            let sig: Buffer;
            if (alg.name === "ECDSA") {
                const hash = String(alg.hash).replace("-", "").toLowerCase();
                sig = crypto.sign(hash, bytes, { key: key.keyObject, dsaEncoding: "ieee-p1363" });
            } else if (alg.name === "Ed25519") {
                sig = crypto.sign(null, bytes, key.keyObject);
            } else {
                sig = crypto.sign("sha256", bytes, key.keyObject);
            }
            return sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength) as ArrayBuffer;
        },
        async exportKey(format: string, key: NodeCryptoKey): Promise<ArrayBuffer> {
            if (format !== "spki") throw new Error(`exportKey(${format}) not supported`);
            const der = spkiDer(key.keyObject);
            return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
        },
        digest: (alg: string, data: ArrayBuffer | ArrayBufferView) => crypto.webcrypto.subtle.digest(alg, data as ArrayBuffer),
    },
} as unknown as PeculiarCrypto;

function signingKey(k: ParsedKey): NodeCryptoKey {
    return new NodeCryptoKey(k.privateKey, signingAlgorithm(k), "private");
}

// ------------------------------------------------------------------------------------------ certificates

/** The x509.Certificate template fields the provider sets. */
export interface CertTemplate {
    subject: GoName;
    sans: Sans;
    notBefore: Date;
    notAfter: Date;
    serial: bigint;
    keyUsage: number;
    extKeyUsage: string[];
    isCA: boolean;
    /** template.MaxPathLen (0 = not set, MaxPathLenZero is never set by the provider) */
    maxPathLen: number;
    subjectKeyId?: Buffer;
    authorityKeyId?: Buffer;
}

export interface CertParent {
    subjectDer: Buffer;
    subjectKeyId?: Buffer;
    /** parent.PublicKey as SPKI (absent for a self-signed template) */
    spki?: Buffer;
}

const hex = (b: Buffer) => b.toString("hex");

/** x509.CreateCertificate(rand, template, parent, pub, priv) with BasicConstraintsValid = true. */
export async function createCertificate(t: CertTemplate, parent: CertParent | "self", pub: crypto.KeyObject, signer: ParsedKey): Promise<Buffer> {
    if (!t.isCA && t.maxPathLen !== -1 && t.maxPathLen !== 0) {
        throw new Error("x509: only CAs are allowed to specify MaxPathLen");
    }
    const subjectDer = marshalGoName(t.subject);
    const p: CertParent = parent === "self" ? { subjectDer, subjectKeyId: t.subjectKeyId } : parent;
    if (p.spki && !spkiDer(signer.publicKey).equals(p.spki)) {
        throw new Error("x509: provided PrivateKey doesn't match parent's PublicKey");
    }
    let authorityKeyId = t.authorityKeyId;
    if (!p.subjectDer.equals(subjectDer) && p.subjectKeyId && p.subjectKeyId.length > 0) {
        authorityKeyId = p.subjectKeyId;
    }

    const exts: x509.Extension[] = [];
    if (t.keyUsage !== 0) exts.push(new x509.KeyUsagesExtension(t.keyUsage, true));
    if (t.extKeyUsage.length > 0) exts.push(new x509.ExtendedKeyUsageExtension(t.extKeyUsage, false));
    exts.push(new x509.BasicConstraintsExtension(t.isCA, t.maxPathLen > 0 ? t.maxPathLen : undefined, true));
    if (t.subjectKeyId && t.subjectKeyId.length > 0) exts.push(new x509.SubjectKeyIdentifierExtension(hex(t.subjectKeyId), false));
    if (authorityKeyId && authorityKeyId.length > 0) exts.push(new x509.AuthorityKeyIdentifierExtension(hex(authorityKeyId), false));
    const s = t.sans;
    if (s.dnsNames.length + s.emailAddresses.length + s.ipAddresses.length + s.uris.length > 0) {
        // RFC 5280 4.2.1.6: critical when the subject is empty
        exts.push(new x509.Extension("2.5.29.17", subjectDer.equals(seq()), marshalSans(s)));
    }

    const cert = await x509.X509CertificateGenerator.create(
        {
            serialNumber: t.serial.toString(16).padStart(2, "0").replace(/^(.(..)*)$/, "0$1"),
            subject: new x509.Name(subjectDer),
            issuer: new x509.Name(p.subjectDer),
            notBefore: new Date(Math.floor(t.notBefore.getTime() / 1000) * 1000),
            notAfter: new Date(Math.floor(t.notAfter.getTime() / 1000) * 1000),
            publicKey: spkiDer(pub),
            signingKey: signingKey(signer) as unknown as PeculiarCryptoKey,
            signingAlgorithm: signingAlgorithm(signer),
            extensions: exts,
        },
        nodeCrypto,
    );
    return Buffer.from(cert.rawData);
}

/** x509.CreateCertificateRequest(rand, {Subject, DNSNames, IPAddresses, URIs}, priv). */
export async function createCertificateRequest(subject: GoName, sans: Sans, key: ParsedKey): Promise<Buffer> {
    const exts: x509.Extension[] = [];
    if (sans.dnsNames.length + sans.emailAddresses.length + sans.ipAddresses.length + sans.uris.length > 0) {
        exts.push(new x509.Extension("2.5.29.17", false, marshalSans(sans)));
    }
    const alg = signingAlgorithm(key);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create(
        {
            name: new x509.Name(marshalGoName(subject)),
            extensions: exts,
            signingAlgorithm: alg,
            keys: {
                privateKey: signingKey(key) as unknown as PeculiarCryptoKey,
                publicKey: new NodeCryptoKey(key.publicKey, alg, "public") as unknown as PeculiarCryptoKey,
            },
        },
        nodeCrypto,
    );
    return Buffer.from(csr.rawData);
}

/** 128-bit random serial: rand.Int(rand.Reader, 2^128). */
export function randomSerial(): bigint {
    return BigInt("0x" + crypto.randomBytes(16).toString("hex"));
}

/** time.Time.MarshalText (RFC 3339 with trailing-zero-trimmed fraction), in UTC. */
export function goTimeText(d: Date): string {
    const iso = d.toISOString(); // 2006-01-02T15:04:05.000Z
    return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : "Z"));
}
