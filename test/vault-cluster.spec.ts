/**
 * ClusterPki with a CA in Vault mode (emulated Vault PKI engine with real crypto): the stack config switch
 * `vault: {ca: {...}}` is the only change; certificates chain local root → Vault intermediate → leaf.
 */
import { strict as assert } from "node:assert";
import { ClusterPki, ClusterPkiArgs } from "../components/internal";
import { setupMocks } from "./support/tls-emulator";
import { registerVault } from "./support/vault-emulator";
import { opensslText, opensslVerify, parseCert } from "./support/x509";
import { valueOf, valuesOf } from "./support/resolve";

const ARGS: ClusterPkiArgs = {
    clusterName: "vlt",
    controlPlaneEndpoint: "api.vlt.example",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    users: [{ name: "alice", group: "dev-team" }],
    keyAlgorithm: "ECDSA-P256",
};

const pems = (s: string) => s.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

async function build(vault: NonNullable<ClusterPkiArgs["vault"]>) {
    registerVault(setupMocks());
    const pki = new ClusterPki("vlt", { ...ARGS, vault: { address: "https://vault.example:8200", ...vault } });
    const files: Record<string, string> = await valuesOf(
        Object.fromEntries(Object.entries(pki.nodeFiles["cp-1"]).map(([p, f]) => [p, f.content])),
    );
    return { pki, files, kubeconfigs: await valuesOf(pki.kubeconfigs) };
}

describe("ClusterPki with the cluster CA in Vault", function () {
    it("internal key: leaves issued by Vault chain root → intermediate → leaf; no ca.key (kubeadm external-CA mode)", async () => {
        const { pki, files, kubeconfigs } = await build({ ca: { mountPath: "pki-kubernetes", keyMode: "internal" } });
        const bundle = pems(files["etc/kubernetes/pki/ca.crt"]);
        assert.equal(bundle.length, 2, "ca.crt = intermediate + its root");
        const [intermediate, root] = bundle as [string, string];
        assert.equal(parseCert(intermediate).subjectCN, "kubernetes");
        assert.equal(parseCert(root).subjectCN, "kubernetes-root");
        assert.ok(!("etc/kubernetes/pki/ca.key" in files), "internal: the key never leaves Vault");
        assert.ok("etc/kubernetes/pki/etcd/ca.key" in files, "other CAs stay local");
        const apiserver = files["etc/kubernetes/pki/apiserver.crt"];
        const v = await opensslVerify([root], apiserver, [intermediate]);
        assert.ok(v.ok, v.output);
        const c = parseCert(apiserver);
        assert.equal(c.subjectCN, "kube-apiserver");
        assert.deepEqual([...c.extKeyUsage], ["server_auth"]);
        assert.ok(c.ipAddresses.includes("10.96.0.1") && c.dnsNames.includes("kubernetes.default.svc.cluster.local"));
        const admin = parseCert(Buffer.from(/client-certificate-data: (\S+)/.exec(kubeconfigs["admin.conf"])![1], "base64").toString());
        assert.equal(admin.subjectCN, "kubernetes-admin");
        assert.deepEqual([...admin.subjectO], ["kubeadm:cluster-admins"]);
        const alice = parseCert(Buffer.from(/client-certificate-data: (\S+)/.exec(kubeconfigs["users/alice.conf"])![1], "base64").toString());
        assert.deepEqual([alice.subjectCN, ...alice.subjectO], ["alice", "dev-team"]);
        assert.ok(pki.vaultRoles.ca, "roles derived from the catalog");
        // etcd leaves are still local and unaffected
        assert.ok((await opensslVerify([files["etc/kubernetes/pki/etcd/ca.crt"]], files["etc/kubernetes/pki/etcd/server.crt"])).ok);
        const inv = await valueOf(pki.inventory);
        assert.ok(inv.find((e) => e.id === "apiserver")!.notAfter);
    });

    it("exported key with local leaves: ca.key is the intermediate's key and leaves are signed locally", async () => {
        const { pki, files } = await build({ ca: { mountPath: "pki-kubernetes", keyMode: "exported", leaves: "local" } });
        assert.ok(files["etc/kubernetes/pki/ca.key"].includes("PRIVATE KEY"));
        assert.equal(pki.vaultRoles.ca, undefined);
        const [intermediate, root] = pems(files["etc/kubernetes/pki/ca.crt"]) as [string, string];
        assert.ok((await opensslVerify([root], files["etc/kubernetes/pki/apiserver.crt"], [intermediate])).ok);
    });

    it("the local root that signs the Vault intermediate is capped at pathlen:1 (openssl), and still verifies the chain", async () => {
        const { files } = await build({ ca: { mountPath: "pki-kubernetes", keyMode: "internal" } });
        const [intermediate, root] = pems(files["etc/kubernetes/pki/ca.crt"]) as [string, string];
        assert.match(opensslText(root), /CA:TRUE, pathlen:1\n/, "the root can sign one CA level: the Vault intermediate");
        assert.equal(parseCert(root).pathLen, 1);
        assert.ok((await opensslVerify([root], files["etc/kubernetes/pki/apiserver.crt"], [intermediate])).ok);
    });

    it("trust: vault: the trust bundles carry only the Vault intermediate, not the local root whose key is in the state", async () => {
        const { pki, files } = await build({ ca: { mountPath: "pki-kubernetes", keyMode: "internal", trust: "vault" } as any });
        const bundle = pems(files["etc/kubernetes/pki/ca.crt"]);
        assert.equal(bundle.length, 1, "ca.crt = the intermediate alone");
        assert.equal(parseCert(bundle[0]).subjectCN, "kubernetes");
        assert.equal(pems(await valueOf(pki.trustBundles.ca)).length, 1);
        assert.ok(!("etc/kubernetes/pki/ca.key" in files));
        const leaf = files["etc/kubernetes/pki/apiserver.crt"];
        const v = await opensslVerify(bundle, leaf, undefined, { partialChain: true });
        assert.ok(v.ok, v.output);
        assert.ok(!(await opensslVerify(bundle, leaf)).ok, "without -partial_chain openssl wants the root: the bundle really lacks it");
    });

    it("bad Vault config is refused at preview with the field named", () => {
        registerVault(setupMocks());
        assert.throws(
            () => new ClusterPki("vlt", { ...ARGS, vault: { address: "https://v:8200", ca: { mountPath: "pki", keyMode: "internal", leaves: "local" } } }),
            /vault\.ca\.leaves/,
        );
        assert.throws(
            () => new ClusterPki("vlt", { ...ARGS, vault: { address: "https://v:8200", ca: { mountPath: "pki", keyMode: "secret" } } }),
            /vault\.ca\.keyMode/,
        );
        assert.throws(
            () => new ClusterPki("vlt", { ...ARGS, vault: { address: "https://v:8200", ca: { mountPath: "pki" }, "etcd-ca": { mountPath: "pki" } } }),
            /collides/,
        );
        assert.throws(
            () => new ClusterPki("vlt", { ...ARGS, vault: { address: "https://v:8200", ca: { mountPath: "pki", trust: "root" } as any } }),
            /vault\.ca\.trust: "root" is not one of chain, vault/,
        );
    });
});
