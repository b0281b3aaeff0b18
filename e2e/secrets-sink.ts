/**
 * Step "secrets-sink": the Kubernetes Secrets sink through the real kubernetes provider (pulumi-resource-kubernetes
 * built from Go modules) against the kube-apiserver booted from stack e2e's own tree.
 *
 *  1. `kube-pki:secretsSink` is added to stack e2e (admin.conf, a namespace, two leaves, one CA key, the
 *     kubeadm:cluster-admins binding and a pod-reader binding for alice's group) and `pulumi up` creates only the sink;
 *  2. `kubectl get` returns kubernetes.io/tls Secrets whose tls.crt / tls.key / ca.crt are the stack's PEMs, the
 *     trust-bundle ConfigMap, the CA key Secret, and bindings that take effect (alice can list pods, not secrets);
 *  3. the exported state holds the Secrets' data as ciphertext, and a preview shows 0 changes;
 *  4. an explicit rotation of one leaf updates its Secret in place (enableSecretMutable: `update`, not `replace`);
 *  5. removing the config deletes exactly what the sink created; kubeadm:cluster-admins is retained (retainOnDelete).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Ctx } from "./steps";
import { exportEncrypted, isSelfRead, Op, plainOutputs, pulumiOp, recordOps } from "./pulumi";
import { checkExportedState } from "./secrets";
import { sleep } from "./procs";

const NAMESPACE = "kube-pki-e2e";
const PREFIX = "kube-pki-";
const SINK = {
    namespace: NAMESPACE,
    labels: { "kube-pki.io/e2e": "secrets-sink" },
    certificates: ["front-proxy-client/cp-1", "apiserver-kubelet-client/cp-1"],
    caKeys: ["front-proxy-ca"],
    clusterAdmins: true,
    // not `view`: the built-in view/edit/admin roles stay empty until kube-controller-manager aggregates them (step
    // "controllers" checks that); a plain ClusterRole that this step creates keeps it independent of that step
    groupBindings: [{ group: "dev-team", clusterRole: "kube-pki-e2e-pod-reader" }],
};

/** Ops that are not changes to resources: the program's read of its own previous outputs, the Stack's outputs. */
const bookkeeping = (o: Op) => isSelfRead(o) || o.type === "pulumi:pulumi:Stack";
const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString("utf8");

export async function stepSecretsSink(ctx: Ctx, signal: AbortSignal) {
    try {
        await sinkScenario(ctx, signal);
    } catch (e) {
        // the control plane stops after this step: take the sink out while the apiserver can still delete it,
        // so that teardown's destroy does not need a cluster (best effort; the step fails anyway)
        try {
            await ctx.main!.stack.removeConfig("kube-pki:secretsSink");
            await pulumiOp("up-e2e-sink-cleanup", signal, (o) => ctx.main!.stack.up(o));
        } catch (cleanup) {
            ctx.suite.info(`cleanup after the failure did not complete: ${(cleanup as Error).message.split("\n")[0]}`);
        }
        throw e;
    }
}

