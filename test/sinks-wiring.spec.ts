/** buildSinks: stack-config-shaped sink settings → NodeFiles, cloud-init and KubernetesSecrets for a real ClusterPki. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ClusterPki, ConfigError } from "../components/internal";
import { buildSinks, nodeFilesProvider, SinksConfig } from "../components/sinks";
import { setupMocks, TlsEmulator } from "./support/tls-emulator";
import { resolve, valueOf } from "./support/resolve";

const ARGS = {
    clusterName: "wired",
    controlPlaneEndpoint: "api.wired.example:6443",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "w-1", addresses: ["10.0.1.21"] }],
    keyAlgorithm: "ECDSA-P256",
};

describe("sinks: buildSinks (program wiring)", function () {
    this.timeout(120_000);
    let emulator: TlsEmulator;
    let pki: ClusterPki;
    let root: string;

    before(() => {
        emulator = setupMocks();
        emulator.register("pulumi-nodejs:dynamic:NodeFiles", async (ctx) => {
            const r = await nodeFilesProvider.create(ctx.inputs);
            return { id: r.id, state: r.outs };
        });
        pki = new ClusterPki("wired", ARGS);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-wired-"));
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("builds every configured sink from ClusterPki outputs", async () => {
        const cfg: SinksConfig = {
            nodeFilesRoot: path.join(root, "nodes"),
            cloudInit: true,
            secretsSink: {
                certificates: ["front-proxy-client/cp-1", "admin.conf"],
                caKeys: ["ca"],
                clusterAdmins: true,
                groupBindings: [{ group: "dev-team", clusterRole: "view" }],
            },
        };
        const sinks = buildSinks("wired", pki, cfg);
        assert.deepEqual(Object.keys(sinks.nodeFiles).sort(), ["cp-1", "w-1"]);
        assert.deepEqual(Object.keys(sinks.cloudInit).sort(), ["cp-1", "w-1"]);
        for (const node of ["cp-1", "w-1"]) {
            const hashes = await valueOf(sinks.nodeFiles[node].hashes);
            assert.deepEqual(Object.keys(hashes).sort(), Object.keys(pki.nodeFiles[node]).sort());
        }
        assert.ok(fs.existsSync(path.join(root, "nodes/cp-1/etc/kubernetes/pki/ca.key")));
        assert.equal((await resolve(sinks.cloudInit["cp-1"])).secret, true);
        await valueOf(sinks.secrets!.provider.urn);
        await new Promise((r) => setTimeout(r, 100));
        const secrets = emulator.byType("kubernetes:core/v1:Secret");
        const byName = Object.fromEntries(secrets.map((s) => [s.inputs.metadata.name, s]));
        assert.deepEqual(Object.keys(byName).sort(), ["kube-pki-admin.conf", "kube-pki-ca", "kube-pki-front-proxy-client-cp-1"]);
        const dec = (b: string) => Buffer.from(b, "base64").toString("utf8");
        assert.equal(dec(byName["kube-pki-front-proxy-client-cp-1"].inputs.data["ca.crt"]), await valueOf(pki.trustBundles["front-proxy-ca"]));
        assert.equal(dec(byName["kube-pki-admin.conf"].inputs.data["ca.crt"]), await valueOf(pki.trustBundles.ca));
        const [cm] = emulator.byType("kubernetes:core/v1:ConfigMap");
        assert.deepEqual(Object.keys(cm.inputs.data).sort(), ["ca.crt", "etcd-ca.crt", "front-proxy-ca.crt"]);
        const [provider] = emulator.byType("pulumi:providers:kubernetes");
        assert.equal(provider.inputs.kubeconfig, await valueOf(pki.kubeconfigs["admin.conf"]));
    });

    it("refuses unknown certificates, CAs, kubeconfigs and fields, naming the stack config key", () => {
        const bad: SinksConfig = {
            nodeFilesRoot: " ",
            secretsSink: { kubeconfig: "nope.conf", certificates: ["apiserver/cp-9"], caKeys: ["sa"], extra: 1 } as any,
        };
        assert.throws(
            () => buildSinks("bad", pki, bad),
            (e: unknown) =>
                e instanceof ConfigError &&
                [
                    /kube-pki:nodeFilesRoot: must be a directory path/,
                    /kube-pki:secretsSink\.kubeconfig: "nope\.conf" is not one of the kubeconfigs/,
                    /kube-pki:secretsSink\.certificates\[0\]: "apiserver\/cp-9" is not a certificate/,
                    /kube-pki:secretsSink\.caKeys\[0\]: "sa" is not a CA/,
                    /kube-pki:secretsSink\.extra: unknown field/,
                ].every((re) => re.test(e.message)),
        );
    });
});
