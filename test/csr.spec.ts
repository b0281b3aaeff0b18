/**
 * The root's check of a cluster's intermediate CSR (root-link.ts csrProblems, csr.ts parseCsr), on real CSRs made
 * by the openssl CLI and by the tls emulator: a CSR whose kind, generation, subject, SANs, key or signature the
 * root's config does not allow is refused, naming the cluster and the field, before anything is registered.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClusterSigningPolicy, ConfigError, csrProblems, parseCsr, RootPki } from "../components/internal";
import { setupMocks } from "./support/tls-emulator";
import { clusterRequests } from "./support/root-flow";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-csr-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A CSR made by openssl: `key` is an openssl genpkey algorithm spec, `subj` the subject, `san` an optional SAN. */
function opensslCsr(name: string, key: string[], subj: string, san?: string): string {
    const keyFile = path.join(dir, `${name}.key`);
    execFileSync("openssl", ["genpkey", ...key, "-out", keyFile], { stdio: "pipe" });
    fs.chmodSync(keyFile, 0o600);
    const args = ["req", "-new", "-key", keyFile, "-subj", subj, ...(san ? ["-addext", `subjectAltName=${san}`] : [])];
    return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const EC = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
const policy: ClusterSigningPolicy = {
    stack: "organization/kube-pki/prod",
    cas: { ca: { commonName: "kubernetes-prod", generations: [0, 1], byCsr: [1], keyAlgorithms: ["ECDSA-P256", "RSA-2048"] } },
};
const check = (csrPem: string, ca = "ca", generation = 1) => csrProblems("prod", policy.stack, policy, ca, { generation, csrPem });

describe("CSR checks of the root stack (intermediates by CSR)", function () {
    it("parses an openssl CSR: subject, DNS SANs, key algorithm, valid self-signature", () => {
        const csr = parseCsr(opensslCsr("ok", EC, "/CN=kubernetes-prod", "DNS:kubernetes-prod"));
        assert.equal(csr.commonName, "kubernetes-prod");
        assert.deepEqual(csr.dnsNames, ["kubernetes-prod"]);
        assert.equal(csr.keyAlgorithm, "ECDSA-P256");
        assert.equal(csr.signatureValid, true);
        assert.equal(parseCsr(opensslCsr("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"], "/CN=x")).keyAlgorithm, "RSA-3072");
    });

    it("accepts exactly the CSR the policy describes", () => {
        assert.deepEqual(check(opensslCsr("good", EC, "/CN=kubernetes-prod", "DNS:kubernetes-prod")), []);
        assert.deepEqual(check(opensslCsr("good2", EC, "/CN=kubernetes-prod")), []);
    });

    it("refuses a CA kind or a generation the root does not sign for the cluster", () => {
        const pem = opensslCsr("kind", EC, "/CN=etcd-ca-prod");
        assert.match(check(pem, "etcd-ca").join("\n"), /clusters\[prod\] \(stack organization\/kube-pki\/prod\): intermediateRequests\.etcd-ca\[generation 1\]: CA kind "etcd-ca" is not allowed/);
        assert.match(check(opensslCsr("gen0", EC, "/CN=kubernetes-prod"), "ca", 0).join("\n"), /generation 0 is not requested by this root \(kube-pki:clusters\[\]\.generations\.ca lists 0, 1\)/);
    });

    it("refuses another subject, an extra subject attribute, an extra SAN", () => {
        assert.match(check(opensslCsr("cn", EC, "/CN=kubernetes-staging")).join("\n"), /prod.*subject is "CN=kubernetes-staging", the root signs only "CN=kubernetes-prod"/);
        assert.match(check(opensslCsr("o", EC, "/O=system:masters/CN=kubernetes-prod")).join("\n"), /subject is ".*CN=kubernetes-prod", the root signs only/);
        assert.match(check(opensslCsr("san", EC, "/CN=kubernetes-prod", "DNS:kubernetes-prod,DNS:evil.example")).join("\n"), /subjectAltName DNS names .*evil\.example are not allowed/);
        assert.match(check(opensslCsr("ip", EC, "/CN=kubernetes-prod", "IP:10.0.0.1")).join("\n"), /requests extensions the root does not sign/);
    });

    it("refuses a key the policy does not allow, and a CSR whose signature does not verify", () => {
        assert.match(check(opensslCsr("p384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], "/CN=kubernetes-prod")).join("\n"), /key ECDSA-P384 is not allowed \(kube-pki:clusters\[\]\.keyAlgorithms: ECDSA-P256, RSA-2048\)/);
        const pem = opensslCsr("tamper", EC, "/CN=kubernetes-prod");
        const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
        der[der.length - 3] ^= 0xff; // inside the signature
        const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
        assert.match(check(tampered).join("\n"), /signature does not verify with its own key \(no proof of possession\)/);
        assert.match(check("garbage").join("\n"), /not a certificate request/);
    });

    it("RootPki refuses the whole run on a bad CSR, naming cluster and field, before registering anything", async () => {
        setupMocks();
        const staging = await clusterRequests("staging", [{ caId: "ca", generation: 0 }]);
        const emu = setupMocks();
        // prod publishes staging's CSR (CN kubernetes-staging): refused
        assert.throws(
            () => new RootPki("r", { clusters: [{ name: "prod", cas: ["ca"] }], requests: { prod: staging.csrs } }),
            (e: unknown) => e instanceof ConfigError && /clusters\[prod\].*intermediateRequests\.ca\[generation 0\]: subject is "CN=kubernetes-staging"/.test(e.message),
        );
        assert.throws(() => new RootPki("r", { clusters: [{ name: "prod", cas: ["ca"] }], requests: { other: staging.csrs } }), /requests: cluster "other" is not in clusters/);
        assert.equal(emu.resources.length, 0);
    });
});