async function sinkScenario(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const started = Date.now();
    const main = ctx.main!;
    const cp = ctx.cp!;
    const stack = main.stack;
    const superAdmin = path.join(main.treeRoot, "cp-1/etc/kubernetes/super-admin.conf");
    const admin = path.join(main.treeRoot, "cp-1/etc/kubernetes/admin.conf");
    const alice = path.join(ctx.work, "alice-sink.conf");
    fs.writeFileSync(alice, main.outputs.kubeconfigs["users/alice.conf"], { mode: 0o600 });
    const kubectl = (args: string[], kc = admin) => cp.kubectl(kc, args);
    const getJson = async (args: string[]) => {
        const r = await kubectl([...args, "-o", "json"]);
        return r.code === 0 ? JSON.parse(r.stdout) : undefined;
    };

    const canAlice = await kubectl(["auth", "can-i", "list", "pods", "-n", NAMESPACE], alice);
    s.check("before the sink: alice (dev-team) cannot list pods", canAlice.stdout.trim() === "no", canAlice.output);
    const ns = await kubectl(["create", "namespace", NAMESPACE], superAdmin);
    s.check(`namespace ${NAMESPACE} created (the sink requires an existing namespace)`, ns.code === 0, ns.output);
    const role = await kubectl(["create", "clusterrole", "kube-pki-e2e-pod-reader", "--verb=get,list,watch", "--resource=pods"], superAdmin);
    s.check("ClusterRole kube-pki-e2e-pod-reader created (what the group binding grants)", role.code === 0, role.output);

    // 1. up with the sink
    await stack.setConfig("kube-pki:secretsSink", { value: JSON.stringify(SINK) });
    const upOps: Op[] = [];
    const up = await pulumiOp("up-e2e-secrets-sink", signal, (o) => stack.up({ ...o, onEvent: recordOps(upOps) }));
    const created = upOps.filter((o) => o.op === "create").map((o) => o.type).sort();
    const others = upOps.filter((o) => !["create", "same"].includes(o.op) && !bookkeeping(o));
    s.check(
        `pulumi up with kube-pki:secretsSink: creates only the sink (${created.length}: ${[...new Set(created)].join(", ")}), everything else same`,
        up.summary.result === "succeeded" &&
            others.length === 0 &&
            created.filter((t) => t.startsWith("kubernetes:")).length === 6 &&
            created.every((t) => t.startsWith("kubernetes:") || ["pulumi:providers:kubernetes", "kube-pki:index:KubernetesSecrets"].includes(t)),
        `${up.summary.result}; other ops: ${others.map((o) => `${o.op} ${o.urn}`).join("\n")}; created: ${created.join(", ")}`,
    );
    let outputs = plainOutputs(up.outputs);

    // 2. what the apiserver holds
    await checkCluster(ctx, outputs, getJson, "after up");
    let can = await kubectl(["auth", "can-i", "list", "pods", "-n", NAMESPACE], alice);
    for (let i = 0; i < 15 && can.stdout.trim() !== "yes"; i++) {
        await sleep(1000); // RBAC informer catching up
        can = await kubectl(["auth", "can-i", "list", "pods", "-n", NAMESPACE], alice);
    }
    s.check("ClusterRoleBinding kube-pki-kube-pki-e2e-pod-reader:dev-team: alice can list pods", can.stdout.trim() === "yes", can.output);
    const canSecrets = await kubectl(["auth", "can-i", "get", "secrets", "-n", NAMESPACE], alice);
    s.check("…and cannot read the Secrets", canSecrets.stdout.trim() === "no", canSecrets.output);
    const crb = await getJson(["get", "clusterrolebinding", "kubeadm:cluster-admins", "--show-managed-fields"]);
    const managers: string[] = (crb?.metadata?.managedFields ?? []).map((f: any) => String(f.manager));
    s.check(
        "kubeadm:cluster-admins (made by kubectl earlier) adopted by server-side apply: a pulumi field manager appears",
        managers.some((m) => m.startsWith("pulumi")) && crb?.roleRef?.name === "cluster-admin",
        `managers: ${managers.join(", ")}`,
    );

    // 3. secrecy and a no-op preview
    checkExportedState(s, "pulumi stack export e2e with the Secrets sink", await exportEncrypted(ctx.ws, "e2e"));
    const previewOps: Op[] = [];
    await pulumiOp("preview-e2e-secrets-sink", signal, (o) => stack.preview({ ...o, onEvent: recordOps(previewOps) }));
    const changed = previewOps.filter((o) => o.op !== "same" && !isSelfRead(o));
    s.check(
        `preview after the sink: 0 changes (${previewOps.filter((o) => o.type.startsWith("kubernetes:")).length} kubernetes resources same)`,
        changed.length === 0,
        changed.map((c) => `${c.op} ${c.urn}`).join("\n"),
    );

    // 4. rotate one leaf: its Secret is updated in place, nothing else in the cluster changes
    const before = await getJson(["get", "secret", `${PREFIX}front-proxy-client-cp-1`, "-n", NAMESPACE]);
    await stack.setConfig("kube-pki:rotate", { value: JSON.stringify({ "front-proxy-client/cp-1": 1 }) });
    const rotOps: Op[] = [];
    const rot = await pulumiOp("up-e2e-sink-rotation", signal, (o) => stack.up({ ...o, onEvent: recordOps(rotOps) }));
    const k8sOps = rotOps.filter((o) => o.type.startsWith("kubernetes:") && o.op !== "same");
    s.check(
        "rotate front-proxy-client/cp-1: the kubernetes provider updates exactly its Secret in place (no replace)",
        rot.summary.result === "succeeded" &&
            k8sOps.length === 1 &&
            k8sOps[0].op === "update" &&
            k8sOps[0].urn.endsWith("tls-front-proxy-client-cp-1"),
        k8sOps.map((o) => `${o.op} ${o.urn}`).join("\n") || "no kubernetes op",
    );
    outputs = plainOutputs(rot.outputs);
    const after = await getJson(["get", "secret", `${PREFIX}front-proxy-client-cp-1`, "-n", NAMESPACE]);
    s.check(
        "the rotated Secret keeps its uid (updated, not recreated) and holds the new certificate",
        before?.metadata?.uid === after?.metadata?.uid && unb64(after?.data?.["tls.crt"]) !== unb64(before?.data?.["tls.crt"]),
        `uid ${before?.metadata?.uid} → ${after?.metadata?.uid}`,
    );
    await checkCluster(ctx, outputs, getJson, "after the rotation");

    // 5. remove the sink
    await stack.removeConfig("kube-pki:secretsSink");
    const rmOps: Op[] = [];
    const rm = await pulumiOp("up-e2e-no-sink", signal, (o) => stack.up({ ...o, onEvent: recordOps(rmOps) }));
    const deleted = rmOps.filter((o) => o.op === "delete");
    const otherRm = rmOps.filter((o) => !["delete", "same"].includes(o.op) && !bookkeeping(o));
    s.check(
        `removing kube-pki:secretsSink deletes the sink's ${deleted.length} resources and nothing else`,
        rm.summary.result === "succeeded" && deleted.length === created.length && otherRm.length === 0,
        `deleted ${deleted.map((o) => o.urn).join(", ")}; other: ${otherRm.map((o) => `${o.op} ${o.urn}`).join(", ")}`,
    );
    const left = await kubectl(["get", "secrets,configmaps", "-n", NAMESPACE, "-l", "app.kubernetes.io/part-of=kube-pki", "-o", "name"]);
    s.check("no kube-pki Secret or ConfigMap is left in the namespace", left.code === 0 && left.stdout.trim() === "", left.output);
    const view = await kubectl(["get", "clusterrolebinding", `${PREFIX}kube-pki-e2e-pod-reader:dev-team`]);
    s.check("the group's ClusterRoleBinding is deleted", view.code !== 0 && /NotFound/i.test(view.output), view.output);
    const kept = await kubectl(["get", "ns", "-o", "name"]);
    s.check("kubeadm:cluster-admins is retained (retainOnDelete): admin.conf still lists namespaces", kept.code === 0, kept.output);

    // the provider writes each kubeconfig it is configured with (admin.conf: a client key) to a TMPDIR file and never
    // removes it; the engine runs with a private TMPDIR (scripts/workspace.ts, run.ts) that goes with the run
    const copies = (dir: string) =>
        fs.readdirSync(dir).filter((f) => /^kubeconfig\d+$/.test(f) && fs.statSync(path.join(dir, f)).mtimeMs >= started - 1000);
    const inPrivate = copies(String(ctx.env.TMPDIR));
    const inSystem = copies(os.tmpdir());
    s.check(
        `the kubernetes provider's kubeconfig copies (${inPrivate.length}) land in the run's private TMPDIR, none in ${os.tmpdir()}`,
        inPrivate.length > 0 && inSystem.length === 0,
        `private: ${inPrivate.join(", ") || "none"}; ${os.tmpdir()}: ${inSystem.join(", ") || "none"}`,
    );
}

