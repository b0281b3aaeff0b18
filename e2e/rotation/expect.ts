/** Step "ca-rotation": what each phase's plan and node tree must be (stage creates, promote re-signs, distrust deletes). */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { at, CaState, CLUSTER, KUBECONFIGS, LEAF_FILES, PAIRS, pemBlocks, Phase, pki, read, Rotated, Snapshot, spki } from "./fixture";
import { kubeconfigCred } from "./probes";
import { Plan, RotationRun } from "./run";

export function caState(outputs: Record<string, any>, ca: Rotated): CaState {
    return outputs.rotationState?.[ca] ?? { phase: "none", generation: 0 };
}

/** Resource names of one CA generation (the component's naming: no suffix for generation 0). */
export function generationResources(ca: Rotated, gen: number): string[] {
    const base = `${CLUSTER}-${ca}${gen === 0 ? "" : `-g${gen}`}`;
    return ca === "sa" ? [base] : [base, `${base}-key`, `${base}-cert`];
}

/** LocallySignedCert names of every leaf the CA signs (from the inventory output). */
export function leafCertResources(outputs: Record<string, any>, ca: Rotated): string[] {
    return (outputs.inventory as any[])
        .filter((e) => !e.isCa && e.issuer === ca)
        .map((e) => `${CLUSTER}-${e.id}${e.node ? `-${e.node}` : e.user ? `-${e.user}` : ""}-cert`)
        .sort();
}

export function checkPlan(r: RotationRun, ca: Rotated, phase: Phase, plan: Plan, prev: CaState) {
    const outputs = r.current.outputs;
    const sorted = (a: string[]) => [...a].sort();
    const label = `preview ${ca} ${phase}`;
    const transition = `${ca}: ${prev.phase} → ${phase}`;
    r.s.check(`${label}: the program's rotation summary says "${transition}"`, plan.output.includes(transition), plan.output.slice(-1500));
    const planText = JSON.stringify({ creates: plan.creates, replaces: plan.replaces.map((r) => r.name), deletes: plan.deletes, others: plan.others, summary: plan.summary });
    if (phase === "stage") {
        const expected = generationResources(ca, prev.generation + 1);
        r.s.check(
            `${label}: only creates — generation ${prev.generation + 1} (${expected.join(", ")}); nothing replaced, updated or deleted`,
            JSON.stringify(sorted(plan.creates)) === JSON.stringify(sorted(expected)) && !plan.replaces.length && !plan.deletes.length && !plan.others.length &&
                JSON.stringify(plan.summary) === JSON.stringify({ create: expected.length }),
            planText,
        );
    } else if (phase === "promote") {
        const expected = ca === "sa" ? [] : leafCertResources(outputs, ca);
        const names = sorted(plan.replaces.map((r) => r.name));
        const nonCert = plan.replaces.filter((r) => r.type !== "tls:index/locallySignedCert:LocallySignedCert");
        r.s.check(
            ca === "sa"
                ? `${label}: no resource changes (sa.key switches to generation ${prev.generation + 1}, sa.pub reorders: outputs only)`
                : `${label}: replaces exactly the ${expected.length} LocallySignedCert${expected.length === 1 ? "" : "s"} signed by ${ca} (keys and CSRs kept); nothing created, updated or deleted`,
            JSON.stringify(names) === JSON.stringify(expected) && !nonCert.length && !plan.creates.length && !plan.deletes.length && !plan.others.length &&
                JSON.stringify(plan.summary) === JSON.stringify(expected.length ? { replace: expected.length } : {}),
            `expected replaces ${JSON.stringify(expected)}\n${planText}`,
        );
    } else {
        const expected = generationResources(ca, prev.generation - 1);
        r.s.check(
            `${label}: only deletes — generation ${prev.generation - 1} (${expected.join(", ")})`,
            JSON.stringify(sorted(plan.deletes)) === JSON.stringify(sorted(expected)) && !plan.creates.length && !plan.replaces.length && !plan.others.length &&
                JSON.stringify(plan.summary) === JSON.stringify({ delete: expected.length }),
            planText,
        );
    }
    return plan;
}

