/**
 * Rotation across runs: the emulator keeps state between runs like the engine does (same / replace ops,
 * replacementTrigger), so each spec runs the component repeatedly and checks exactly what is replaced.
 */
import { strict as assert } from "node:assert";
import { ClusterPki, ClusterPkiArgs, ConfigError, nextCaState, renewalEpoch, rotationToken, explainTokenChange } from "../components";
import { setupMocks, TlsEmulator } from "./support/tls-emulator";
import { opensslVerify, parseCert } from "./support/x509";
import { valueOf, valuesOf } from "./support/resolve";

const HOUR = 3_600_000;
const PERIOD = 80; // leafValidity 100h − leafRenewBefore 20h
/** An instant 1 h into an epoch of the leaf period. */
const T0 = new Date((renewalEpoch(Date.UTC(2030, 0, 1), 100, 20) + 1) * PERIOD * HOUR + HOUR);

const BASE: ClusterPkiArgs = {
    clusterName: "rot",
    controlPlaneEndpoint: "api.rot.example",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    // 50h validity: renewBefore min(20h, 16h) → period 34h, so the user's boundaries differ from the others'.
    users: [{ name: "alice", group: "dev", validity: "50h" }],
    keyAlgorithm: "ECDSA-P256",
    leafValidity: "100h",
    leafRenewBefore: "20h",
    caValidity: "1000h",
    caRenewBefore: "100h",
};

interface Run {
    pki: ClusterPki;
    /** tls resources replaced in this run, by name */
    replaced: string[];
    created: string[];
    files: Record<string, Record<string, string>>;
    kubeconfigs: Record<string, string>;
}

class Rig {
    em: TlsEmulator;
    last?: ClusterPki;
    constructor() {
        this.em = setupMocks({ now: () => T0 });
    }
    async run(at: Date, extra: Partial<ClusterPkiArgs> = {}, preview = false): Promise<Run> {
        this.em.setNow(at);
        clock = at;
        this.em.install(preview);
        const previous = this.last ? { rotationState: this.last.rotationState, rotationTokens: this.last.rotationTokens } : undefined;
        const pki = new ClusterPki("rot", { ...BASE, ...extra, now: at.toISOString(), previous });
        const files: Record<string, Record<string, string>> = {};
        for (const [node, map] of Object.entries(pki.nodeFiles)) {
            files[node] = preview ? {} : await valuesOf(Object.fromEntries(Object.entries(map).map(([p, f]) => [p, f.content])));
        }
        const kubeconfigs = preview ? {} : await valuesOf(pki.kubeconfigs);
        await valueOf(pki.inventory).catch(() => undefined);
        if (preview) await new Promise((r) => setTimeout(r, 200));
        if (!preview) this.last = pki;
        const tls = this.em.resources.filter((r) => r.type.startsWith("tls:") && r.run === this.em.run);
        return {
            pki,
            replaced: tls.filter((r) => r.op === "replace").map((r) => r.name).sort(),
            created: tls.filter((r) => r.op === "create").map((r) => r.name).sort(),
            files,
            kubeconfigs,
        };
    }
}

/** openssl verify at the fake clock's time (the certificates are issued in 2030). */
let clock = T0;
const verifyAt = (cas: string[], leaf: string) => opensslVerify(cas, leaf, undefined, { atTime: new Date(clock.getTime() + 60_000) });

const leafNames = (...leaves: string[]) => leaves.flatMap((l) => [`rot-${l}-key`, `rot-${l}-csr`, `rot-${l}-cert`]).sort();
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
const pems = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

