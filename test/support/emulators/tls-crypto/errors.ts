/** The tls provider's errors, key usages and PEM encoding, as its Go code has them. */

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
