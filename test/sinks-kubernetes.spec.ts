/**
 * KubernetesSecrets sink under Pulumi mocks with a real ClusterPki (crypto-faithful tls emulator): what is
 * registered with the kubernetes provider (Secrets, ConfigMap, RBAC, the provider itself), secrecy, and bad args.
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, ConfigError } from "../components/internal";
import { kubeconfigProblems, KubernetesSecrets, KubernetesSecretsArgs, validatedKubeconfig } from "../components/sinks/secrets";
import { RecordedResource, setupMocks, TlsEmulator } from "./support/tls-emulator";
import { resolve, valueOf } from "./support/resolve";

const T = {
    provider: "pulumi:providers:kubernetes",
    secret: "kubernetes:core/v1:Secret",
    configMap: "kubernetes:core/v1:ConfigMap",
    crb: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    crbPatch: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBindingPatch",
};

const ARGS = {
    clusterName: "sinks",
    controlPlaneEndpoint: "api.sinks.example:6443",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    keyAlgorithm: "ECDSA-P256",
};

const dec = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
const isSecret = (v: any) => v?.[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
const settle = () => new Promise((r) => setTimeout(r, 100));

/** Waits until every registration of the run has answered (mocks resolve asynchronously). */
async function registered(emulator: TlsEmulator, c: KubernetesSecrets): Promise<void> {
    await Promise.all([
        valueOf(c.provider.urn),
        ...Object.values(c.secrets).map((s) => valueOf(s.urn)),
        ...Object.values(c.caKeySecrets).map((s) => valueOf(s.urn)),
        ...(c.trustBundle ? [valueOf(c.trustBundle.urn)] : []),
        ...(c.clusterAdminsBinding ? [valueOf(c.clusterAdminsBinding.urn)] : []),
        ...Object.values(c.groupBindings).map((s) => valueOf(s.urn)),
    ]);
    await settle();
    assert.ok(emulator.resources.length > 0);
}

