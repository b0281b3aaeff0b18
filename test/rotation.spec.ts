/**
 * Rotation across runs: the emulator keeps state between runs like the engine does (same / replace ops,
 * replacementTrigger), so each spec runs the component repeatedly and checks exactly what is replaced.
 */
import { strict as assert } from "node:assert";
import { ALLOW_WHAT_IF_UP_ENV, ClusterPki, ConfigError, leafDecision, leafRenewal, nextCaState, whatIfClock } from "../components/internal";
import { setupMocks } from "./support/tls-emulator";
import { parseCert } from "./support/x509";
import { valueOf } from "./support/resolve";
import { ALICE_PERIOD, at, BASE, HOUR, PERIOD, Rig, Run, T0, verifyAt } from "./support/rotation-rig";
import * as pulumi from "@pulumi/pulumi";

const log = pulumi.log as unknown as { warn: (msg: string, res?: pulumi.Resource) => Promise<void> };

const leafNames = (...leaves: string[]) => leaves.flatMap((l) => [`rot-${l}-key`, `rot-${l}-csr`, `rot-${l}-cert`]).sort();
const pems = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

describe("rotation model (pure)", () => {
    it("a leaf renews when the clock reaches its own notAfter − renewBefore, never before", () => {
        const notAfterMs = T0.getTime() + 100 * HOUR;
        const renewAt = notAfterMs - 20 * HOUR;
        const at = (nowMs: number) => leafRenewal({ previousToken: "r3;apiserver=1", previous: { notAfterMs }, renewBeforeHours: 20, nowMs, generations: { apiserver: 1 } });
        // Every minute of the certificate's life and beyond: renewed exactly from renewAt on.
        for (let t = T0.getTime(); t <= notAfterMs + 2 * HOUR; t += 7 * 60_000) {
            const r = at(t);
            assert.equal(r.renewed, t >= renewAt, new Date(t).toISOString());
            assert.equal(r.token, t >= renewAt ? "r4;apiserver=1" : "r3;apiserver=1");
        }
        assert.equal(at(renewAt - 1).renewed, false, "1 ms before the window");
        assert.equal(at(renewAt).renewed, true, "at the window");
        assert.match(at(renewAt).reason!, /renewal window \(notAfter 2030-01-05T05:00:00Z − renewBefore 20h = 2030-01-04T09:00:00Z\)/);
        assert.equal(at(renewAt).renewAtMs, renewAt);
    });

    it("tokens: r0 for a new certificate, manual generations appended and explained, legacy epoch tokens kept until due", () => {
        const base = { renewBeforeHours: 20, nowMs: T0.getTime() };
        assert.deepEqual(leafRenewal({ ...base, generations: {} }), { token: "r0", renewed: false });
        assert.equal(leafRenewal({ ...base, generations: { "node:b": 1, apiserver: 2, "group:all": 0 } }).token, "r0;apiserver=2;node:b=1");
        const manual = leafRenewal({ ...base, previousToken: "r0", previous: { notAfterMs: T0.getTime() + 50 * HOUR }, generations: { apiserver: 1 } });
        assert.equal(manual.token, "r0;apiserver=1");
        assert.match(manual.reason!, /^manual rotation \(apiserver\)$/);
        // A stack of the epoch-aligned model: its token is kept (no rotation) until the certificate itself is due.
        const legacy = { ...base, previousToken: "e62;node:cp-1=1", generations: { "node:cp-1": 1 } };
        assert.deepEqual(leafRenewal({ ...legacy, previous: { notAfterMs: T0.getTime() + 21 * HOUR } }), { token: "e62;node:cp-1=1", renewed: false, renewAtMs: T0.getTime() + HOUR });
        assert.equal(leafRenewal({ ...legacy, previous: { notAfterMs: T0.getTime() + 20 * HOUR } }).token, "r1;node:cp-1=1");
        // Without the previous notAfter nothing is decided here (the provider's earlyRenewalHours is the net).
        assert.equal(leafRenewal({ ...legacy }).token, "e62;node:cp-1=1");
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

    it("the schedule is each certificate's own: alice first, 34h after she was issued", () => {
        assert.deepEqual(first.pki.nextRotation.certificates, ["user/alice"]);
        assert.equal(first.pki.nextRotation.at, at(ALICE_PERIOD).toISOString());
        assert.equal(first.pki.nextRotation.clock, T0.toISOString());
    });

    it("inside every window: 0 changes, up to 1 s before alice's", async () => {
        for (const h of [10, ALICE_PERIOD - 1 / 3600]) {
            const r = await rig.run(at(h));
            assert.deepEqual(r.replaced, [], `at +${h}h`);
            assert.deepEqual(r.created, []);
            assert.match(r.pki.rotationSummaryText, /no leaf certificate rotates/);
        }
    });

    it("at alice's notAfter − renewBefore only her key, CSR and cert are replaced", async () => {
        const r = await rig.run(at(ALICE_PERIOD));
        assert.deepEqual(r.replaced, leafNames("user-alice"));
        assert.match(r.pki.rotationSummaryText, /user\/alice: renewal window \(notAfter 2030-01-03T03:00:00Z − renewBefore 16h = 2030-01-02T11:00:00Z\)/);
        const cert = parseCert(Buffer.from(/client-certificate-data: (\S+)/.exec(r.kubeconfigs["users/alice.conf"])![1], "base64").toString());
        assert.equal(cert.subjectCN, "alice");
        assert.equal(new Date(cert.node.validTo).getTime(), at(ALICE_PERIOD + 50).getTime(), "her new certificate runs 50h from now");
        assert.equal(r.pki.rotationTokens["user/alice"], "r1");
        assert.equal(r.pki.rotationTokens["apiserver/cp-1"], "r0");
    });

    it("a preview 1 s before the other leaves' window plans alice again (her window since +68h) and nothing else", async () => {
        const r = await rig.run(new Date(at(PERIOD).getTime() - 1000), {}, true);
        assert.deepEqual(r.replaced, leafNames("user-alice"));
    });

    it("a preview at the leaf boundary plans the replacement of every leaf and nothing else", async () => {
        const r = await rig.run(at(PERIOD), {}, true);
        const everyLeaf = Object.keys(rig.last!.leaves);
        assert.ok(everyLeaf.length >= 10);
        for (const key of everyLeaf) {
            const name = `rot-${key.replace("/", "-")}-key`;
            assert.ok(r.replaced.includes(name), `${name} replaced in preview`);
        }
        assert.ok(!r.replaced.some((n) => /^rot-(ca|etcd-ca|front-proxy-ca|sa)-/.test(n)), "CAs and SA untouched");
        assert.match(r.pki.rotationSummaryText, /leaf certificate\(s\) rotate/);
    });

    it("up at the boundary renews the leaves: new keys, certs still chain to the same CA", async () => {
        const before = rig.last!;
        const oldKey = await valueOf(before.leaves["apiserver/cp-1"].keyPem);
        const r = await rig.run(at(PERIOD));
        assert.ok(r.replaced.includes("rot-apiserver-cp-1-key"));
        assert.ok(!r.replaced.some((n) => /^rot-(ca|etcd-ca|front-proxy-ca|sa)-/.test(n)));
        const newKey = await valueOf(r.pki.leaves["apiserver/cp-1"].keyPem);
        assert.notEqual(newKey, oldKey);
        const ca = await valueOf(r.pki.caCertificates.ca);
        assert.ok((await verifyAt([ca], r.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"])).ok);
        assert.equal(r.pki.rotationTokens["apiserver/cp-1"], "r1");
        assert.equal(r.pki.nextRotation.at, at(PERIOD + ALICE_PERIOD).toISOString(), "next: alice, 34h after this renewal, not on an epoch grid");
        const apiserver = rig.lastInventory!.find((e) => e.id === "apiserver" && e.node === "cp-1")!;
        assert.equal(apiserver.notAfter, at(PERIOD + 100).toISOString().replace(".000Z", "Z"), "renewed for its full 100h");
    });

    it("a clock earlier than the previous run's is refused with the reason, unless allowed", async () => {
        const back = new Date(at(PERIOD).getTime() - 1000);
        assert.throws(
            () => new ClusterPki("rot", { ...BASE, now: back.toISOString(), previous: rig.previous() }),
            (e: unknown) =>
                e instanceof ConfigError &&
                e.problems.some((p) => /^now: 2030-01-04T08:59:59\.000Z is earlier than the previous run's clock 2030-01-04T09:00:00\.000Z: the renewal schedule assumes/.test(p) && /KUBE_PKI_ALLOW_CLOCK_BACKWARDS=1/.test(p)),
        );
        process.env.KUBE_PKI_ALLOW_CLOCK_BACKWARDS = "1";
        try {
            const r = await rig.run(at(1), {}, true);
            assert.deepEqual(r.replaced, [], "a past clock renews nothing");
        } finally {
            delete process.env.KUBE_PKI_ALLOW_CLOCK_BACKWARDS;
        }
    });
});

describe("migration from epoch-aligned tokens", function () {
    const rig = new Rig();
    it("the first run of the new code rotates nothing that is not due, then renews on the certificate's own window", async () => {
        // A stack written by the epoch model: tokens e<epoch>, an inventory without issuerGeneration, no clock.
        const keys = Object.keys((await rig.run(T0, {}, true)).pki.rotationTokens);
        const legacyTokens = Object.fromEntries(keys.map((k) => [k, k === "apiserver/cp-1" ? "e6341;apiserver/cp-1=1" : "e6341"]));
        const legacyRotate = { rotate: { "apiserver/cp-1": 1 } };
        await rig.run(T0, { ...legacyRotate, previous: { rotationTokens: legacyTokens } });
        assert.deepEqual(rig.last!.rotationTokens, legacyTokens, "emulates the old stack's triggers");
        const legacyInventory = rig.lastInventory!.map(({ issuerGeneration, shortenedFromHours, ...e }) => e);
        const legacy = { rotationState: rig.last!.rotationState, rotationTokens: legacyTokens, inventory: legacyInventory };
        // Without a recorded clock, the latest NotBefore of the previous inventory stands for it.
        assert.throws(
            () => new ClusterPki("rot", { ...BASE, ...legacyRotate, now: at(-1).toISOString(), previous: legacy }),
            /now: 2030-01-01T00:00:00\.000Z is earlier than the previous run's clock 2030-01-01T01:00:00\.000Z/,
        );
        const r = await rig.run(at(10), { ...legacyRotate, previous: legacy });
        assert.deepEqual(r.replaced, []);
        assert.deepEqual(r.pki.rotationTokens, legacyTokens);
        assert.match(r.pki.rotationSummaryText, /no leaf certificate rotates/);
        const due = await rig.run(at(PERIOD), legacyRotate);
        assert.ok(due.replaced.includes("rot-apiserver-cp-1-key"));
        assert.equal(due.pki.rotationTokens["apiserver/cp-1"], "r1;apiserver/cp-1=1");
    });
});

describe("a leaf never outlives its CA", function () {
    it("equal validities: the leaf is shortened to the CA's remaining life, the run says so, and the cap is stable", async () => {
        const rig = new Rig();
        const warnings: string[] = [];
        const orig = log.warn;
        log.warn = async (msg: string) => void warnings.push(msg);
        try {
            const r = await rig.run(T0, { caValidity: "100h", caRenewBefore: "10h", leafValidity: "100h", leafRenewBefore: "20h", users: [] });
            const ca = parseCert(await valueOf(r.pki.caCertificates.ca));
            const leaf = parseCert(r.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"]);
            assert.ok(new Date(leaf.node.validTo).getTime() <= new Date(ca.node.validTo).getTime(), `${leaf.node.validTo} ≤ ${ca.node.validTo}`);
            assert.equal(new Date(leaf.node.validTo).getTime(), at(99).getTime());
            const entry = rig.lastInventory!.find((e) => e.id === "apiserver" && e.node === "cp-1")!;
            assert.equal(entry.validityHours, 99);
            assert.equal(entry.shortenedFromHours, 100);
            assert.ok(warnings.some((w) => /^apiserver\/cp-1: validity shortened 100h → 99h so it does not outlive its CA ca \(generation 0/.test(w)), warnings.join("\n"));
            const again = await rig.run(at(5), { caValidity: "100h", caRenewBefore: "10h", leafValidity: "100h", leafRenewBefore: "20h", users: [] });
            assert.deepEqual(again.replaced, [], "a kept certificate keeps its validity: no replacement as the CA ages");
        } finally {
            log.warn = orig;
        }
    });

    it("renewed late in the CA's life, a leaf ends before the CA", async () => {
        const rig = new Rig();
        const cfg = { caValidity: "150h", caRenewBefore: "10h", users: [] };
        await rig.run(T0, cfg);
        const r = await rig.run(at(PERIOD), cfg);
        assert.ok(r.replaced.includes("rot-apiserver-cp-1-cert"));
        const ca = parseCert(await valueOf(r.pki.caCertificates.ca));
        const leaf = parseCert(r.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"]);
        assert.equal(new Date(leaf.node.validTo).getTime(), at(PERIOD + 69).getTime(), "150h − 80h − 1h margin");
        assert.ok(new Date(leaf.node.validTo) < new Date(ca.node.validTo));
        assert.match(r.pki.rotationSummaryText, /leaf certificate\(s\) shortened so they do not outlive their CA[^]*- apiserver\/cp-1 \(100h → 69h\)/);
        // Its renewal is anchored on the shortened notAfter: 69h − 20h after issue.
        assert.equal(r.pki.nextRotation.at, at(PERIOD + 49).toISOString());
        // At that window the CA has 21h left: a leaf issued now would be due at once. The run fails and says why.
        const errors: string[] = [];
        const logs = pulumi.log as unknown as { error: (msg: string, res?: pulumi.Resource) => Promise<void> };
        const orig = logs.error;
        logs.error = async (msg: string) => void errors.push(msg);
        try {
            await rig.run(at(PERIOD + 49), cfg, true);
        } finally {
            logs.error = orig;
        }
        assert.ok(
            errors.some((e) => /^apiserver\/cp-1: its CA ca \(generation 0\) expires .*: a leaf issued now could live 20h, inside its renewBefore \(20h\); rotate the CA first/.test(e)),
            errors.join("\n"),
        );
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
            // the summary says what the preview replaces: one re-signed leaf per replaced certificate
            const m = /no leaf gets a new key; (\d+) leaf certificate\(s\) are re-signed by the promoted (\S+)/.exec(r.pki.rotationSummaryText);
            assert.ok(m, r.pki.rotationSummaryText);
            assert.equal(Number(m[1]), r.replaced.length);
            assert.equal(m[2], caId);
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

describe("leaf renewal reasons (renewal.ts: named policies, chained)", () => {
    const base = { renewBeforeHours: 20, nowMs: T0.getTime(), generations: {}, validityHours: 100, issuerGeneration: 0 };
    const kept = { notAfterMs: T0.getTime() + 50 * HOUR, validityHours: 100, issuerGeneration: 0 };
    const codes = (d: ReturnType<typeof leafDecision>) => d.reasons.map((r) => r.code);

    it("a kept certificate has no reason: same token, not re-issued", () => {
        const d = leafDecision({ ...base, previousToken: "r2", previous: kept });
        assert.deepEqual(d, { token: "r2", reasons: [], newKey: false, reissue: false });
    });

    it("each policy names its reason; only the clock and manual generations replace the key", () => {
        const due = leafDecision({ ...base, previousToken: "r2", previous: { ...kept, notAfterMs: T0.getTime() + 20 * HOUR } });
        assert.deepEqual(codes(due), ["RenewalWindow"]);
        assert.equal(due.token, "r3");
        assert.ok(due.newKey && due.reissue);
        assert.match(due.keyReason!, /^renewal window \(notAfter 2030-01-01T21:00:00Z − renewBefore 20h = 2030-01-01T01:00:00Z\)$/);
        const manual = leafDecision({ ...base, previousToken: "r2", previous: kept, generations: { "node:cp-1": 1 } });
        assert.deepEqual(codes(manual), ["ManualRotation"]);
        assert.equal(manual.keyReason, "manual rotation (node:cp-1)");
        const longer = leafDecision({ ...base, previousToken: "r2", previous: kept, validityHours: 200 });
        assert.deepEqual(longer.reasons, [{ code: "ValidityChanged", message: "validity 100h → 200h", newKey: false }]);
        assert.ok(longer.reissue && !longer.newKey && longer.keyReason === undefined);
        const promoted = leafDecision({ ...base, previousToken: "r2", previous: kept, issuerGeneration: 1 });
        assert.deepEqual(promoted.reasons, [{ code: "IssuerChanged", message: "issuer generation 0 → 1", newKey: false }]);
        assert.deepEqual(codes(leafDecision(base)), ["NoPreviousCertificate"]);
        assert.equal(leafDecision({ ...base, previousToken: "r0" }).reasons[0].message, "no notAfter from the previous run");
    });

    it("reasons chain in policy order, and the key reasons join like the summary prints them", () => {
        const d = leafDecision({ ...base, previousToken: "r2", previous: { ...kept, notAfterMs: T0.getTime() + 10 * HOUR }, generations: { apiserver: 1 }, validityHours: 90 });
        assert.deepEqual(codes(d), ["RenewalWindow", "ManualRotation", "ValidityChanged"]);
        assert.match(d.keyReason!, /^renewal window \(.*\) \+ manual rotation \(apiserver\)$/);
        // the token is leafRenewal's: one schedule for the component and the report
        const r = leafRenewal({ previousToken: "r2", previous: { notAfterMs: T0.getTime() + 10 * HOUR }, renewBeforeHours: 20, nowMs: T0.getTime(), generations: { apiserver: 1 } });
        assert.equal(d.token, r.token);
        assert.equal(d.keyReason, r.reason);
    });

    it("the rotation summary names a certificate re-issued with its key (validity changed)", async () => {
        const rig = new Rig();
        await rig.run(T0);
        const r = await rig.run(at(1), { leafValidity: "90h" });
        assert.match(r.pki.rotationSummaryText, /no leaf certificate rotates/);
        assert.match(r.pki.rotationSummaryText, /leaf certificate\(s\) re-issued with the key they had:[^]*- apiserver\/cp-1: validity 100h → 90h/);
    });
});

describe("the what-if clock (KUBE_PKI_NOW / kube-pki:now): a preview may use it, `up` writes with the real clock", function () {
    const FAR = () => new Date(Date.now() + 5 * 8760 * HOUR);
    const ARGS = { ...BASE, workerPools: [{ name: "general" }] };
    let saved: string | undefined;
    beforeEach(() => (saved = process.env[ALLOW_WHAT_IF_UP_ENV]));
    afterEach(() => {
        if (saved === undefined) delete process.env[ALLOW_WHAT_IF_UP_ENV];
        else process.env[ALLOW_WHAT_IF_UP_ENV] = saved;
    });
    /** A run whose provider lives on the real clock, with the test-only opt-in removed. */
    const install = (preview: boolean) => {
        const em = setupMocks({ preview, now: () => new Date() });
        delete process.env[ALLOW_WHAT_IF_UP_ENV];
        return em;
    };

    it("the rule (pure): within 5 min is no what-if; a preview is told; an up is refused, or warned with the opt-in", () => {
        const realMs = Date.parse("2026-12-07T12:00:00Z");
        assert.deepEqual(whatIfClock({ nowMs: realMs + 4 * 60_000, realMs, dryRun: false, env: {} }), { whatIf: false });
        const preview = whatIfClock({ nowMs: realMs + 43800 * HOUR, realMs, dryRun: true, env: {} });
        assert.ok(preview.whatIf && !preview.refusal);
        assert.match(preview.warning!, /what-if clock: the clock 2031-12-06T12:00:00.000Z .* is 43800h ahead of the real clock 2026-12-07T12:00:00.000Z/);
        const up = whatIfClock({ nowMs: realMs - 48 * HOUR, realMs, dryRun: false, env: {} });
        assert.match(up.refusal!, /48h behind the real clock[^]*Unset KUBE_PKI_NOW and remove kube-pki:now/);
        const optedIn = whatIfClock({ nowMs: realMs + 17 * HOUR, realMs, dryRun: false, env: { [ALLOW_WHAT_IF_UP_ENV]: "1" } });
        assert.ok(!optedIn.refusal);
        assert.match(optedIn.warning!, /KUBE_PKI_ALLOW_WHAT_IF_UP=1 \(test only\)[^]*this up WRITES dates from it/);
    });

    it("up with a clock five years ahead is refused naming `now`, and nothing is registered (no 5-year bootstrap token)", () => {
        const em = install(false);
        assert.throws(
            () => new ClusterPki("rot", { ...ARGS, now: FAR().toISOString() }),
            (e: unknown) => e instanceof ConfigError && /^now: the clock .* is 43800h ahead of the real clock/.test(e.problems[0]) && /kube-pki:now/.test(e.message),
        );
        assert.equal(em.resources.length, 0, "nothing registered");
    });

    it("a preview with the same clock shows what would happen then (tokens dated from it) and says it is a what-if", async () => {
        install(true);
        const warned: string[] = [];
        const orig = pulumi.log.warn;
        (pulumi.log as { warn: unknown }).warn = (msg: string) => {
            warned.push(msg);
            return Promise.resolve();
        };
        try {
            const far = FAR();
            const pki = new ClusterPki("rot", { ...ARGS, now: far.toISOString() });
            const expiration = Date.parse(pki.workerPoolTokens.general[0].expiration);
            assert.ok(Math.abs(expiration - (far.getTime() + 24 * HOUR)) < 2000, pki.workerPoolTokens.general[0].expiration);
            assert.ok(warned.some((w) => /^what-if clock: .*this preview shows what would happen then/.test(w)), warned.join("\n"));
        } finally {
            (pulumi.log as { warn: unknown }).warn = orig;
        }
    });

    it("up on the real clock needs no opt-in; the token expires a day from now", () => {
        install(false);
        const before = Date.now();
        const pki = new ClusterPki("rot", { ...ARGS });
        const expiration = Date.parse(pki.workerPoolTokens.general[0].expiration);
        assert.ok(expiration >= before + 24 * HOUR - 1000 && expiration <= Date.now() + 24 * HOUR, pki.workerPoolTokens.general[0].expiration);
    });
});
