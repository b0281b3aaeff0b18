/**
 * pki-plain-key-output against every wrapping a key takes on its way into a stack output (policy/key-material.ts):
 * base64, JSON, quoted YAML, a Secret's tls.key, a cloud-init write_files content (b64, gzip+b64), DER as hex or
 * base64, a JWK, and bounded decoding. Every key and certificate is made at test time (none is committed); every
 * form is also checked as a secret output (passes) and against look-alikes that hold no private key.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { gzipSync } from "node:zlib";
import { stringify as yamlStringify } from "yaml";
import { LIMITS } from "../policy/key-material";
import { plainKeyOutput, SECRET_PATHS, T } from "../policy/policies";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy");

/** The messages pki-plain-key-output reports for these stack outputs (secretPaths: the outputs that are secrets). */
function violations(outputs: Record<string, unknown>, secretPaths: string[] = [], keysInStack: string[] = []): string[] {
    Object.defineProperty(outputs, SECRET_PATHS, { value: secretPaths, enumerable: false });
    const stack = { type: T.stack, name: "s", urn: "urn:pulumi:test::test::pulumi:pulumi:Stack::s", props: proxy.unknownCheckingProxy(outputs) } as any;
    const keys = keysInStack.map((k, i) => ({ type: T.privateKey, name: `k${i}`, urn: `urn:pulumi:test::test::${T.privateKey}::k${i}`, parent: stack, props: proxy.unknownCheckingProxy({ algorithm: "ECDSA", privateKeyPem: k }) }));
    const out: string[] = [];
    const args = { resources: [stack, ...keys], stackTags: new Map(), getConfig: () => ({}) as any, notApplicable: () => undefined as never };
    void plainKeyOutput.validateStack(args, (m: string) => out.push(m));
    return out;
}
const outputsNamed = (v: string[]) => v.map((m) => /^stack output "([^"]+)"/.exec(m)?.[1]);
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");
const pem = (k: KeyObject, type: "pkcs8" | "pkcs1" | "sec1" = "pkcs8") => k.export({ format: "pem", type } as any).toString();
const der = (k: KeyObject, type: "pkcs8" | "pkcs1" | "sec1" = "pkcs8") => k.export({ format: "der", type } as any) as Buffer;
/** A real self-signed certificate (openssl's own key goes to /dev/null: no key file anywhere). */
const certPem = execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null", "-subj", "/CN=policy-test", "-days", "1"], {
    stdio: ["ignore", "pipe", "pipe"],
}).toString();

