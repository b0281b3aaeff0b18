/**
 * Emulator fidelity: the same ClusterPki args through the real tls provider (the live stack) and through the unit
 * tests' emulator (e2e/emulator-dump.ts), compared certificate by certificate on every X.509 property the
 * emulator claims to reproduce. Any difference is a failed check naming the certificate and the field.
 */
import { createHash, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { Suite } from "./harness";
import { runOk } from "./procs";
import { NodeFiles } from "./pulumi";
import { parseCert } from "../test/support/x509";

export interface PkiFiles {
    nodeFiles: NodeFiles;
    kubeconfigs: Record<string, string>;
}

export interface RootFiles {
    rootCertificate: string;
    intermediates: Record<string, Record<string, { generation: number; certPem: string; keyPem: string }[]>>;
}

/**
 * Runs the emulator in a child process (from the project snapshot `projectDir`): a ClusterPki ("cluster"), a
 * RootPki ("root") with `args`, or a ClusterPki run once per phase ("rotation"). `extra` goes into the args file as
 * is (e2e/emulator-dump.ts: `vault` sends the Vault resources to a real server, `phases`).
 */
export async function emulate<T = PkiFiles>(
    projectDir: string,
    workDir: string,
    kind: "cluster" | "root" | "rotation",
    name: string,
    args: object,
    env: NodeJS.ProcessEnv,
    signal: AbortSignal,
    extra: object = {},
): Promise<T> {
    const argsFile = path.join(workDir, `emulator-${kind}-${name}-args.json`);
    const outFile = path.join(workDir, `emulator-${kind}-${name}-out.json`);
    fs.writeFileSync(argsFile, JSON.stringify({ kind, name, args, ...extra }), { mode: 0o600 });
    await runOk(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(projectDir, "e2e/emulator-dump.ts"), argsFile, outFile], {
        cwd: projectDir,
        env: { ...env, TS_NODE_PROJECT: path.join(projectDir, "tsconfig.json") },
        log: `emulator-${kind}-${name}`,
        timeoutMs: kind === "rotation" ? 600_000 : 240_000,
        signal,
    });
    return JSON.parse(fs.readFileSync(outFile, "utf8"));
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\n([\s\S]*?)\n-----END \1-----\n?/g;

function firstCertPem(text: string): string {
    const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(text);
    if (!m) throw new Error("no certificate");
    return m[0];
}

/** Every certificate of a PKI: node files (`<node>/<path>.crt`, first cert of a bundle) and kubeconfig client certs. */
export function certificates(files: PkiFiles): Map<string, string> {
    const out = new Map<string, string>();
    for (const [node, map] of Object.entries(files.nodeFiles)) {
        for (const [rel, f] of Object.entries(map)) if (rel.endsWith(".crt")) out.set(`${node}/${rel}`, firstCertPem(f.content));
    }
    for (const [key, text] of Object.entries(files.kubeconfigs)) {
        const kc = parseYaml(text);
        const data = kc.users?.[0]?.user?.["client-certificate-data"];
        if (data) out.set(`kubeconfig ${key} (client cert)`, Buffer.from(data, "base64").toString("utf8"));
    }
    return out;
}

/** The DER of the subjectPublicKey BIT STRING contents (what RFC 5280 method 1 SKIDs hash). */
function publicKeyBits(cert: X509Certificate): Buffer {
    const spki = cert.publicKey.export({ type: "spki", format: "der" });
    // SEQUENCE { SEQUENCE algorithm, BIT STRING key }: skip the algorithm and the BIT STRING header + unused-bits byte
    let i = 0;
    const readLen = (): number => {
        let len = spki[i++];
        if (len & 0x80) {
            const n = len & 0x7f;
            len = 0;
            for (let k = 0; k < n; k++) len = (len << 8) | spki[i++];
        }
        return len;
    };
    i++; // outer SEQUENCE tag
    readLen();
    i++; // algorithm SEQUENCE tag
    const algorithmLength = readLen(); // (not `i += readLen()`: that would add to i's value before the call)
    i += algorithmLength;
    i++; // BIT STRING tag
    const len = readLen();
    return spki.subarray(i + 1, i + len);
}

/** The properties compared, as display strings. */
export function describe(pem: string, all: Map<string, string>): Record<string, string> {
    const c = parseCert(pem);
    const skidSha1 = createHash("sha1").update(publicKeyBits(c.node)).digest("hex");
    const skidSpki = createHash("sha1").update(c.node.publicKey.export({ type: "spki", format: "der" })).digest("hex");
    const issuerPem = [...all.values()].find((p) => parseCert(p).subject === c.issuer);
    const issuerSkid = issuerPem ? parseCert(issuerPem).skid : undefined;
    const pemLines = pem.trimEnd().split("\n");
    return {
        subject: c.subject,
        issuer: c.issuer,
        extensions: c.extensions.map((e) => `${e.oid}${e.critical ? " (critical)" : ""}`).join(", "),
        keyUsage: c.keyUsage.join(","),
        extKeyUsage: c.extKeyUsage.join(","),
        dnsNames: c.dnsNames.join(","),
        ipAddresses: c.ipAddresses.join(","),
        basicConstraints: c.isCA === undefined ? "absent" : `CA:${c.isCA}${c.pathLen !== undefined ? ` pathlen:${c.pathLen}` : ""}`,
        signatureAlgorithm: c.signatureAlgorithm,
        validitySeconds: String(Math.round((c.notAfter.getTime() - c.notBefore.getTime()) / 1000)),
        publicKey: `${c.publicKeyAlgorithm} ${c.rsaBits ?? c.ecCurve}`,
        subjectKeyId:
            c.skid === undefined
                ? "absent"
                : c.skid === skidSha1
                  ? "sha1(subjectPublicKey) (RFC 5280 method 1)"
                  : c.skid === skidSpki
                    ? "sha1(SubjectPublicKeyInfo DER)"
                    : `other (${c.skid.length / 2} bytes)`,
        authorityKeyId: c.akid === undefined ? "absent" : c.akid === issuerSkid ? "issuer's subjectKeyId" : `other (${c.akid.length / 2} bytes)`,
        serial: c.serialHex.replace(/^0+/, "").length > 32 ? "more than 128 bits" : "≤ 128 bits",
        // Not the line count: ECDSA signatures and serials vary in DER length from one certificate to the next.
        pem: `width ${Math.max(...pemLines.map((l) => l.length))}, ${pem.endsWith("\n") ? "trailing newline" : "no trailing newline"}`,
    };
}

function pemTypes(text: string): string {
    return [...text.matchAll(PEM_BLOCK)].map((m) => m[1]).join(" + ") + (text.endsWith("\n") ? "" : " (no trailing newline)");
}

/** Replaces base64 data in a kubeconfig by placeholders: what is left is its structure. */
function kubeconfigShape(text: string): string {
    return JSON.stringify(parseYaml(text), (k, v) => (typeof v === "string" && k.endsWith("-data") ? "<data>" : v));
}

/** Compares every certificate of `real` with the emulator's certificate of the same label. */
function compareCertificates(suite: Suite, realCerts: Map<string, string>, emuCerts: Map<string, string>, atLeast: number): string[] {
    let compared = 0;
    const differences: string[] = [];
    for (const [label, realPem] of realCerts) {
        const emuPem = emuCerts.get(label);
        if (!emuPem) continue;
        compared++;
        const r = describe(realPem, realCerts);
        const e = describe(emuPem, emuCerts);
        const diffs = Object.keys(r).filter((k) => r[k] !== e[k]);
        for (const k of diffs) differences.push(`${label}: ${k}\n    real tls provider: ${r[k]}\n    emulator:          ${e[k]}`);
        suite.check(
            `${label}: X.509 properties match (${Object.keys(r).length} fields)`,
            diffs.length === 0,
            diffs.map((k) => `${k}: real "${r[k]}", emulator "${e[k]}"`).join("\n"),
        );
    }
    suite.check(`compared ${compared} certificates`, compared >= atLeast && compared === realCerts.size, `${compared} of ${realCerts.size}`);
    return differences;
}

/** The root stack's certificates (root + every intermediate) and intermediate key encodings, real vs emulated. */
export function compareRootFidelity(suite: Suite, real: RootFiles, emulated: RootFiles): string[] {
    const certs = (r: RootFiles) => {
        const m = new Map<string, string>([["root certificate", r.rootCertificate]]);
        for (const [cluster, cas] of Object.entries(r.intermediates ?? {})) {
            for (const [ca, list] of Object.entries(cas)) for (const i of list) m.set(`intermediate ${cluster}/${ca} g${i.generation}`, i.certPem);
        }
        return m;
    };
    const differences = compareCertificates(suite, certs(real), certs(emulated), 4);
    const keyTypes = (r: RootFiles) =>
        Object.entries(r.intermediates ?? {}).flatMap(([c, cas]) => Object.entries(cas).flatMap(([ca, l]) => l.map((i) => `${c}/${ca}: ${i.keyPem ? pemTypes(i.keyPem) : "no key (signed from a CSR)"}`)));
    suite.equal("intermediate key PEM encodings match", keyTypes(emulated), keyTypes(real));
    if (differences.length) suite.info(`emulator differences:\n${differences.join("\n")}`);
    return differences;
}

export function compareFidelity(suite: Suite, real: PkiFiles, emulated: PkiFiles) {
    const realFiles = Object.entries(real.nodeFiles).flatMap(([n, m]) => Object.entries(m).map(([p, f]) => `${n}/${p} ${f.mode}${f.secret ? " secret" : ""}`)).sort();
    const emuFiles = Object.entries(emulated.nodeFiles).flatMap(([n, m]) => Object.entries(m).map(([p, f]) => `${n}/${p} ${f.mode}${f.secret ? " secret" : ""}`)).sort();
    suite.equal("same node files, modes and secret flags", emuFiles, realFiles);
    suite.equal("same kubeconfig keys", Object.keys(emulated.kubeconfigs).sort(), Object.keys(real.kubeconfigs).sort());

    const differences = compareCertificates(suite, certificates(real), certificates(emulated), 20);

    // key and public key encodings (PKCS#1 / SEC1 / SPKI), bundle shape
    for (const [node, map] of Object.entries(real.nodeFiles)) {
        for (const [rel, f] of Object.entries(map)) {
            if (rel.endsWith(".crt") && !f.content.includes("CERTIFICATE")) continue;
            const other = emulated.nodeFiles[node]?.[rel];
            if (!other || rel.endsWith(".conf")) continue;
            if (!(rel.endsWith(".key") || rel.endsWith(".pub") || rel.endsWith(".crt"))) continue;
            const rt = pemTypes(f.content);
            const et = pemTypes(other.content);
            if (rt !== et) {
                differences.push(`${node}/${rel}: PEM blocks\n    real tls provider: ${rt}\n    emulator:          ${et}`);
                suite.check(`${node}/${rel}: PEM encoding matches`, false, `real ${rt}, emulator ${et}`);
            }
        }
    }
    suite.check("key and certificate PEM encodings match (PKCS#1 / SEC1 / PUBLIC KEY, blocks per file)", !differences.some((d) => d.includes("PEM blocks")));
    const shapes = Object.entries(real.kubeconfigs)
        .filter(([key]) => emulated.kubeconfigs[key] !== undefined)
        .filter(([key, text]) => kubeconfigShape(text) !== kubeconfigShape(emulated.kubeconfigs[key]))
        .map(([key, text]) => `${key}: real ${kubeconfigShape(text)}\n  emulator ${kubeconfigShape(emulated.kubeconfigs[key])}`);
    suite.check("kubeconfigs have the same structure (data fields aside)", shapes.length === 0, shapes.join("\n"));
    if (differences.length) suite.info(`emulator differences:\n${differences.join("\n")}`);
    return differences;
}
