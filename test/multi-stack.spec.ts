/**
 * Multi-stack: a root stack (RootPki) issues per-cluster intermediates; a cluster stack reads them through a
 * StackReference (mocked with the root's real outputs) and issues its leaves under them.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { checkRootOutputs, ClusterPki, ClusterPkiArgs, ConfigError, MEMORY_OUTPUT, memoryOf, readPreviousRootIntermediates, readRootStack, RootPki } from "../components/internal";
import { setupMocks } from "./support/tls-emulator";
import { opensslVerify, parseCert } from "./support/x509";
import { valueOf, valuesOf } from "./support/resolve";

type Plain = Record<string, Record<string, { generation: number; certPem: string; keyPem: string }[]>>;

async function rootOutputs(root: RootPki): Promise<{ rootCertificate: string; intermediates: Plain }> {
    const intermediates: Plain = {};
    for (const [cluster, cas] of Object.entries(root.intermediates)) {
        intermediates[cluster] = {};
        for (const [ca, list] of Object.entries(cas)) {
            intermediates[cluster][ca] = await Promise.all(
                list.map(async (i) => ({ generation: i.generation, certPem: await valueOf(i.certPem), keyPem: await valueOf(i.keyPem) })),
            );
        }
    }
    return { rootCertificate: await valueOf(root.rootCertificate), intermediates };
}

const CLUSTER: ClusterPkiArgs = {
    clusterName: "dev",
    controlPlaneEndpoint: "api.dev.example",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    keyAlgorithm: "ECDSA-P256",
};

describe("multi-stack: root stack + cluster stacks", function () {
    let out: { rootCertificate: string; intermediates: Plain };
    let em: ReturnType<typeof setupMocks>;

    before(async () => {
        em = setupMocks();
        const root = new RootPki("root", {
            keyAlgorithm: "ECDSA-P384",
            clusters: [{ name: "dev", generations: { ca: [0, 1] } }, { name: "prod", cas: ["ca"] }],
        });
        out = await rootOutputs(root);
    });

    it("the root is a protected CA with pathlen 1; intermediates are CAs signed by it", async () => {
        const root = parseCert(out.rootCertificate);
        assert.equal(root.isCA, true);
        assert.equal(root.pathLen, 1);
        assert.equal(root.subjectCN, "kube-pki root CA");
        const rootKey = em.resources.find((r) => r.name === "root-root-key")!;
        assert.equal(rootKey.options.protect, true, "root key is protected");
        const inter = parseCert(out.intermediates.dev.ca[0].certPem);
        assert.equal(inter.isCA, true);
        assert.equal(inter.subjectCN, "kubernetes-dev");
        assert.equal(inter.issuerCN, "kube-pki root CA");
        assert.ok((await opensslVerify([out.rootCertificate], out.intermediates.dev.ca[0].certPem)).ok);
        assert.deepEqual(Object.keys(out.intermediates.dev).sort(), ["ca", "etcd-ca", "front-proxy-ca"]);
        assert.deepEqual(Object.keys(out.intermediates.prod), ["ca"]);
        assert.deepEqual(out.intermediates.dev.ca.map((i) => i.generation), [0, 1]);
    });

    it("the root key is never an output; intermediate keys are secrets", async () => {
        const root = new RootPki("root2", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "x", cas: ["ca"] }] });
        assert.equal(await pulumi.isSecret(root.intermediates.x.ca[0].keyPem), true);
        assert.ok(!("keyPem" in root) && !JSON.stringify(Object.keys(root)).includes("rootKey"));
    });

    it("a cluster stack reads its intermediates through a StackReference, secrets stay secret", async () => {
        em.setStackOutputs("organization/kube-pki/root", out, ["intermediates"]);
        const material = await readRootStack("organization/kube-pki/root", "dev");
        assert.equal(material.rootCertificate.trim(), out.rootCertificate.trim());
        assert.equal(await pulumi.isSecret(material.externalCas.ca[0].keyPem), true);
    });

    it("leaves chain root → intermediate → leaf (openssl verify -untrusted) and only within their cluster", async () => {
        const material = checkRootOutputs("root", "dev", out.rootCertificate, out.intermediates);
        setupMocks({ emulator: em });
        const pki = new ClusterPki("dev", { ...CLUSTER, externalCas: material.externalCas });
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
        const kc = await valueOf(pki.kubeconfigs["admin.conf"]);
        const caData = Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], "base64").toString();
        assert.equal(caData.trim(), interCa.trim());
        const files = pki.nodeFiles["cp-1"];
        assert.equal((await valueOf(files["etc/kubernetes/pki/ca.key"].content)).trim(), out.intermediates.dev.ca[0].keyPem.trim());
        // No CA is created locally.
        assert.ok(!em.resources.some((r) => r.run === em.run && /^dev-(ca|etcd-ca|front-proxy-ca)-key$/.test(r.name)));
    });

    it("a cluster CA rotation uses the root's next generation (stage: both intermediates trusted)", async () => {
        const material = checkRootOutputs("root", "dev", out.rootCertificate, out.intermediates);
        setupMocks({ emulator: em });
        const pki = new ClusterPki("dev", {
            ...CLUSTER,
            externalCas: material.externalCas,
            caRotation: { ca: "stage" },
        });
        const bundle = await valueOf(pki.trustBundles.ca);
        assert.equal((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
        assert.throws(
            () => new ClusterPki("prod", { ...CLUSTER, clusterName: "prod", externalCas: checkRootOutputs("root", "prod", out.rootCertificate, out.intermediates).externalCas, caRotation: { ca: "stage" } }),
            /externalCas\.ca: generation 1 is needed .* root stack/,
        );
    });

    it("refuses a cluster the root does not list, missing outputs, a chain that does not verify", async () => {
        assert.throws(() => checkRootOutputs("org/kube-pki/root", "staging", out.rootCertificate, out.intermediates), /clusterName: "staging" is not listed .*it lists: dev, prod/);
        assert.throws(() => checkRootOutputs("org/kube-pki/root", "dev", undefined, out.intermediates), /output "rootCertificate" is missing/);
        assert.throws(() => checkRootOutputs("org/kube-pki/root", "dev", out.rootCertificate, undefined), /output "intermediates" is missing/);
        // A different root: the chain does not verify.
        setupMocks();
        const other = await rootOutputs(new RootPki("other", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "dev", cas: ["ca"] }] }));
        assert.throws(() => checkRootOutputs("org/kube-pki/root", "dev", other.rootCertificate, out.intermediates), /does not chain to the root/);
    });

    it("refuses cluster name collisions and bad root config before creating anything", () => {
        const emu = setupMocks();
        assert.throws(() => new RootPki("r", { clusters: [{ name: "dev" }, { name: "dev" }] }), (e: unknown) => e instanceof ConfigError && /cluster name collision: "dev"/.test(e.message));
        assert.throws(() => new RootPki("r", { clusters: [{ name: "dev", cas: ["kube-ca"] }] }), /unknown CA "kube-ca"/);
        assert.throws(() => new RootPki("r", { intermediateValidity: "200000h", clusters: [] }), /intermediateValidity/);
        assert.equal(emu.resources.length, 0);
    });

    it("every intermediate (key, CSR, cert) is protected like the root; test stacks can turn protection off", async () => {
        const emu = setupMocks();
        await rootOutputs(new RootPki("p", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "dev", cas: ["ca", "etcd-ca"], generations: { ca: [0, 1] } }] }));
        const tlsResources = emu.resources.filter((r) => r.type.startsWith("tls:"));
        assert.equal(tlsResources.length, 2 + 3 * 3, "root key + cert, 3 intermediates × key, CSR, cert");
        for (const r of tlsResources) assert.equal(r.options.protect, true, `${r.name} (${r.type}) is protected`);
        const emu2 = setupMocks();
        await rootOutputs(new RootPki("q", { keyAlgorithm: "ECDSA-P256", protect: false, clusters: [{ name: "dev", cas: ["ca"] }] }));
        assert.equal(emu2.resources.filter((x) => x.type.startsWith("tls:")).length, 5);
        for (const r of emu2.resources.filter((x) => x.type.startsWith("tls:"))) assert.notEqual(r.options.protect, true, r.name);
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
        const rotated = { clusters: [{ name: "a" }, { name: "b", cas: ["ca"], generations: { ca: [1] } }], previousIntermediates };
        assert.throws(() => new RootPki("r", rotated), /would delete 1 intermediate CA\(s\).*b\/ca\/0 \(resource r-b-ca\)/);
        assert.doesNotThrow(() => new RootPki("r2", { ...rotated, allowRemoveClusters: ["b/ca/0"] }));
        // with the flag the removal goes through (the engine then deletes what the previous run issued)
        setupMocks();
        assert.doesNotThrow(() => new RootPki("r3", { clusters: [{ name: "a" }], previousIntermediates, allowRemoveClusters: ["b"] }));
        // nothing dropped: no flag needed (the first run has no previous intermediates)
        assert.doesNotThrow(() => new RootPki("r4", { clusters: [{ name: "a" }, { name: "b", cas: ["ca"], generations: { ca: [0, 1] } }], previousIntermediates }));
    });

    it("readPreviousRootIntermediates reads the generations from the stack's own intermediates output (none on a first run)", async () => {
        const emu = setupMocks();
        emu.setStackOutputs("organization/kube-pki/root-fresh", {}, []);
        assert.equal(await readPreviousRootIntermediates("organization/kube-pki/root-fresh"), undefined, "first run");
        emu.setStackOutputs("organization/kube-pki/root-again", out, ["intermediates"]);
        const previous = await readPreviousRootIntermediates("organization/kube-pki/root-again");
        assert.deepEqual(previous, { dev: { ca: [0, 1], "etcd-ca": [0], "front-proxy-ca": [0] }, prod: { ca: [0] } });
        // what the root program does with it: dropping prod is refused, naming its intermediate
        assert.throws(
            () => new RootPki("root", { clusters: [{ name: "dev", generations: { ca: [0, 1] } }], previousIntermediates: previous }),
            /would delete 1 intermediate CA\(s\).*prod\/ca\/0 \(resource root-prod-ca\)/,
        );
    });

    it("the root remembers its intermediates like ClusterPki does (kubePkiMemory via memoryOf), read before the older output", async () => {
        setupMocks();
        const root = new RootPki("root", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "dev", cas: ["ca"], generations: { ca: [0, 1] } }] });
        const memory = await valueOf(memoryOf(root));
        assert.deepEqual(memory, { root: { intermediates: { dev: { ca: [0, 1] } } } });
        const emu = setupMocks();
        // kubePkiMemory wins over the intermediates output (which still lists prod)
        emu.setStackOutputs("organization/kube-pki/root-mem", { ...out, [MEMORY_OUTPUT]: memory }, ["intermediates"]);
        assert.deepEqual(await readPreviousRootIntermediates("organization/kube-pki/root-mem"), { dev: { ca: [0, 1] } });
        // another component's entry is not this root's: the older output is read
        emu.setStackOutputs("organization/kube-pki/root-other", { ...out, [MEMORY_OUTPUT]: memory }, ["intermediates"]);
        assert.deepEqual(Object.keys((await readPreviousRootIntermediates("organization/kube-pki/root-other", "other"))!).sort(), ["dev", "prod"]);
    });

    it("an intermediate listed in allowRemoveClusters but still configured is registered unprotected (step 1 of a removal)", async () => {
        const emu = setupMocks();
        await rootOutputs(new RootPki("u", { keyAlgorithm: "ECDSA-P256", clusters: [{ name: "keep", cas: ["ca"] }, { name: "gone", cas: ["ca"] }], allowRemoveClusters: ["gone"] }));
        const protect = (name: string) => emu.resources.find((r) => r.name === name)!.options.protect;
        assert.notEqual(protect("u-gone-ca-key"), true);
        assert.notEqual(protect("u-gone-ca-cert"), true);
        assert.equal(protect("u-keep-ca-key"), true);
        assert.equal(protect("u-root-key"), true, "the root stays protected");
    });
});