describe("sinks: KubernetesSecrets under mocks with a real ClusterPki", function () {
    this.timeout(120_000);

    let emulator: TlsEmulator;
    let pki: ClusterPki;
    let sink: KubernetesSecrets;
    let expected: Record<string, { cert: string; key: string }>;
    let caPem: string;

    before(async () => {
        emulator = setupMocks();
        pki = new ClusterPki("sinks", ARGS);
        const leaves = ["apiserver/cp-1", "front-proxy-client/cp-1"];
        sink = new KubernetesSecrets("cluster", {
            kubeconfig: pki.kubeconfigs["admin.conf"],
            namespace: "pki-system",
            labels: { team: "platform", "example.com/tier": "infra" },
            certificates: leaves.map((id) => ({
                name: id.split("/")[0],
                certPem: pki.leaves[id].certPem,
                keyPem: pki.leaves[id].keyPem,
                caPem: pki.trustBundles[id.startsWith("front-proxy") ? "front-proxy-ca" : "ca"],
            })),
            trustBundle: {
                bundles: {
                    "ca.crt": pki.trustBundles.ca,
                    "etcd-ca.crt": pki.trustBundles["etcd-ca"],
                    "front-proxy-ca.crt": pki.trustBundles["front-proxy-ca"],
                },
            },
            rbac: { clusterAdmins: true, groupBindings: [{ group: "dev-team", clusterRole: "view" }] },
        });
        await registered(emulator, sink);
        expected = {};
        for (const id of leaves) {
            expected[id.split("/")[0]] = { cert: await valueOf(pki.leaves[id].certPem), key: await valueOf(pki.leaves[id].keyPem) };
        }
        caPem = await valueOf(pki.trustBundles.ca);
    });

    const secrets = () => emulator.byType(T.secret);

    it("the provider: kubeconfig (secret), a stable clusterIdentifier, mutable Secrets and ConfigMaps", async () => {
        const [p] = emulator.byType(T.provider);
        assert.ok(p, "a kubernetes provider");
        assert.equal(p.name, "cluster-k8s");
        assert.equal(p.inputs.clusterIdentifier, "kube-pki-cluster");
        assert.equal(String(p.inputs.enableSecretMutable), "true");
        assert.equal(String(p.inputs.enableConfigMapMutable), "true");
        assert.ok(isSecret(p.rawInputs.kubeconfig), "kubeconfig input is a secret");
        assert.equal(p.inputs.kubeconfig, await valueOf(pki.kubeconfigs["admin.conf"]));
        // every Kubernetes object goes through this provider
        for (const r of [...secrets(), ...emulator.byType(T.configMap), ...emulator.byType(T.crb), ...emulator.byType(T.crbPatch)]) {
            assert.ok(r.provider?.startsWith(p.mockUrn), `${r.name} uses the sink's provider`);
        }
    });

    it("kubernetes.io/tls Secrets with base64 data decoding to the real certificate, key and CA; data is secret", () => {
        assert.equal(secrets().length, 2);
        for (const [name, want] of Object.entries(expected)) {
            const s = secrets().find((r) => r.inputs.metadata.name === `kube-pki-${name}`) as RecordedResource;
            assert.ok(s, `Secret kube-pki-${name}`);
            assert.equal(s.name, `cluster-tls-${name}`, "stable resource name");
            assert.equal(s.inputs.type, "kubernetes.io/tls");
            assert.equal(s.inputs.metadata.namespace, "pki-system");
            assert.deepEqual(s.inputs.metadata.labels, {
                "app.kubernetes.io/managed-by": "pulumi",
                "app.kubernetes.io/part-of": "kube-pki",
                team: "platform",
                "example.com/tier": "infra",
                "kube-pki.io/kind": "certificate",
            });
            // deleted with background propagation: no wait for the garbage collector's foreground finalizer
            assert.deepEqual(s.inputs.metadata.annotations, { "pulumi.com/deletionPropagationPolicy": "background" });
            assert.equal(s.inputs.stringData, undefined, "data, never stringData");
            assert.deepEqual(Object.keys(s.inputs.data).sort(), ["ca.crt", "tls.crt", "tls.key"]);
            assert.equal(dec(s.inputs.data["tls.crt"]), want.cert);
            assert.equal(dec(s.inputs.data["tls.key"]), want.key);
            // the key matches the certificate
            const certKey = new crypto.X509Certificate(want.cert).publicKey.export({ type: "spki", format: "der" });
            const key = crypto.createPublicKey(dec(s.inputs.data["tls.key"])).export({ type: "spki", format: "der" });
            assert.ok(certKey.equals(key));
            const ca = dec(s.inputs.data["ca.crt"]);
            assert.ok(new crypto.X509Certificate(want.cert).checkIssued(new crypto.X509Certificate(ca)), "ca.crt issued tls.crt");
            assert.ok(isSecret(s.rawInputs.data), "Secret data is a secret input");
            assert.ok(!JSON.stringify(s.rawInputs).includes("PRIVATE KEY"), "no plaintext key outside the secret");
        }
        const apiserver = secrets().find((r) => r.inputs.metadata.name === "kube-pki-apiserver")!;
        assert.equal(dec(apiserver.inputs.data["ca.crt"]), caPem);
    });

    it("the trust-bundle ConfigMap: every CA by key, default name, never kube-root-ca.crt", async () => {
        const cms = emulator.byType(T.configMap);
        assert.equal(cms.length, 1);
        const cm = cms[0];
        assert.equal(cm.inputs.metadata.name, "kube-pki-trust-bundle");
        assert.equal(cm.inputs.metadata.namespace, "pki-system");
        assert.equal(cm.inputs.metadata.labels["kube-pki.io/kind"], "trust-bundle");
        assert.equal(cm.inputs.metadata.annotations["pulumi.com/deletionPropagationPolicy"], "background");
        assert.deepEqual(Object.keys(cm.inputs.data).sort(), ["ca.crt", "etcd-ca.crt", "front-proxy-ca.crt"]);
        assert.equal(cm.inputs.data["ca.crt"], caPem);
        assert.equal(cm.inputs.data["etcd-ca.crt"], await valueOf(pki.trustBundles["etcd-ca"]));
        assert.ok(!isSecret(cm.rawInputs.data), "CA certificates are public");
    });

    it("RBAC: kubeadm:cluster-admins exactly like kubeadm (patch, retained on delete) and group bindings", () => {
        const [patch] = emulator.byType(T.crbPatch);
        assert.ok(patch);
        assert.deepEqual(patch.inputs.metadata, { name: "kubeadm:cluster-admins" });
        assert.deepEqual(patch.inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" });
        assert.deepEqual(patch.inputs.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "kubeadm:cluster-admins" }]);
        const crbs = emulator.byType(T.crb);
        assert.equal(crbs.length, 1);
        assert.equal(crbs[0].inputs.metadata.name, "kube-pki-view:dev-team");
        assert.equal(crbs[0].inputs.metadata.annotations["pulumi.com/deletionPropagationPolicy"], "background");
        assert.deepEqual(crbs[0].inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" });
        assert.deepEqual(crbs[0].inputs.subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "dev-team" }]);
    });

    it("CA keys: none unless asked; a kubernetes.io/tls Secret with the CA pair when asked", async () => {
        assert.ok(!secrets().some((s) => s.inputs.metadata.labels["kube-pki.io/kind"] === "ca-key"));
        assert.ok(!secrets().some((s) => dec(s.inputs.data["tls.crt"]) === caPem), "no CA certificate as tls.crt");
        const withCa = new KubernetesSecrets("issuer", {
            kubeconfig: pki.kubeconfigs["admin.conf"],
            namespace: "cert-manager",
            certificates: [],
            caKeys: [{ name: "ca", certPem: pki.caCertificates.ca, keyPem: pki.cas.ca!.keyPem }],
        });
        await registered(emulator, withCa);
        const s = secrets().find((r) => r.name === "issuer-ca-key-ca")!;
        assert.ok(s);
        assert.equal(s.inputs.metadata.name, "kube-pki-ca");
        assert.equal(s.inputs.metadata.namespace, "cert-manager");
        assert.equal(s.inputs.type, "kubernetes.io/tls");
        assert.equal(dec(s.inputs.data["tls.crt"]), caPem);
        assert.equal(dec(s.inputs.data["tls.key"]), await valueOf(pki.cas.ca!.keyPem));
        assert.ok(isSecret(s.rawInputs.data));
        const [, p2] = emulator.byType(T.provider);
        assert.equal(p2.inputs.clusterIdentifier, "kube-pki-issuer");
    });

    it("the admin.conf kubeconfig passes the kubeconfig check", async () => {
        assert.deepEqual(kubeconfigProblems(await valueOf(pki.kubeconfigs["admin.conf"])), []);
    });

    it("bad args throw a ConfigError naming the field, before anything is registered", async () => {
        const count = emulator.resources.length;
        const base: KubernetesSecretsArgs = {
            kubeconfig: pki.kubeconfigs["admin.conf"],
            certificates: [{ name: "apiserver", certPem: "c", keyPem: pulumi.secret("k"), caPem: "a" }],
        };
        const cases: [string, Partial<KubernetesSecretsArgs>, RegExp][] = [
            ["namespace", { namespace: "Kube_System" }, /namespace: "Kube_System" is not a DNS-1123 label/],
            ["long namespace", { namespace: "a".repeat(64) }, /namespace: /],
            ["kubeconfig yaml", { kubeconfig: "clusters: [unclosed" }, /kubeconfig: does not parse as YAML/],
            ["kubeconfig path", { kubeconfig: "/home/me/.kube/config" }, /kubeconfig: not a kubeconfig document/],
            ["kubeconfig clusters", { kubeconfig: "apiVersion: v1\nkind: Config\nusers: [{name: a, user: {}}]\n" }, /kubeconfig: has no clusters/],
            ["kubeconfig users", { kubeconfig: "clusters: [{name: c, cluster: {server: 'https://x'}}]\n" }, /kubeconfig: has no users/],
            ["root ca name", { trustBundle: { name: "kube-root-ca.crt", bundles: { "ca.crt": "x" } } }, /trustBundle\.name: kube-root-ca\.crt is owned by kube-controller-manager/],
            ["bundle key", { trustBundle: { bundles: { "ca/crt": "x" } } }, /trustBundle\.bundles\["ca\/crt"\]/],
            ["duplicate", { caKeys: [{ name: "apiserver", certPem: "c", keyPem: "k" }] }, /caKeys\[0\]\.name: Secret "kube-pki-apiserver" is also named by certificates\[0\]\.name/],
            ["secret name", { certificates: [{ name: "Bad_Name", certPem: "c", keyPem: "k", caPem: "a" }] }, /certificates\[0\]\.name: "kube-pki-Bad_Name" is not a valid object name/],
            ["label", { labels: { "bad key!": "x" } }, /labels\["bad key!"\]: key/],
            ["binding", { rbac: { groupBindings: [{ group: "a/b", clusterRole: "view" }] } }, /rbac\.groupBindings\[0\]\.group/],
        ];
        for (const [what, patch, re] of cases) {
            assert.throws(
                () => new KubernetesSecrets(`bad-${what.replace(/\W+/g, "-")}`, { ...base, ...patch } as KubernetesSecretsArgs),
                (e: unknown) => e instanceof ConfigError && re.test(e.message),
                what,
            );
        }
        // several problems are reported at once
        assert.throws(
            () => new KubernetesSecrets("bad-all", { ...base, namespace: "X", kubeconfig: "nope: 1" }),
            (e: unknown) => e instanceof ConfigError && /namespace/.test(e.message) && /kubeconfig/.test(e.message),
        );
        await settle();
        assert.equal(emulator.resources.length, count, "nothing registered");
    });

    it("an Output kubeconfig is validated when it resolves (what the provider gets), failing with a ConfigError naming kubeconfig", async () => {
        const bad = validatedKubeconfig(pulumi.secret(pulumi.output("not a kubeconfig")), "KubernetesSecrets \"late\" args");
        await assert.rejects(valueOf(bad), (e: unknown) => e instanceof ConfigError && /kubeconfig: not a kubeconfig document/.test(e.message));
        const good = validatedKubeconfig(pki.kubeconfigs["admin.conf"], "x");
        const r = await resolve(good);
        assert.equal(r.value, await valueOf(pki.kubeconfigs["admin.conf"]));
        assert.equal(r.secret, true);
    });
});