/** The new tree of a CA: bundle size and order, key pairing, leaves under the active CA, promote keeps keys. */
export function checkTree(r: RotationRun, ca: Rotated, phase: Phase, prev: Snapshot, snap: Snapshot) {
    const { bundle, key } = PAIRS[ca];
    const label = `${snap.label} tree`;
    const isSa = ca === "sa";
    const entries = (s: Snapshot) => pemBlocks(read(at(s, `cp-1/${bundle}`)), isSa ? "PUBLIC KEY" : "CERTIFICATE");
    const ids = (s: Snapshot) => entries(s).map((p) => spki(isSa ? createPublicKey(p) : new X509Certificate(p).publicKey));
    const before = ids(prev);
    const after = ids(snap);
    const expected = { stage: [before[0], "<new>"], promote: [before[1], before[0]], distrust: [before[0]] }[phase];
    const orderOk =
        after.length === expected.length &&
        after.every((id, i) => (expected[i] === "<new>" ? !before.includes(id) : id === expected[i]));
    const what = { stage: "old + new (old first)", promote: "new + old (the staged one first)", distrust: "new only" }[phase];
    const shortName = (f: string) => f.replace("etc/kubernetes/pki/", "");
    r.s.check(`${label}: ${shortName(bundle)} holds ${what}`, orderOk, `before ${before.map((x) => x.slice(0, 12)).join(", ")}; after ${after.map((x) => x.slice(0, 12)).join(", ")}`);
    const keyId = spki(createPublicKey(createPrivateKey(read(at(snap, `cp-1/${key}`)))));
    r.s.check(
        `${label}: the first ${isSa ? "key of sa.pub" : `certificate of ${shortName(bundle)}`} pairs with ${shortName(key)} (what kubeadm and the signers load)`,
        after[0] === keyId,
        `first ${after[0]?.slice(0, 12)}, key ${keyId.slice(0, 12)}`,
    );
    if (isSa) return;
    const active = new X509Certificate(entries(snap)[0]!);
    const leafPems: { name: string; pem: string; key?: string; prevKey?: string; prevPem?: string }[] = LEAF_FILES[ca].map((f) => ({
        name: `${f}.crt`,
        pem: read(pki(snap, `${f}.crt`)),
        key: read(pki(snap, `${f}.key`)),
        prevKey: read(pki(prev, `${f}.key`)),
        prevPem: read(pki(prev, `${f}.crt`)),
    }));
    const caDataOff: string[] = [];
    if (ca === "ca") {
        for (const k of KUBECONFIGS) {
            const c = kubeconfigCred("", at(snap, k.file), k.user);
            const p = kubeconfigCred("", at(prev, k.file), k.user);
            leafPems.push({ name: k.name, pem: c.cert!, key: c.key, prevKey: p.key, prevPem: p.cert });
            if (c.ca() !== read(at(snap, `cp-1/${bundle}`))) caDataOff.push(k.name);
        }
        const workerCa = read(at(snap, "worker-1/etc/kubernetes/pki/ca.crt"));
        r.s.check(
            `${label}: every kubeconfig's CA data and worker-1 pki/ca.crt are cp-1's ca.crt bundle`,
            workerCa === read(at(snap, `cp-1/${bundle}`)) && caDataOff.length === 0,
            `differs: ${[...caDataOff, ...(workerCa === read(at(snap, `cp-1/${bundle}`)) ? [] : ["worker-1 pki/ca.crt"])].join(", ")}`,
        );
    }
    const unsigned = leafPems.filter((l) => !new X509Certificate(l.pem).verify(active.publicKey)).map((l) => l.name);
    r.s.check(
        `${label}: ${leafPems.length === 1 ? "the leaf" : `all ${leafPems.length} leaves`} of ${ca} (certs${ca === "ca" ? " and kubeconfig client certs" : ""}) verify against the bundle's first CA`,
        unsigned.length === 0,
        unsigned.join(", "),
    );
    const keyChanged = leafPems.filter((l) => l.key !== l.prevKey).map((l) => l.name);
    const certSame = leafPems.filter((l) => l.pem === l.prevPem).map((l) => l.name);
    if (phase === "promote") {
        r.s.check(
            `${label}: promote re-signed every leaf of ${ca} (${leafPems.length}) and kept every private key`,
            keyChanged.length === 0 && certSame.length === 0,
            `keys changed: ${keyChanged.join(", ") || "none"}; certs unchanged: ${certSame.join(", ") || "none"}`,
        );
    } else {
        r.s.check(
            `${label}: ${phase} left every leaf of ${ca} (cert and key) as it was`,
            keyChanged.length === 0 && certSame.length === leafPems.length,
            `keys changed: ${keyChanged.join(", ") || "none"}; certs changed: ${leafPems.filter((l) => l.pem !== l.prevPem).map((l) => l.name).join(", ") || "none"}`,
        );
    }
}
