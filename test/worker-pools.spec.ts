/**
 * Worker pools (TLS bootstrap): config validation, the token schedule, the token's format and randomness source,
 * and a ClusterPki with pools under mocks (the tls emulator makes real keys and certificates): the pool's tree
 * (bootstrap-kubelet.conf parses, carries the token and the CA bundle), the discovery hash checked against
 * openssl's SPKI of the CA, secrecy, and the memory the next run reads back.
 */
import { HOUR_MS } from "../components/time";
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { parse as parseYaml } from "yaml";
import {
    bootstrapTokenSecretData,
    clusterInfoKubeconfig,
    bootstrapTokenFromSeed,
    ClusterPki,
    ClusterPkiArgs,
    ConfigError,
    poolTokenSchedule,
    validateClusterPkiArgs,
} from "../components/internal";
import { problemsOf as problemsOfArgs } from "./support/problems";
import { setupMocks } from "./support/tls-emulator";
import { resolve, valueOf } from "./support/resolve";

const HOUR = HOUR_MS;

const baseArgs = (): ClusterPkiArgs => ({
    clusterName: "test",
    controlPlaneEndpoint: "api.test.example:6443",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
});

const problemsOf = (mutate: (a: any) => void): string[] => problemsOfArgs(baseArgs, mutate);

