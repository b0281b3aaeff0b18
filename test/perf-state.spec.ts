/**
 * What a per-node fleet puts into the state (docs/performance.md, "Per-node fleets"): the file backend rewrites the
 * whole state after every step, so every byte recorded per node is written ~2× per resource of an up. The
 * project's program runs under the tls emulator (real ECDSA keys and X.509 certificates) with the NodeFiles sink;
 * what the components record (RegisterResourceOutputs, as the engine stores it) and what the stack exports are
 * checked: no component repeats a certificate or a private key its children hold, and the stack outputs do not
 * repeat the contents of the trees the sink writes. Without the sink the outputs are unchanged (the API).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { TlsEmulator } from "./support/tls-emulator";
import { valueOf } from "./support/resolve";

const CONFIG = {
    "kube-pki:clusterName": "fleet",
    "kube-pki:controlPlaneEndpoint": "api.fleet.example:6443",
    "kube-pki:controlPlanes": JSON.stringify([{ name: "cp-1", advertiseAddress: "10.0.0.11" }]),
    "kube-pki:workers": JSON.stringify([
        { name: "worker-1", addresses: ["10.0.1.1"] },
        { name: "worker-2", addresses: ["10.0.1.2"] },
    ]),
    "kube-pki:users": JSON.stringify([{ name: "alice", group: "dev-team" }]),
    "kube-pki:keyAlgorithm": "ECDSA-P256",
    "kube-pki:caKeyAlgorithm": "ECDSA-P256",
};

describe("per-node state: what components record and what the stack exports", function () {
    this.timeout(120_000);
    let em: TlsEmulator;
    let run = 0;
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-perf-state-"))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** One run of the project's program on a new stack; returns its outputs (resolved) and the recorded component outputs by type. */
    async function runProgram(config: Record<string, string>) {
        const stack = `fleet-${++run}`;
        em = new TlsEmulator();
        void pulumi.runtime.setMocks(em, "kube-pki", stack, false, "organization");
        (em as any).hookMonitor();
        em.beginRun();
        em.setStackOutputs(`organization/kube-pki/${stack}`, {});
        pulumi.runtime.setAllConfig(config);
        const monitor: any = pulumi.runtime.getMonitor();
        const recorded: { type: string; name: string; outputs: Record<string, unknown> }[] = [];
        const original = monitor.registerResourceOutputs;
        monitor.registerResourceOutputs = (req: any, callback: any) => {
            const urn: string = req.getUrn();
            const parts = urn.split("::");
            const type = parts[2].split("$").pop()!;
            recorded.push({ type, name: parts[3], outputs: req.getOutputs()?.toJavaScript() ?? {} });
            return original.call(monitor, req, callback);
        };
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require("../index") as () => Promise<Record<string, unknown>>;
        const raw = await program();
        const outputs: Record<string, any> = {};
        for (const [k, v] of Object.entries(raw)) outputs[k] = pulumi.Output.isInstance(v) ? await valueOf(v) : await valueOf(pulumi.output(v) as pulumi.Output<unknown>);
        await (pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> }).waitForRPCs();
        return { outputs, recorded };
    }

    it("LeafCertificate and CertificateAuthority record notAfter only; NodeFiles its directory; no component output holds a PEM", async () => {
        const { recorded } = await runProgram({ ...CONFIG, "kube-pki:nodeFilesRoot": path.join(tmp, "a") });
        const of = (type: string) => recorded.filter((r) => r.type === `kube-pki:index:${type}`);
        assert.ok(of("LeafCertificate").length >= 10, `${of("LeafCertificate").length} leaves`);
        for (const r of of("LeafCertificate")) assert.deepEqual(Object.keys(r.outputs), ["notAfter"], r.name);
        assert.ok(of("CertificateAuthority").length >= 3);
        for (const r of of("CertificateAuthority")) assert.deepEqual(Object.keys(r.outputs), ["notAfter"], r.name);
        assert.equal(of("NodeFiles").length, 3);
        for (const r of of("NodeFiles")) assert.deepEqual(Object.keys(r.outputs), ["directory"], r.name);
        for (const r of recorded) {
            const text = JSON.stringify(r.outputs);
            assert.doesNotMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${r.type} ${r.name} records a private key`);
            if (r.type !== "kube-pki:index:ClusterPki") assert.doesNotMatch(text, /-----BEGIN CERTIFICATE-----/, `${r.type} ${r.name} records a certificate`);
        }
    });

    it("with the NodeFiles sink: the stack names each tree and its hashes, keeps the cluster-wide kubeconfigs, and repeats no node contents", async () => {
        const root = path.join(tmp, "b");
        const { outputs } = await runProgram({ ...CONFIG, "kube-pki:nodeFilesRoot": root });
        assert.equal(outputs.nodeFiles, undefined, "every node's tree is on disk: no nodeFiles output");
        assert.deepEqual(outputs.nodeDirectories, { "cp-1": path.join(root, "cp-1"), "worker-1": path.join(root, "worker-1"), "worker-2": path.join(root, "worker-2") });
        assert.ok("admin.conf" in outputs.kubeconfigs && "users/alice.conf" in outputs.kubeconfigs, Object.keys(outputs.kubeconfigs).join(", "));
        assert.ok(!Object.keys(outputs.kubeconfigs).some((k) => /^(cp-1|worker-\d)\//.test(k)), Object.keys(outputs.kubeconfigs).join(", "));
        // the admin kubeconfig is a real one: its client certificate parses as X.509
        const admin = String(outputs.kubeconfigs["admin.conf"]);
        const certB64 = /client-certificate-data: (\S+)/.exec(admin)?.[1];
        assert.ok(certB64, "admin.conf has client-certificate-data");
        assert.match(new crypto.X509Certificate(Buffer.from(certB64, "base64")).subject, /CN=kubernetes-admin/);
        // the outputs hold no node's key material at all
        const text = JSON.stringify({ ...outputs, kubeconfigs: undefined });
        assert.doesNotMatch(text, /PRIVATE KEY/);
    });

    it("without a local sink the outputs are as before: every node's files and kubeconfigs", async () => {
        const { outputs } = await runProgram(CONFIG);
        assert.deepEqual(Object.keys(outputs.nodeFiles).sort(), ["cp-1", "worker-1", "worker-2"]);
        assert.ok(outputs.nodeFiles["worker-1"]["etc/kubernetes/kubelet.conf"].content.includes("client-key-data"));
        assert.ok("worker-1/kubelet.conf" in outputs.kubeconfigs && "cp-1/kubelet.conf" in outputs.kubeconfigs && "admin.conf" in outputs.kubeconfigs);
        assert.equal(outputs.nodeDirectories, undefined);
    });
});
