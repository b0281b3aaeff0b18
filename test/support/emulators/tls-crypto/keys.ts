/** Keys as the tls provider generates, parses and describes them (crypto/rsa, crypto/ecdsa, crypto/ed25519). */
import * as crypto from "node:crypto";
import { children, decode, TAG, tlv } from "../../der";
import { EcdsaCurve, KeyAlgorithm, pemDecodeFirst, pemEncode, ProviderError } from "./errors";

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