describe("worker pools: config", () => {
    it("a valid pool resolves with kubeadm's 24h token TTL, renewBefore a third of it, serverTLSBootstrap on", () => {
        const cfg = validateClusterPkiArgs({ ...baseArgs(), workerPools: [{ name: "general", labels: { "example.com/pool": "general" } }] });
        assert.deepEqual(cfg.workerPools, [
            {
                name: "general",
                tokenTtlHours: 24,
                tokenRenewBeforeHours: 8,
                serverTLSBootstrap: true,
                labels: { "example.com/pool": "general" },
                group: "system:bootstrappers:kube-pki:general",
            },
        ]);
    });

    const BAD: [string, (a: any) => void, string, RegExp][] = [
        ["duplicate pool names", (a) => (a.workerPools = [{ name: "gpu" }, { name: "gpu" }]), "workerPools[1].name", /duplicate pool name "gpu".*workerPools\[0\]/],
        ["a pool named like a node", (a) => (a.workerPools = [{ name: "worker-1" }]), "workerPools[0].name", /also a node's name.*rename the pool/],
        ["a token longer than the cluster CA", (a) => ((a.caValidity = "720h"), (a.leafValidity = "240h"), (a.workerPools = [{ name: "p", tokenTtl: "800h" }])), "workerPools[0].tokenTtl", /longer than caValidity \(720h\).*shorten tokenTtl/],
        ["an uppercase name", (a) => (a.workerPools = [{ name: "GPU" }]), "workerPools[0].name", /not a pool name: a DNS-1123 label/],
        ["a dotted name", (a) => (a.workerPools = [{ name: "a.b" }]), "workerPools[0].name", /DNS-1123 label/],
        ["a bad duration", (a) => (a.workerPools = [{ name: "p", tokenTtl: "1w" }]), "workerPools[0].tokenTtl", /not a duration/],
        ["renewBefore ≥ ttl", (a) => (a.workerPools = [{ name: "p", tokenTtl: "24h", tokenRenewBefore: "24h" }]), "workerPools[0].tokenRenewBefore", /shorter than tokenTtl/],
        ["a kubernetes.io label", (a) => (a.workerPools = [{ name: "p", labels: { "kubernetes.io/hostname": "x" } }]), 'workerPools[0].labels["kubernetes.io/hostname"]', /NodeRestriction/],
        ["a missing name", (a) => (a.workerPools = [{ tokenTtl: "24h" }]), "workerPools[0].name", /is required \(the pool's name/],
        ["an unknown field", (a) => (a.workerPools = [{ name: "p", ttl: "24h" }]), "workerPools[0]", /unknown field\(s\) "ttl"/],
    ];
    for (const [what, mutate, field, words] of BAD) {
        it(`refuses ${what}, naming ${field}`, () => {
            const problems = problemsOf(mutate);
            const hit = problems.find((p) => p.startsWith(`${field}: `) || p.startsWith(`${field} `));
            assert.ok(hit, `no problem names ${field}: ${JSON.stringify(problems)}`);
            assert.match(hit!, words);
        });
    }
});

describe("worker pools: token schedule", () => {
    const T0 = Date.UTC(2030, 0, 1);
    it("first run: generation 0 expiring at now + ttl", () => {
        const s = poolTokenSchedule({ nowMs: T0, ttlHours: 24, renewBeforeHours: 8 });
        assert.deepEqual(s.tokens, [{ generation: 0, expiration: "2030-01-02T00:00:00Z" }]);
        assert.equal(s.renewAtMs, T0 + 16 * HOUR);
        assert.equal(s.reason, undefined);
    });
    it("before expiration − renewBefore: the same token; at it: a new one, the old kept until it expires; then dropped", () => {
        const previous = [{ generation: 0, expiration: "2030-01-02T00:00:00Z" }];
        const before = poolTokenSchedule({ previous, nowMs: T0 + 16 * HOUR - 1000, ttlHours: 24, renewBeforeHours: 8 });
        assert.deepEqual(before.tokens, previous);
        const due = poolTokenSchedule({ previous, nowMs: T0 + 16 * HOUR, ttlHours: 24, renewBeforeHours: 8 });
        assert.deepEqual(due.tokens, [{ generation: 1, expiration: "2030-01-02T16:00:00Z" }, ...previous]);
        assert.match(due.reason!, /renewal window \(expiration 2030-01-02T00:00:00Z − tokenRenewBefore 8h = 2030-01-01T16:00:00Z\)/);
        const later = poolTokenSchedule({ previous: due.tokens, nowMs: T0 + 24 * HOUR + 1000, ttlHours: 24, renewBeforeHours: 8 });
        assert.deepEqual(later.tokens, [{ generation: 1, expiration: "2030-01-02T16:00:00Z" }]);
    });
    it("a run after the newest token expired: a new token at once, the expired one dropped", () => {
        const s = poolTokenSchedule({ previous: [{ generation: 3, expiration: "2030-01-02T00:00:00Z" }], nowMs: T0 + 48 * HOUR, ttlHours: 24, renewBeforeHours: 8 });
        assert.deepEqual(s.tokens, [{ generation: 4, expiration: "2030-01-04T00:00:00Z" }]);
    });
});

describe("worker pools: token format", () => {
    it("[a-z0-9]{6}.[a-z0-9]{16} (kubeadm's BootstrapTokenPattern), different for different seeds, stable for one", () => {
        const seen = new Set<string>();
        for (let i = 0; i < 200; i++) {
            const t = bootstrapTokenFromSeed(`seed-${i}`);
            assert.match(`${t.id}.${t.secret}`, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
            seen.add(t.id);
        }
        assert.equal(seen.size, 200);
        assert.deepEqual(bootstrapTokenFromSeed("x"), bootstrapTokenFromSeed("x"));
    });
});

describe("worker pools: cluster objects", () => {
    it("the bootstrap-token Secret data has kubeadm's keys (encodeTokenSecretData), base64", () => {
        const data = bootstrapTokenSecretData({ id: "abcdef", secret: "0123456789abcdef", expiration: "2030-01-02T00:00:00Z", extraGroups: ["system:bootstrappers:kube-pki:general"], description: "d" });
        const plain = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
        assert.deepEqual(plain, {
            "token-id": "abcdef",
            "token-secret": "0123456789abcdef",
            description: "d",
            expiration: "2030-01-02T00:00:00Z",
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token,system:bootstrappers:kube-pki:general",
        });
    });
    it("cluster-info holds one cluster named \"\" with the server and CA, and no user (kubeadm clusterinfo)", () => {
        const kc = parseYaml(clusterInfoKubeconfig("https://10.0.0.1:6443", "PEM"));
        assert.deepEqual(kc.clusters, [{ name: "", cluster: { "certificate-authority-data": Buffer.from("PEM").toString("base64"), server: "https://10.0.0.1:6443" } }]);
        assert.equal(kc.users, null);
    });
});

describe("worker pools: ClusterPki under mocks", function () {
    this.timeout(60_000);
    const args = (): ClusterPkiArgs => ({
        ...baseArgs(),
        now: "2030-01-01T00:00:00Z",
        workerPools: [{ name: "general" }, { name: "gpu", serverTLSBootstrap: false, labels: { "example.com/gpu": "true" } }],
    });

    it("writes the pool's tree, join command with openssl's SPKI hash, kubelet fragment; token secret; memory for the next run", async () => {
        setupMocks();
        const pki = new ClusterPki("t", args());
        assert.deepEqual(Object.keys(pki.workerPools).sort(), ["general", "gpu"]);
        assert.deepEqual(Object.keys(pki.nodeFiles.general).sort(), ["etc/kubernetes/bootstrap-kubelet.conf", "etc/kubernetes/pki/ca.crt"]);
        const ca = await valueOf(pki.caCertificates.ca);
        assert.equal(await valueOf(pki.nodeFiles.general["etc/kubernetes/pki/ca.crt"].content), ca);
        const conf = await resolve(pki.nodeFiles.general["etc/kubernetes/bootstrap-kubelet.conf"].content);
        assert.ok(conf.secret, "bootstrap-kubelet.conf must be a secret");
        assert.equal(pki.nodeFiles.general["etc/kubernetes/bootstrap-kubelet.conf"].mode, "0600");
        const kc = parseYaml(conf.value as string);
        assert.equal(kc.clusters[0].cluster.server, "https://api.test.example:6443");
        assert.equal(Buffer.from(kc.clusters[0].cluster["certificate-authority-data"], "base64").toString(), ca);
        assert.equal(kc.users[0].name, "tls-bootstrap-token-user");
        const token = kc.users[0].user.token as string;
        assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
        const gpuToken = parseYaml((await valueOf(pki.nodeFiles.gpu["etc/kubernetes/bootstrap-kubelet.conf"].content)) as string).users[0].user.token;
        assert.notEqual(gpuToken, token, "each pool has its own token");

        // the discovery hash, independently: openssl's DER SubjectPublicKeyInfo of the CA, sha256
        const spki = execFileSync("openssl", ["x509", "-noout", "-pubkey"], { input: ca });
        const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "DER"], { input: spki });
        const hash = execFileSync("openssl", ["dgst", "-sha256", "-hex"], { input: der }).toString().trim().split(/\s+/).pop();
        const join = await resolve(pki.workerPools.general.joinCommand);
        assert.ok(join.secret, "the join command holds the token: secret");
        assert.equal(join.value, `kubeadm join api.test.example:6443 --token ${token} --discovery-token-ca-cert-hash sha256:${hash}`);
        const jc = parseYaml((await valueOf(pki.workerPools.gpu.joinConfiguration)) as string);
        assert.deepEqual(jc.discovery.bootstrapToken.caCertHashes, [`sha256:${hash}`]);
        assert.deepEqual(jc.nodeRegistration.kubeletExtraArgs, [{ name: "node-labels", value: "example.com/gpu=true" }]);
        assert.equal(parseYaml(pki.workerPools.general.kubeletConfig).serverTLSBootstrap, true);
        assert.equal(parseYaml(pki.workerPools.gpu.kubeletConfig).serverTLSBootstrap, false);
        assert.equal(parseYaml(pki.workerPools.gpu.kubeletConfig).rotateCertificates, true);
        assert.equal(await valueOf(pki.workerPools.general.tokens[0].id), token.split(".")[0]);
        assert.ok((await resolve(pki.workerPools.general.tokens[0].secret)).secret);
        assert.deepEqual(pki.workerPoolTokens.general, [{ generation: 0, expiration: "2030-01-02T00:00:00Z" }]);
        assert.ok(pki.nextRotation.certificates.includes("pool-token/general"), JSON.stringify(pki.nextRotation));
        assert.equal(pki.nextRotation.at, "2030-01-01T16:00:00.000Z");
    });

    it("a run in the renewal window makes generation 1 for the files and keeps generation 0", async () => {
        setupMocks();
        const previous = {
            workerPoolTokens: { general: [{ generation: 0, expiration: "2030-01-02T00:00:00Z" }] },
            rotationTokens: { "admin.conf": "r0" },
            nextRotation: { clock: "2030-01-01T00:00:00Z" },
        };
        const pki = new ClusterPki("t", { ...args(), now: "2030-01-01T17:00:00Z", previous });
        const gens = pki.workerPools.general.tokens.map((t) => t.generation);
        assert.deepEqual(gens, [1, 0]);
        const [id1, id0] = await Promise.all(pki.workerPools.general.tokens.map((t) => valueOf(t.id)));
        assert.notEqual(id1, id0);
        const kc = parseYaml((await valueOf(pki.nodeFiles.general["etc/kubernetes/bootstrap-kubelet.conf"].content)) as string);
        assert.ok(kc.users[0].user.token.startsWith(`${id1}.`), "the files carry the newest token");
        assert.match(pki.rotationSummaryText, /pool-token\/general: renewal window/);
    });
});
