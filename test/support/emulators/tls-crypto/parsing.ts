/** Certificates and CSRs parsed back from PEM. */
import * as crypto from "node:crypto";
import { children, decode, decodeOid, TAG, Tlv } from "../../der";
import { pemDecodeFirst } from "./errors";
import { spkiDer, subjectKeyId } from "./keys";
import { GoName, goNameFromDer } from "./names";
import { parseSans, Sans } from "./sans";

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

/** The first PEM block of `text`, which must be of `type` (the provider's messages for either). */
function firstPemOfType(text: string, type: string): { type: string; der: Buffer } {
    const block = pemDecodeFirst(text);
    if (!block) throw new Error(`failed to decode PEM of expected type "${type}" from bytes`);
    if (block.type !== type) throw new Error(`invalid PEM type - expected "${type}", got "${block.type}"`);
    return block;
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
    const block = firstPemOfType(text, "CERTIFICATE");
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
    const block = firstPemOfType(text, "CERTIFICATE REQUEST");
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