describe("rotation model (pure)", () => {
    it("renewal tokens change only at epoch boundaries and with manual generations", () => {
        const e = renewalEpoch(T0.getTime(), 100, 20);
        assert.equal(renewalEpoch(T0.getTime() + 78 * HOUR, 100, 20), e, "same epoch until the boundary");
        assert.equal(renewalEpoch(T0.getTime() + 79 * HOUR, 100, 20), e + 1, "next epoch at the boundary");
        assert.equal(rotationToken(4, {}), "e4");
        assert.equal(rotationToken(4, { "node:b": 1, apiserver: 2, "group:all": 0 }), "e4;apiserver=2;node:b=1");
        assert.match(explainTokenChange("e4", "e5")!, /renewal window \(epoch 4 → 5\)/);
        assert.match(explainTokenChange("e4", "e4;apiserver=1")!, /manual rotation \(apiserver\)/);
        assert.equal(explainTokenChange("e4", "e4"), undefined);
    });

    it("a cert issued anywhere in an epoch is renewed at least renewBefore before it expires", () => {
        for (let offset = 0; offset < PERIOD; offset += 7) {
            const issued = T0.getTime() - HOUR + offset * HOUR;
            const e = renewalEpoch(issued, 100, 20);
            const renewedAt = (e + 1) * PERIOD * HOUR;
            assert.ok(issued + 100 * HOUR - renewedAt >= 20 * HOUR);
        }
    });

    it("the CA phase machine allows stage → promote → distrust and refuses skips", () => {
        const none = { phase: "none" as const, generation: 0 };
        const staged = nextCaState(none, "stage");
        assert.deepEqual(staged, { phase: "stage", generation: 0 });
        const promoted = nextCaState(staged as any, "promote");
        assert.deepEqual(promoted, { phase: "promote", generation: 1 });
        assert.deepEqual(nextCaState(promoted as any, "distrust"), { phase: "distrust", generation: 1 });
        assert.deepEqual(nextCaState(staged as any, "none"), { phase: "none", generation: 0 }, "abort a staged CA");
        for (const [from, to] of [[none, "distrust"], [none, "promote"], [staged, "distrust"], [promoted, "none"], [promoted, "stage"]] as const) {
            assert.equal(typeof nextCaState(from as any, to as any), "string", `${(from as any).phase} → ${to}`);
        }
    });
});

