/**
 * Multi-stack: a cluster stack generates its intermediate keys and publishes CSRs (IntermediateRequests); the root
 * stack (RootPki) signs them; the cluster stack reads the certificates (StackReference, mocked with the root's real
 * outputs) and issues its leaves under them. No private key crosses between the two.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import {
    checkRootOutputs,
    ClusterPki,
    ClusterPkiArgs,
    ConfigError,
    MEMORY_OUTPUT,
    memoryOf,
    planIntermediates,
    readPreviousRootIntermediates,
    readRootStack,
    RootPki,
    RootPkiArgs,
} from "../components/internal";
import { setupMocks } from "./support/tls-emulator";
import { opensslVerify, parseCert } from "./support/x509";
import { valueOf, valuesOf } from "./support/resolve";

import { clusterRequests, rootOutputs } from "./support/root-flow";

const ALL = (gens: Record<string, number[]> = {}) =>
    ["ca", "etcd-ca", "front-proxy-ca"].flatMap((caId) => (gens[caId] ?? [0]).map((generation) => ({ caId, generation })));

const CLUSTER: ClusterPkiArgs = {
    clusterName: "dev",
    controlPlaneEndpoint: "api.dev.example",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    keyAlgorithm: "ECDSA-P256",
};

const KEYS = { ca: "ECDSA-P256", "etcd-ca": "ECDSA-P256", "front-proxy-ca": "ECDSA-P256" };

describe("multi-stack: intermediates by CSR (root stack + cluster stacks)", function () {
    let out: Awaited<ReturnType<typeof rootOutputs>>;
    let em: ReturnType<typeof setupMocks>;
    let dev: Awaited<ReturnType<typeof clusterRequests>>;
    let prod: Awaited<ReturnType<typeof clusterRequests>>;
    const planFor = (cluster: string, reqs: typeof dev, o = out) =>
        planIntermediates("root", checkRootOutputs("root", cluster, o.rootCertificate, o.signingPolicy, o.intermediates), KEYS, reqs.csrs, (ca, g) => pulumi.secret(reqs.keys[`${ca}/${g}`]));

    before(async () => {
        em = setupMocks();
        dev = await clusterRequests("dev", ALL({ ca: [0, 1] }));
        prod = await clusterRequests("prod", [{ caId: "ca", generation: 0 }]);
        const root = new RootPki("root", {
            keyAlgorithm: "ECDSA-P384",
            clusters: [{ name: "dev", generations: { ca: [0, 1] } }, { name: "prod", cas: ["ca"] }],
            requests: { dev: dev.csrs, prod: prod.csrs },
        });
        out = await rootOutputs(root);
    });

    it("the root signs each cluster's CSR: a CA with the cluster's own public key, chained to the root (pathlen 1)", async () => {
        const root = parseCert(out.rootCertificate);
        assert.equal(root.isCA, true);
        assert.equal(root.pathLen, 1);
        assert.equal(root.subjectCN, "kube-pki root CA");
        const inter = parseCert(out.intermediates.dev.ca[0].certPem);
        assert.equal(inter.isCA, true);
        assert.equal(inter.subjectCN, "kubernetes-dev");
        assert.equal(inter.issuerCN, "kube-pki root CA");
        assert.ok((await opensslVerify([out.rootCertificate], out.intermediates.dev.ca[0].certPem)).ok);
        assert.deepEqual(Object.keys(out.intermediates.dev).sort(), ["ca", "etcd-ca", "front-proxy-ca"]);
        assert.deepEqual(Object.keys(out.intermediates.prod), ["ca"]);
        assert.deepEqual(out.intermediates.dev.ca.map((i) => i.generation), [0, 1]);
        const { X509Certificate, createPublicKey } = await import("node:crypto");
        for (const [ca, g] of [["ca", 0], ["ca", 1], ["etcd-ca", 0]] as const) {
            const cert = new X509Certificate(out.intermediates.dev[ca].find((i) => i.generation === g)!.certPem);
            const own = createPublicKey(dev.keys[`${ca}/${g}`]).export({ type: "spki", format: "der" });
            assert.deepEqual(cert.publicKey.export({ type: "spki", format: "der" }), own, `${ca}/${g} certifies the cluster's own key`);
        }
    });

    it("no private key crosses: the root's outputs hold no key, and the root registers no key but its own", () => {
        assert.ok(!JSON.stringify(out).includes("PRIVATE KEY"), "no PEM private key in the root's outputs");
        assert.ok(Object.values(out.intermediates).every((cas) => Object.values(cas).every((l) => l.every((i) => !("keyPem" in i)))));
        const rootKeys = em.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey" && r.name.startsWith("root-"));
        assert.deepEqual(rootKeys.map((r) => r.name), ["root-root-key"]);
        assert.ok(!JSON.stringify(dev.csrs).includes("PRIVATE KEY"), "the cluster publishes CSRs only");
    });

    it("the root publishes what each cluster may request (signingPolicy); a cluster reads it and its certificates through a StackReference", async () => {
        assert.deepEqual(out.signingPolicy.prod, {
            stack: "organization/kube-pki/prod",
            cas: { ca: { commonName: "kubernetes-prod", generations: [0], byCsr: [0], keyAlgorithms: ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"] } },
        });
        em.setStackOutputs("organization/kube-pki/root", out);
        const material = await readRootStack("organization/kube-pki/root", "dev");
        assert.equal(material.rootCertificate.trim(), out.rootCertificate.trim());
        assert.deepEqual(material.issued.ca.map((i) => i.generation), [0, 1]);
    });

    it("leaves chain root → intermediate → leaf, the node's ca.key is the cluster's own key, only within the cluster", async () => {
        const plan = planFor("dev", dev);
        assert.deepEqual(plan.unsigned, []);
        assert.deepEqual(plan.requests.length, 4);
        setupMocks({ emulator: em });
        const pki = new ClusterPki("dev", { ...CLUSTER, externalCas: plan.externalCas });
        const apiserver = await valueOf(pki.leaves["apiserver/cp-1"].certPem);
        const etcd = await valueOf(pki.leaves["etcd-server/cp-1"].certPem);
        const interCa = out.intermediates.dev.ca[0].certPem;
        const v = await opensslVerify([out.rootCertificate], apiserver, [interCa]);
        assert.ok(v.ok, v.output);
        assert.ok((await opensslVerify([out.rootCertificate], etcd, [out.intermediates.dev["etcd-ca"][0].certPem])).ok);
        assert.equal((await opensslVerify([out.rootCertificate], apiserver)).ok, false, "the root alone is not enough");
        assert.equal((await opensslVerify([out.rootCertificate], apiserver, [out.intermediates.prod.ca[0].certPem])).ok, false, "prod's intermediate does not vouch for dev");
        // The cluster trusts its intermediate only (not the root: that would trust every cluster's clients).
        const bundles = await valuesOf(pki.trustBundles);
        assert.equal(bundles.ca.trim(), interCa.trim());
        const files = pki.nodeFiles["cp-1"];
        assert.equal((await valueOf(files["etc/kubernetes/pki/ca.key"].content)).trim(), dev.keys["ca/0"].trim());
        assert.equal(await pulumi.isSecret(files["etc/kubernetes/pki/ca.key"].content), true);
    });

    it("a cluster CA rotation uses the root's next generation (stage: both intermediates trusted); an unsigned one is refused", async () => {
        setupMocks({ emulator: em });
        const pki = new ClusterPki("dev", { ...CLUSTER, externalCas: planFor("dev", dev).externalCas, caRotation: { ca: "stage" } });
        const bundle = await valueOf(pki.trustBundles.ca);
        assert.equal((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
        assert.throws(
            () => new ClusterPki("prod", { ...CLUSTER, clusterName: "prod", externalCas: planFor("prod", prod).externalCas, caRotation: { ca: "stage" } }),
            /externalCas\.ca: generation 1 is needed .* root stack/,
        );
    });

    it("first creation: a generation without a CSR is awaited (nothing signed), and the cluster plan marks it unsigned", async () => {
        const emu = setupMocks();
        const root = new RootPki("fresh", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "new", cas: ["ca"] }] });
        assert.deepEqual(root.awaitingRequests, ["new/ca/0"]);
        const o = await rootOutputs(root);
        assert.deepEqual(o.intermediates.new, {});
        assert.equal(emu.resources.filter((r) => r.type === "tls:index/locallySignedCert:LocallySignedCert").length, 0);
        const plan = planIntermediates("fresh", checkRootOutputs("fresh", "new", o.rootCertificate, o.signingPolicy, o.intermediates), KEYS, undefined, () => "");
        assert.deepEqual(plan.unsigned, ["ca/0"]);
        assert.deepEqual(plan.requests, [{ caId: "ca", generation: 0, commonName: "kubernetes-new", keyAlgorithm: "ECDSA-P256" }]);
        assert.deepEqual(plan.externalCas, {});
    });

    it("a certificate for another key (the cluster replaced its key, or a key algorithm change) is not used", async () => {
        setupMocks(); // a fresh state: new keys
        const other = await clusterRequests("dev", ALL({ ca: [0, 1] }));
        const plan = planFor("dev", other);
        assert.deepEqual(plan.unsigned.sort(), ["ca/0", "ca/1", "etcd-ca/0", "front-proxy-ca/0"]);
        const rsa = planIntermediates("root", checkRootOutputs("root", "dev", out.rootCertificate, out.signingPolicy, out.intermediates), { ...KEYS, ca: "RSA-2048" }, dev.csrs, () => "");
        assert.deepEqual(rsa.unsigned, ["ca/0", "ca/1"], "the published CSR no longer fits the configured algorithm");
    });

    it("a cluster key algorithm the root does not accept is refused at preview, naming the field", async () => {
        setupMocks();
        const root = new RootPki("strict", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "s", cas: ["ca"], keyAlgorithms: ["ECDSA-P384"] }] });
        const o = await rootOutputs(root);
        const plan = planIntermediates("org/kube-pki/strict", checkRootOutputs("strict", "s", o.rootCertificate, o.signingPolicy, o.intermediates), KEYS, undefined, () => "");
        assert.deepEqual(plan.problems, ["caKeyAlgorithm: ECDSA-P256 for ca is not accepted by root stack org/kube-pki/strict (it signs ECDSA-P384)"]);
    });

    it("refuses a cluster the root does not list, missing outputs, a chain that does not verify", async () => {
        const check = (cluster: string, cert: unknown, policy: unknown, inter: unknown) => () => checkRootOutputs("org/kube-pki/root", cluster, cert, policy, inter);
        assert.throws(check("staging", out.rootCertificate, out.signingPolicy, out.intermediates), /clusterName: "staging" is not listed .*it lists: dev, prod/);
        assert.throws(check("dev", undefined, out.signingPolicy, out.intermediates), /output "rootCertificate" is missing; run `up` on the root stack/);
        assert.throws(check("dev", out.rootCertificate, undefined, out.intermediates), /output "signingPolicy" is missing/);
        setupMocks();
        const other = await rootOutputs(new RootPki("other", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "dev", cas: ["ca"] }] }));
        assert.throws(check("dev", other.rootCertificate, out.signingPolicy, out.intermediates), /does not chain to the root/);
    });

    it("refuses cluster name collisions and bad root config before creating anything", () => {
        const emu = setupMocks();
        assert.throws(() => new RootPki("r", { clusters: [{ name: "dev" }, { name: "dev" }] }), (e: unknown) => e instanceof ConfigError && /cluster name collision: "dev"/.test(e.message));
        assert.throws(() => new RootPki("r", { clusters: [{ name: "dev", cas: ["kube-ca"] }] }), /unknown CA "kube-ca"/);
        assert.throws(() => new RootPki("r", { intermediateValidity: "200000h", clusters: [] }), /intermediateValidity/);
        assert.throws(() => new RootPki("r", { clusters: [{ name: "dev", pathLength: 1 }] }), /clusters\[0\]\.pathLength: 1 must be below the root's pathLength \(1\)/);
        assert.equal(emu.resources.length, 0);
    });

    it("every signed intermediate is protected like the root; test stacks can turn protection off", async () => {
        const emu = setupMocks();
        const reqs = await clusterRequests("dev", [{ caId: "ca", generation: 0 }, { caId: "ca", generation: 1 }, { caId: "etcd-ca", generation: 0 }]);
        await rootOutputs(new RootPki("p", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "dev", cas: ["ca", "etcd-ca"], generations: { ca: [0, 1] } }], requests: { dev: reqs.csrs } }));
        const tlsResources = emu.resources.filter((r) => r.type.startsWith("tls:") && r.name.startsWith("p-"));
        assert.deepEqual(tlsResources.map((r) => r.name).sort(), ["p-dev-ca-g1-signed", "p-dev-ca-signed", "p-dev-etcd-ca-signed", "p-root-cert", "p-root-key"]);
        for (const r of tlsResources) assert.equal(r.options.protect, true, `${r.name} (${r.type}) is protected`);
        const emu2 = setupMocks();
        await rootOutputs(new RootPki("q", { keyAlgorithm: "ECDSA-P256", protect: false, clusters: [{ name: "dev", cas: ["ca"] }], requests: { dev: { ca: reqs.csrs.ca.filter((r) => r.generation === 0) } } }));
        for (const r of emu2.resources.filter((x) => x.type.startsWith("tls:") && x.name.startsWith("q-"))) assert.notEqual(r.options.protect, true, r.name);
    });

    it("dropping an intermediate (a cluster, a CA kind or a generation) is refused at preview naming it, unless allowRemoveClusters lists it", () => {
        const emu = setupMocks();
        const previousIntermediates = { a: { ca: [0], "etcd-ca": [0], "front-proxy-ca": [0] }, b: { ca: [0, 1] } };
        const refused = (e: unknown) =>
            e instanceof ConfigError &&
            /would delete 2 intermediate CA\(s\).*b\/ca\/0 \(resource r-b-ca\), b\/ca\/1 \(resource r-b-ca-g1\).*add "b" .*kube-pki:allowRemoveClusters/.test(e.message);
        assert.throws(() => new RootPki("r", { clusters: [{ name: "a" }], previousIntermediates }), refused);
        assert.equal(emu.resources.length, 0, "nothing registered");
        // a generation dropped after a CA rotation is the same act: refused, named, allowed one by one
        const rotated: RootPkiArgs = { clusters: [{ name: "a" }, { name: "b", cas: ["ca"], generations: { ca: [1] } }], previousIntermediates };
        assert.throws(() => new RootPki("r", rotated), /would delete 1 intermediate CA\(s\).*b\/ca\/0 \(resource r-b-ca\)/);
        assert.doesNotThrow(() => new RootPki("r2", { ...rotated, allowRemoveClusters: ["b/ca/0"] }));
        setupMocks();
        assert.doesNotThrow(() => new RootPki("r3", { clusters: [{ name: "a" }], previousIntermediates, allowRemoveClusters: ["b"] }));
        // a signed intermediate whose CSR the cluster no longer publishes is refused (the engine would delete it)
        assert.throws(
            () => new RootPki("r5", { clusters: [{ name: "b", cas: ["ca"], generations: { ca: [1] } }], previousIntermediates: { b: { ca: [1] } }, previousKeyInRoot: {} }),
            /b\/ca\/1 was signed by an earlier run but stack organization\/kube-pki\/b no longer publishes its CSR/,
        );
    });

    it("migration: intermediates issued before the CSR handoff keep their root-generated key; a new generation comes by CSR", async () => {
        const emu = setupMocks();
        const reqs = await clusterRequests("old", [{ caId: "ca", generation: 1 }]);
        // a memory written before the handoff has no keyInRoot: every generation it lists was issued with a root key
        const args: RootPkiArgs = { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "old", cas: ["ca"], generations: { ca: [0, 1] } }], previousIntermediates: { old: { ca: [0] } }, requests: { old: reqs.csrs } };
        const root = new RootPki("m", args);
        const o = await rootOutputs(root);
        assert.ok(o.intermediates.old.ca[0].keyPem?.includes("PRIVATE KEY"), "generation 0 still hands its key over (until retired)");
        assert.equal(await pulumi.isSecret(root.intermediates.old.ca[0].keyPem!), true);
        assert.equal(o.intermediates.old.ca[1].keyPem, undefined, "generation 1: certificate only");
        assert.ok(emu.resources.some((r) => r.name === "m-old-ca-key"), "the old resources keep their names (no replacement)");
        assert.deepEqual(o.signingPolicy.old.cas.ca.byCsr, [1]);
        assert.deepEqual(await valueOf(memoryOf(root)), { m: { intermediates: { old: { ca: [0, 1] } }, keyInRoot: { old: { ca: [0] } } } });
        const plan = planIntermediates("m", checkRootOutputs("m", "old", o.rootCertificate, o.signingPolicy, o.intermediates), KEYS, reqs.csrs, (ca, g) => reqs.keys[`${ca}/${g}`]);
        assert.deepEqual(plan.requests.map((r) => r.generation), [1], "the cluster requests only the new generation");
        assert.deepEqual(plan.externalCas.ca.map((e) => e.generation), [0, 1]);
        // after the rotation, generation 0 retired: the root's state holds no cluster key
        const emu2 = setupMocks();
        await rootOutputs(new RootPki("m", { ...args, clusters: [{ name: "old", cas: ["ca"], generations: { ca: [1] } }], previousIntermediates: { old: { ca: [0, 1] } }, previousKeyInRoot: { old: { ca: [0] } }, allowRemoveClusters: ["old/ca/0"] }));
        assert.deepEqual(emu2.resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey").map((r) => r.name), ["m-root-key"]);
    });

    it("readPreviousRootIntermediates reads the generations from the stack's memory, else its intermediates output (none on a first run)", async () => {
        const emu = setupMocks();
        emu.setStackOutputs("organization/kube-pki/root-fresh", {}, []);
        assert.equal(await readPreviousRootIntermediates("organization/kube-pki/root-fresh"), undefined, "first run");
        emu.setStackOutputs("organization/kube-pki/root-again", out, ["intermediates"]);
        const previous = await readPreviousRootIntermediates("organization/kube-pki/root-again");
        assert.deepEqual(previous, { dev: { ca: [0, 1], "etcd-ca": [0], "front-proxy-ca": [0] }, prod: { ca: [0] } });
        setupMocks();
        const root = new RootPki("root", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "dev", cas: ["ca"], generations: { ca: [0, 1] } }], requests: { dev: { ca: dev.csrs.ca } } });
        const memory = await valueOf(memoryOf(root));
        assert.deepEqual(memory, { root: { intermediates: { dev: { ca: [0, 1] } }, keyInRoot: {} } });
        const emu2 = setupMocks();
        emu2.setStackOutputs("organization/kube-pki/root-mem", { ...out, [MEMORY_OUTPUT]: memory }, ["intermediates"]);
        assert.deepEqual(await readPreviousRootIntermediates("organization/kube-pki/root-mem"), { dev: { ca: [0, 1] } });
    });

    it("an intermediate listed in allowRemoveClusters but still configured is registered unprotected (step 1 of a removal)", async () => {
        const emu = setupMocks();
        const gone = await clusterRequests("gone", [{ caId: "ca", generation: 0 }]);
        const keep = await clusterRequests("keep", [{ caId: "ca", generation: 0 }]);
        await rootOutputs(new RootPki("u", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "keep", cas: ["ca"] }, { name: "gone", cas: ["ca"] }], requests: { gone: gone.csrs, keep: keep.csrs }, allowRemoveClusters: ["gone"] }));
        const protect = (name: string) => emu.resources.find((r) => r.name === name)!.options.protect;
        assert.notEqual(protect("u-gone-ca-signed"), true);
        assert.equal(protect("u-keep-ca-signed"), true);
        assert.equal(protect("u-root-key"), true, "the root stays protected");
    });
});
