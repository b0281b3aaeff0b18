/** Signing: x509.CreateCertificate and CreateCertificateRequest as the provider calls them. */
import "../../reflect-shim";
import * as x509 from "@peculiar/x509";
import * as crypto from "node:crypto";
import { seq } from "../../der";
import { ParsedKey, spkiDer, subjectKeyId } from "./keys";
import { GoName, marshalGoName } from "./names";
import { marshalSans, Sans } from "./sans";

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