describe("renewal windows across runs (fake clock)", function () {
    const rig = new Rig();
    let first: Run;
    before(async () => {
        first = await rig.run(T0);
    });

    it("first run creates everything", () => {
        assert.equal(first.replaced.length, 0);
        assert.ok(first.created.length > 20);
        assert.match(first.pki.rotationSummaryText, /first run/);
    });

    it("inside the epoch: 0 changes", async () => {
        const r = await rig.run(at(10));
        assert.deepEqual(r.replaced, []);
        assert.deepEqual(r.created, []);
        assert.match(r.pki.rotationSummaryText, /no leaf certificate rotates/);
    });

    it("the user's shorter period crosses first: only alice's key, CSR and cert are replaced", async () => {
        // alice: period 34h; T0 is 1h into an 80h epoch, so her next boundary comes within 34h.
        const aliceNext = new Date(rig.last!.nextRotation.at).getTime();
        assert.deepEqual(rig.last!.nextRotation.certificates, ["user/alice"]);
        const r = await rig.run(new Date(aliceNext + HOUR));
        assert.deepEqual(r.replaced, leafNames("user-alice"));
        assert.match(r.pki.rotationSummaryText, /user\/alice: renewal window/);
        const cert = parseCert(Buffer.from(/client-certificate-data: (\S+)/.exec(r.kubeconfigs["users/alice.conf"])![1], "base64").toString());
        assert.equal(cert.subjectCN, "alice");
    });

    it("a preview at the leaf boundary plans the replacement of every leaf and nothing else", async () => {
        const boundary = at(PERIOD - 1); // T0 is 1h into the epoch
        const r = await rig.run(boundary, {}, true);
        const everyLeaf = Object.keys(rig.last!.leaves);
        const leavesExceptAlice = everyLeaf.filter((k) => k !== "user/alice");
        assert.ok(leavesExceptAlice.length >= 10);
        for (const key of leavesExceptAlice) {
            const name = `rot-${key.replace("/", "-")}-key`;
            assert.ok(r.replaced.includes(name), `${name} replaced in preview`);
        }
        assert.ok(!r.replaced.some((n) => /^rot-(ca|etcd-ca|front-proxy-ca|sa)-/.test(n)), "CAs and SA untouched");
        assert.match(r.pki.rotationSummaryText, /leaf certificate\(s\) rotate/);
    });

    it("up at the boundary renews the leaves: new keys, certs still chain to the same CA", async () => {
        const before = rig.last!;
        const oldKey = await valueOf(before.leaves["apiserver/cp-1"].keyPem);
        const r = await rig.run(at(PERIOD - 1));
        assert.ok(r.replaced.includes("rot-apiserver-cp-1-key"));
        assert.ok(!r.replaced.some((n) => /^rot-(ca|etcd-ca|front-proxy-ca|sa)-/.test(n)));
        const newKey = await valueOf(r.pki.leaves["apiserver/cp-1"].keyPem);
        assert.notEqual(newKey, oldKey);
        const ca = await valueOf(r.pki.caCertificates.ca);
        assert.ok((await verifyAt([ca], r.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"])).ok);
    });
});

describe("manual rotation by generation", function () {
    const rig = new Rig();
    before(async () => {
        await rig.run(T0);
    });

    it("a cert selector replaces exactly that cert", async () => {
        const r = await rig.run(at(1), { rotate: { "apiserver/cp-1": 1 } });
        assert.deepEqual(r.replaced, leafNames("apiserver-cp-1"));
        assert.match(r.pki.rotationSummaryText, /apiserver\/cp-1: manual rotation \(apiserver\/cp-1\)/);
    });

    it("a node selector replaces that node's certs", async () => {
        const r = await rig.run(at(2), { rotate: { "apiserver/cp-1": 1, "node:worker-1": 1 } });
        assert.deepEqual(r.replaced, leafNames("kubelet.conf-worker-1"));
    });

    it("a group selector (group:etcd-ca) replaces every cert signed by the etcd CA", async () => {
        const r = await rig.run(at(3), { rotate: { "apiserver/cp-1": 1, "node:worker-1": 1, "group:etcd-ca": 1 } });
        assert.deepEqual(r.replaced, leafNames("apiserver-etcd-client-cp-1", "etcd-server-cp-1", "etcd-peer-cp-1", "etcd-healthcheck-client-cp-1"));
    });

    it("unknown selectors and CA ids are refused", () => {
        assert.throws(() => new ClusterPki("bad", { ...BASE, rotate: { "node:nope": 1 } }), /rotate\["node:nope"\]: "nope" is not a node/);
        assert.throws(() => new ClusterPki("bad", { ...BASE, rotate: { ca: 1 } }), /caRotation phases/);
        assert.throws(() => new ClusterPki("bad", { ...BASE, rotate: { "group:bogus": 1 } }), /unknown group/);
    });
});

for (const caId of ["ca", "etcd-ca", "front-proxy-ca"] as const) {
    describe(`CA rotation without downtime: ${caId}`, function () {
        const rig = new Rig();
        const sample: Record<string, string> = {
            ca: "etc/kubernetes/pki/apiserver.crt",
            "etcd-ca": "etc/kubernetes/pki/etcd/server.crt",
            "front-proxy-ca": "etc/kubernetes/pki/front-proxy-client.crt",
        };
        const bundleFile: Record<string, string> = {
            ca: "etc/kubernetes/pki/ca.crt",
            "etcd-ca": "etc/kubernetes/pki/etcd/ca.crt",
            "front-proxy-ca": "etc/kubernetes/pki/front-proxy-ca.crt",
        };
        let oldCa: string;
        let newCa: string;
        before(async () => {
            const r = await rig.run(T0);
            oldCa = await valueOf(r.pki.caCertificates[caId]);
        });

        it("refuses promote or distrust without stage", () => {
            for (const phase of ["promote", "distrust"]) {
                assert.throws(
                    () => new ClusterPki("x", { ...BASE, caRotation: { [caId]: phase }, previous: { rotationState: rig.last!.rotationState } }),
                    (e: unknown) => e instanceof ConfigError && e.message.includes(`caRotation.${caId}: "${phase}" refused`),
                );
            }
        });

        it("stage: a new CA is trusted everywhere (old first), leaves still signed by the old CA", async () => {
            const r = await rig.run(at(1), { caRotation: { [caId]: "stage" } });
            assert.deepEqual(r.replaced, [], "nothing is replaced");
            assert.ok(r.created.includes(`rot-${caId}-g1-key`) && r.created.includes(`rot-${caId}-g1-cert`));
            assert.equal(r.created.length, 2);
            const bundle = pems(r.files["cp-1"][bundleFile[caId]]);
            assert.equal(bundle.length, 2);
            assert.equal(bundle[0].trim(), oldCa.trim(), "the active (old) CA comes first, pairing with ca.key");
            newCa = bundle[1];
            assert.ok((await verifyAt([oldCa], r.files["cp-1"][sample[caId]])).ok, "leaf still from the old CA");
            if (caId === "ca") {
                const kc = r.kubeconfigs["worker-1/kubelet.conf"];
                const caData = Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], "base64").toString();
                assert.equal(pems(caData).length, 2, "kubeconfig CA data holds old + new");
                assert.equal(pems(r.files["worker-1"]["etc/kubernetes/pki/ca.crt"]).length, 2);
            }
            assert.deepEqual(r.pki.rotationState[caId], { phase: "stage", generation: 0 });
            assert.match(r.pki.rotationSummaryText, new RegExp(`${caId}: none → stage`));
        });

        it("promote: every leaf of the CA is re-signed by the new CA (keys kept), bundles still hold both", async () => {
            const r = await rig.run(at(2), { caRotation: { [caId]: "promote" } });
            assert.ok(r.replaced.length > 0);
            assert.ok(r.replaced.every((n) => n.endsWith("-cert")), `only certificates are re-signed: ${r.replaced}`);
            const v = await verifyAt([newCa], r.files["cp-1"][sample[caId]]);
            assert.ok(v.ok, v.output);
            assert.equal((await verifyAt([oldCa], r.files["cp-1"][sample[caId]])).ok, false);
            const bundle = pems(r.files["cp-1"][bundleFile[caId]]);
            assert.deepEqual(bundle.map((p) => p.trim()), [newCa.trim(), oldCa.trim()], "new CA first now");
            const caKey = r.files["cp-1"][bundleFile[caId].replace(/\.crt$/, ".key")];
            const { createPublicKey } = await import("node:crypto");
            const spki = (pem: string) => createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");
            assert.equal(spki(caKey), spki(parseCert(newCa).node.publicKey.export({ type: "spki", format: "pem" }) as string), "ca.key is the new key");
            const signedByOther = caId === "ca" ? "rot-etcd-server-cp-1-cert" : "rot-apiserver-cp-1-cert";
            assert.ok(r.replaced.length > 0 && !r.replaced.includes(signedByOther), "other CAs' leaves untouched");
        });

        it("refuses to drop the rotation in promote", () => {
            assert.throws(
                () => new ClusterPki("x", { ...BASE, previous: { rotationState: rig.last!.rotationState } }),
                /caRotation\.[a-z-]+: "none" refused .*"promote"/,
            );
        });

        it("distrust: the old CA leaves every bundle and the stack", async () => {
            const r = await rig.run(at(3), { caRotation: { [caId]: "distrust" } });
            assert.deepEqual(r.replaced, []);
            const bundle = pems(r.files["cp-1"][bundleFile[caId]]);
            assert.deepEqual(bundle.map((p) => p.trim()), [newCa.trim()]);
            const registered = rig.em.resources.filter((x) => x.run === rig.em.run).map((x) => x.name);
            assert.ok(!registered.includes(`rot-${caId}-key`), "generation 0 is no longer declared");
            assert.ok((await verifyAt([newCa], r.files["cp-1"][sample[caId]])).ok);
            const inv = await valueOf(r.pki.inventory);
            assert.deepEqual(inv.filter((e) => e.id === caId).map((e) => e.generation), [1]);
        });

        it("after distrust the next rotation starts again from stage", async () => {
            const r = await rig.run(at(4), {});
            assert.deepEqual(r.pki.rotationState[caId], { phase: "none", generation: 1 });
            assert.deepEqual(r.replaced, []);
        });
    });
}

describe("service-account key rotation", function () {
    const rig = new Rig();
    it("stage puts both public keys in sa.pub, promote switches sa.key, distrust drops the old key", async () => {
        const r0 = await rig.run(T0);
        const oldKey = r0.files["cp-1"]["etc/kubernetes/pki/sa.key"];
        const r1 = await rig.run(at(1), { caRotation: { sa: "stage" } });
        assert.equal((r1.files["cp-1"]["etc/kubernetes/pki/sa.pub"].match(/BEGIN PUBLIC KEY/g) ?? []).length, 2);
        assert.equal(r1.files["cp-1"]["etc/kubernetes/pki/sa.key"], oldKey);
        const r2 = await rig.run(at(2), { caRotation: { sa: "promote" } });
        assert.notEqual(r2.files["cp-1"]["etc/kubernetes/pki/sa.key"], oldKey);
        assert.equal((r2.files["cp-1"]["etc/kubernetes/pki/sa.pub"].match(/BEGIN PUBLIC KEY/g) ?? []).length, 2);
        assert.deepEqual(r2.replaced, [], "no certificate depends on the SA key");
        const r3 = await rig.run(at(3), { caRotation: { sa: "distrust" } });
        assert.equal((r3.files["cp-1"]["etc/kubernetes/pki/sa.pub"].match(/BEGIN PUBLIC KEY/g) ?? []).length, 1);
    });
});
