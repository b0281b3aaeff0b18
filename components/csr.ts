/**
 * A small PKCS#10 (RFC 2986) reader for the root stack's check of a cluster's intermediate CSR: the subject's
 * attributes, the requested DNS SANs, the public key (its kubeadm algorithm name) and the proof of possession (the
 * CSR's self-signature). node:crypto parses certificates but not CSRs; this walks the DER itself.
 */
import { createPublicKey, KeyObject, verify } from "node:crypto";

interface Tlv {
    tag: number;
    /** The whole element (tag, length, content). */
    start: number;
    /** First content byte. */
    body: number;
    end: number;
}

function tlv(buf: Buffer, at: number): Tlv {
    if (at + 2 > buf.length) throw new Error("truncated DER");
    const tag = buf[at];
    let len = buf[at + 1];
    let body = at + 2;
    if (len & 0x80) {
        const n = len & 0x7f;
        if (n < 1 || n > 3 || body + n > buf.length) throw new Error("bad DER length");
        len = 0;
        for (let i = 0; i < n; i++) len = (len << 8) | buf[body + i];
        body += n;
    }
    if (body + len > buf.length) throw new Error("truncated DER");
    return { tag, start: at, body, end: body + len };
}

/** The elements inside a constructed element. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
    const out: Tlv[] = [];
    for (let at = parent.body; at < parent.end; ) {
        const t = tlv(buf, at);
        out.push(t);
        at = t.end;
    }
    return out;
}

const hex = (buf: Buffer, t: Tlv) => buf.subarray(t.body, t.end).toString("hex");

const OID = {
    commonName: "550403",
    extensionRequest: "2a864886f70d01090e",
    subjectAltName: "551d11",
} as const;

/** Signature algorithm OIDs (content hex) → node:crypto digest. */
const SIGNATURE_DIGESTS: Record<string, string> = {
    "2a864886f70d01010b": "sha256",
    "2a864886f70d01010c": "sha384",
    "2a864886f70d01010d": "sha512",
    "2a8648ce3d040302": "sha256",
    "2a8648ce3d040303": "sha384",
    "2a8648ce3d040304": "sha512",
};

export interface ParsedCsr {
    /** Subject attributes as `<oid hex>=<value>`; a kube-pki intermediate CSR has exactly one: the CN. */
    subject: { oid: string; value: string }[];
    commonName?: string;
    /** DNS names of a subjectAltName extension request. */
    dnsNames: string[];
    /** OIDs (hex) of requested extensions other than subjectAltName, and SAN entries other than DNS names. */
    otherRequests: string[];
    publicKey: KeyObject;
    /** kubeadm encryptionAlgorithm name of the key (RSA-2048, ECDSA-P256, ...), or a description of an unknown one. */
    keyAlgorithm: string;
    /** The CSR is signed by the key it carries (proof of possession). */
    signatureValid: boolean;
}

/** The kubeadm name of a public key's algorithm. */
export function keyAlgorithmOf(key: KeyObject): string {
    const d = key.asymmetricKeyDetails ?? {};
    if (key.asymmetricKeyType === "rsa") return `RSA-${d.modulusLength}`;
    if (key.asymmetricKeyType === "ec") {
        const curve = ({ prime256v1: "P256", secp384r1: "P384", secp521r1: "P521" } as Record<string, string>)[d.namedCurve ?? ""];
        return `ECDSA-${curve ?? d.namedCurve}`;
    }
    return String(key.asymmetricKeyType);
}

/** Parses a PEM CSR; throws an Error saying what is wrong with it. */
export function parseCsr(pem: string): ParsedCsr {
    const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
    if (!m) throw new Error("not a PEM certificate request");
    const der = Buffer.from(m[1].replace(/\s+/g, ""), "base64");
    const top = tlv(der, 0);
    const [info, sigAlg, sig] = children(der, top);
    if (!info || !sigAlg || !sig || sig.tag !== 0x03) throw new Error("not a PKCS#10 structure");
    const [, name, spki, attrs] = children(der, info);
    if (!name || !spki) throw new Error("not a PKCS#10 request info");
    const subject: ParsedCsr["subject"] = [];
    for (const rdn of children(der, name)) {
        for (const atv of children(der, rdn)) {
            const [oid, value] = children(der, atv);
            subject.push({ oid: hex(der, oid), value: der.subarray(value.body, value.end).toString("utf8") });
        }
    }
    const dnsNames: string[] = [];
    const otherRequests: string[] = [];
    if (attrs && attrs.tag === 0xa0) {
        for (const attr of children(der, attrs)) {
            const [type, values] = children(der, attr);
            if (hex(der, type) !== OID.extensionRequest) {
                otherRequests.push(hex(der, type));
                continue;
            }
            for (const exts of children(der, values)) {
                for (const ext of children(der, exts)) {
                    const parts = children(der, ext);
                    const id = hex(der, parts[0]);
                    if (id !== OID.subjectAltName) {
                        otherRequests.push(id);
                        continue;
                    }
                    const octets = parts[parts.length - 1];
                    const inner = der.subarray(octets.body, octets.end);
                    for (const gn of children(inner, tlv(inner, 0))) {
                        if (gn.tag === 0x82) dnsNames.push(inner.subarray(gn.body, gn.end).toString("ascii"));
                        else otherRequests.push(`${OID.subjectAltName}:${gn.tag.toString(16)}`);
                    }
                }
            }
        }
    }
    const publicKey = createPublicKey({ key: der.subarray(spki.start, spki.end), format: "der", type: "spki" });
    const digest = SIGNATURE_DIGESTS[hex(der, children(der, sigAlg)[0])];
    // BIT STRING: the first content byte counts unused bits (0 for signatures)
    const signature = der.subarray(sig.body + 1, sig.end);
    const signatureValid = digest !== undefined && verify(digest, der.subarray(info.start, info.end), publicKey, signature);
    return {
        subject,
        commonName: subject.find((s) => s.oid === OID.commonName)?.value,
        dnsNames,
        otherRequests,
        publicKey,
        keyAlgorithm: keyAlgorithmOf(publicKey),
        signatureValid,
    };
}

/** The public key of a PEM CSR or certificate as SPKI DER hex (to match a certificate to the CSR it answers). */
export function spkiOf(key: KeyObject): string {
    return key.export({ type: "spki", format: "der" }).toString("hex");
}