/** The Secrets / ConfigMap in the cluster against the stack outputs (nodeFiles of cp-1). */
async function checkCluster(ctx: Ctx, outputs: Record<string, any>, getJson: (args: string[]) => Promise<any>, when: string) {
    const s = ctx.suite;
    const files = outputs.nodeFiles["cp-1"] as Record<string, { content: string }>;
    const pki = (rel: string) => files[`etc/kubernetes/pki/${rel}`]?.content;
    const leaves: [string, string, string, string][] = [
        ["front-proxy-client-cp-1", "front-proxy-client", "front-proxy-ca.crt", "front-proxy-client"],
        ["apiserver-kubelet-client-cp-1", "apiserver-kubelet-client", "ca.crt", "kube-apiserver-kubelet-client"],
    ];
    for (const [name, file, ca, cn] of leaves) {
        const sec = await getJson(["get", "secret", `${PREFIX}${name}`, "-n", NAMESPACE]);
        const crt = unb64(sec?.data?.["tls.crt"]);
        let subject = "";
        try {
            subject = new crypto.X509Certificate(crt).subject;
        } catch {
            // reported below
        }
        s.check(
            `${when}: Secret ${PREFIX}${name} is kubernetes.io/tls; tls.crt, tls.key, ca.crt are the stack's ${file}.crt/.key and ${ca} (CN=${cn})`,
            sec?.type === "kubernetes.io/tls" &&
                crt === pki(`${file}.crt`) &&
                unb64(sec?.data?.["tls.key"]) === pki(`${file}.key`) &&
                unb64(sec?.data?.["ca.crt"]) === pki(ca) &&
                subject.split("\n").includes(`CN=${cn}`) &&
                sec?.metadata?.labels?.["kube-pki.io/e2e"] === "secrets-sink",
            sec ? `type ${sec.type}, subject ${subject.replace(/\n/g, ", ")}, labels ${JSON.stringify(sec.metadata?.labels)}` : "Secret not found",
        );
    }
    const caKey = await getJson(["get", "secret", `${PREFIX}front-proxy-ca`, "-n", NAMESPACE]);
    s.check(
        `${when}: CA key Secret ${PREFIX}front-proxy-ca holds front-proxy-ca.crt/.key (requested in caKeys)`,
        unb64(caKey?.data?.["tls.crt"]) === pki("front-proxy-ca.crt") && unb64(caKey?.data?.["tls.key"]) === pki("front-proxy-ca.key"),
        caKey ? Object.keys(caKey.data ?? {}).join(", ") : "Secret not found",
    );
    const cm = await getJson(["get", "configmap", `${PREFIX}trust-bundle`, "-n", NAMESPACE]);
    s.check(
        `${when}: ConfigMap ${PREFIX}trust-bundle holds ca.crt, etcd-ca.crt, front-proxy-ca.crt as in the tree`,
        cm?.data?.["ca.crt"] === pki("ca.crt") && cm?.data?.["etcd-ca.crt"] === pki("etcd/ca.crt") && cm?.data?.["front-proxy-ca.crt"] === pki("front-proxy-ca.crt"),
        cm ? Object.keys(cm.data ?? {}).join(", ") : "ConfigMap not found",
    );
}