const kubeconfig = (keyData: string) => ({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster: { server: "https://10.0.0.1:6443", "certificate-authority-data": b64(certPem) } }],
    users: [{ name: "u", user: { "client-certificate-data": b64(certPem), "client-key-data": keyData } }],
    contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
    "current-context": "c",
});
const tlsSecret = (key: string) => ({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls", metadata: { name: "apiserver" }, data: { "tls.crt": b64(certPem), "tls.key": b64(key) } });
const cloudConfig = (encoding: string, content: string) =>
    "#cloud-config\n" + yamlStringify({ write_files: [{ path: "/etc/kubernetes/pki/ca.crt", encoding: "b64", content: b64(certPem) }, { path: "/etc/kubernetes/pki/ca.key", permissions: "0600", encoding, content }] });

/** [form, the plain output, what the message must name (the decodings)] */
const FORMS: [string, unknown, RegExp][] = [
    ["base64 of a PEM key", b64(pem(ec.privateKey)), /\(base64 → PEM\)/],
    ["base64url of a PEM key", Buffer.from(pem(rsa.privateKey, "pkcs1")).toString("base64url"), /\(base64 → PEM\)/],
    ["a PEM key in JSON, \\u-escaped", JSON.stringify({ credentials: { private_key: pem(ec.privateKey) } }).replace(/-/g, "\\u002d"), /\(JSON → PEM at credentials\.private_key\)/],
    ["a kubeconfig as JSON (client-key-data after a quote)", JSON.stringify(kubeconfig(b64(pem(ec.privateKey, "sec1")))), /JSON → client-key-data at users\.0\.user\.client-key-data/],
    ["a kubeconfig as quoted YAML", yamlStringify(kubeconfig(b64(pem(ec.privateKey, "sec1"))), { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" }), /YAML → client-key-data at users\.0\.user\.client-key-data/],
    ["a kubeconfig as an object", kubeconfig(b64(pem(rsa.privateKey, "pkcs1"))), /^stack output "out\.users\.0\.user\.client-key-data" .*\(client-key-data\)/],
    ["a Secret's tls.key (object)", tlsSecret(pem(ec.privateKey)), /^stack output "out\.data\.tls\.key" .*\(tls\.key\)/],
    ["a Secret's tls.key (multi-document YAML manifest)", `---\n${yamlStringify({ kind: "Namespace", metadata: { name: "x" } })}---\n${yamlStringify(tlsSecret(pem(rsa.privateKey)))}`, /YAML → tls\.key at data\.tls\.key/],
    ["a cloud-init write_files content (b64)", cloudConfig("b64", b64(pem(ec.privateKey))), /YAML → cloud-init b64 → PEM at write_files\.1\.content/],
    ["a cloud-init write_files content (gzip+b64)", cloudConfig("gzip+b64", b64(gzipSync(pem(rsa.privateKey)))), /YAML → cloud-init gzip\+b64 → gzip → PEM at write_files\.1\.content/],
    ["DER PKCS#8 as hex", der(ec.privateKey).toString("hex"), /\(hex → DER PKCS#8\)/],
    ["DER SEC1 as colon-separated upper-case hex", der(ec.privateKey, "sec1").toString("hex").toUpperCase().replace(/(..)(?!$)/g, "$1:"), /\(hex → DER SEC1\)/],
    ["DER PKCS#1 as base64", b64(der(rsa.privateKey, "pkcs1")), /\(base64 → DER PKCS#1\)/],
    ["DER Ed25519 hex inside a shell script", `#!/bin/sh\nexport NODE_KEY=${der(ed.privateKey).toString("hex")}\nexec node\n`, /\(hex → DER PKCS#8\)/],
    ["a JWK (object)", ec.privateKey.export({ format: "jwk" }), /\(JWK\)/],
    ["a JWK set in JSON", JSON.stringify({ keys: [ed.publicKey.export({ format: "jwk" }), rsa.privateKey.export({ format: "jwk" })] }), /\(JSON → JWK at keys\.1\)/],
    ["base64 of base64 of JSON of a kubeconfig", b64(b64(JSON.stringify(kubeconfig(b64(pem(ed.privateKey)))))), /base64 → base64 → JSON → client-key-data/],
];

describe("pki-plain-key-output: keys however wrapped (policy/key-material.ts)", () => {
    for (const [form, value, says] of FORMS) {
        it(`flags ${form}; passes it as a secret`, () => {
            const v = violations({ out: value, nested: { safe: certPem } });
            assert.equal(v.length, 1, v.join("\n"));
            assert.match(outputsNamed(v)[0]!, /^out(\.|$)/); // the output, or the string inside an object output
            assert.match(v[0], says);
            assert.match(v[0], /holds a private key in plain text .*export it with pulumi\.secret\(\)/);
            assert.deepEqual(violations({ out: value }, ["out"]), []);
        });
    }

    it("never prints the key it found", () => {
        const key = pem(ec.privateKey);
        const body = key.split("\n")[1];
        for (const [, value] of FORMS) for (const m of violations({ out: value })) assert.ok(!m.includes(body) && !/[A-Za-z0-9+/]{40}/.test(m), m);
        assert.ok(!violations({ k: key })[0].includes(body));
    });

    it("passes look-alikes with no private key: certificates, public keys and JWKs, hashes, random base64, a kubeconfig without a key", () => {
        const v = violations({
            cert: certPem,
            certB64: b64(certPem),
            certDerHex: Buffer.from(certPem.split("\n").filter((l) => !l.startsWith("-----")).join(""), "base64").toString("hex"),
            publicKey: ec.publicKey.export({ format: "pem", type: "spki" }).toString(),
            publicDerB64: b64(rsa.publicKey.export({ format: "der", type: "spki" })),
            publicJwk: ed.publicKey.export({ format: "jwk" }),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            random: b64(Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 256))),
            kubeconfig: yamlStringify({ ...kubeconfig("x"), users: [{ name: "u", user: { token: "abcdef.0123456789abcdef" } }] }),
            cloudInit: "#cloud-config\n" + yamlStringify({ write_files: [{ path: "/etc/kubernetes/pki/ca.crt", encoding: "b64", content: b64(certPem) }] }),
            keyPath: { "tls.key": "/etc/kubernetes/pki/apiserver.key", "client-key-data": "" },
        });
        assert.deepEqual(v, []);
    });

    it("decoding is bounded: a too-deep nesting, a huge output and a gzip bomb are reported as unscanned, not skipped", () => {
        let deep = pem(ec.privateKey);
        for (let i = 0; i < LIMITS.depth + 1; i++) deep = b64(deep);
        assert.match(violations({ deep })[0], /^stack output "deep" .*unscanned: more than 6 nested encodings/);
        let shallow = pem(ec.privateKey);
        for (let i = 0; i < LIMITS.depth - 1; i++) shallow = b64(shallow);
        assert.match(violations({ shallow })[0], /\(base64 → base64 → base64 → base64 → base64 → PEM\)/);
        assert.match(violations({ huge: "a".repeat(LIMITS.bytes + 1) })[0], /^stack output "huge" .*unscanned: over 4194304 bytes/);
        const bomb = b64(gzipSync(Buffer.alloc(LIMITS.bytes * 4)));
        assert.ok(bomb.length < 64 * 1024);
        assert.match(violations({ bomb })[0], /^stack output "bomb" .*base64 → gzip → unscanned: over 4194304 bytes/);
    });

    it("by provenance: a key of the stack's own tls PrivateKeys, inside a blob no decoder opens", () => {
        const key = pem(ec.privateKey);
        const body = key.split("\n").filter((l) => !l.startsWith("-----")).join("");
        const hexBlob = `00ff${der(ec.privateKey).toString("hex")}00ff`;
        const b64Blob = `QUJD${body}QUJD`;
        const other = [pem(rsa.privateKey), pem(ed.privateKey)];
        assert.deepEqual(violations({ hexBlob, b64Blob }), [], "no decoder opens these");
        const v = violations({ hexBlob, b64Blob, unrelated: "00ff".repeat(200) }, [], [...other, key]);
        assert.deepEqual(outputsNamed(v), ["hexBlob", "b64Blob"]);
        assert.match(v[0], /\(the hex DER of a key in the stack\)/);
        assert.match(v[1], /\(the base64 body of a key in the stack\)/);
        assert.deepEqual(violations({ hexBlob, b64Blob }, ["hexBlob", "b64Blob"], [key]), []);
    });

    it("one report per output, naming up to three places in it", () => {
        const files = Object.fromEntries(["ca.key", "sa.key"].map((f) => [f, { content: pem(ec.privateKey), mode: "0600" }]));
        assert.deepEqual(outputsNamed(violations({ files })), ["files.ca.key.content", "files.sa.key.content"]);
        const doc = yamlStringify(Object.fromEntries(["a", "b", "c", "d"].map((k) => [k, b64(pem(ec.privateKey))])));
        const v = violations({ doc });
        assert.equal(v.length, 1);
        assert.match(v[0], /\(YAML → base64 → PEM at a; YAML → base64 → PEM at b; YAML → base64 → PEM at c; \+1 more\)/);
    });
});
