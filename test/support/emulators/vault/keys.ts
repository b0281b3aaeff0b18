/** Key usages, serials and keys as Vault's PKI engine produces them. */
import * as crypto from "node:crypto";
import { generateKey, ParsedKey } from "../../tls-crypto";
import { EmulatedRole } from "./state";

export const KU_BITS: Record<string, number> = {
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

export function roleEkus(role: EmulatedRole): string[] {
    const set = new Set(role.extKeyUsages.map((k) => k.trim().toLowerCase()));
    if (role.serverFlag) set.add("serverauth");
    if (role.clientFlag) set.add("clientauth");
    if (role.codeSigningFlag) set.add("codesigning");
    if (role.emailProtectionFlag) set.add("emailprotection");
    return [...EKU_ORDER.filter(([n]) => set.has(n)).map(([, oid]) => oid), ...role.extKeyUsageOids];
}

export function webAlg(k: ParsedKey): { importAlg: Record<string, unknown>; signAlg: Record<string, unknown> } {
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
export function vaultSerial(): { hex: string; colon: string } {
    const b = crypto.randomBytes(20);
    b[0] &= 0x7f;
    let hex = b.toString("hex").replace(/^(00)+/, "");
    if (hex.length % 2) hex = "0" + hex;
    if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = "00" + hex;
    return { hex, colon: (hex.replace(/^00(?=[89a-f])/, "").match(/../g) ?? []).join(":") };
}

export function keyPem(k: ParsedKey): string {
    const type = k.algorithm === "RSA" ? "pkcs1" : k.algorithm === "ECDSA" ? "sec1" : "pkcs8";
    return (k.privateKey.export({ type, format: "pem" }) as string).trim();
}

export function generateVaultKey(keyType: string, keyBits: number): ParsedKey {
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
export function keyTypeLengthProblem(keyType: string, keyBits: number): string | undefined {
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

export function defaultBits(keyType: string, keyBits: number | undefined): number {
    if (keyBits) return keyBits;
    return keyType === "rsa" ? 2048 : keyType === "ec" ? 256 : 0;
}

export function splitPems(bundle: string): string[] {
    return [...String(bundle ?? "").matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0]);
}

export function goIpList(ips: string[]): string {
    return `[${ips.join(" ")}]`;
}

export const bool = (v: unknown, dflt: boolean) => (typeof v === "boolean" ? v : dflt);

export const list = (v: unknown, dflt: string[] = []) => (Array.isArray(v) ? (v as string[]).filter((x) => typeof x === "string") : dflt);
