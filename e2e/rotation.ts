/**
 * Step "ca-rotation": the README's rotation runbook, live. On its own stack (cp-1 on 127.0.0.1, worker-1, user
 * alice) every rotatable CA — `ca`, `etcd-ca`, `front-proxy-ca` — and the service-account key `sa` goes through
 * `caRotation` stage → promote → distrust, one `pulumi up` per phase, each preceded by a `pulumi preview` whose
 * plan is checked (stage: only the new generation is created; promote: exactly the LocallySignedCerts signed by
 * that CA are replaced, no key or CSR is touched; distrust: only the old generation is deleted). After each `up`
 * the new node tree is written (the writer the other steps use), etcd and kube-apiserver are restarted from it
 * (etcd keeps its data dir), and the tree and the live cluster are checked:
 *
 *  - the tree: bundle sizes and order (old first while staged, new first once promoted: kubeadm pairs the first
 *    certificate of ca.crt with ca.key), every leaf verifies against the bundle's first CA, promote keeps keys;
 *  - clients holding the previous phase's credentials and the new ones authenticate: kubeconfigs
 *    (`kubectl auth whoami`), etcd clients (etcdctl, peer mTLS), the front-proxy client (requestheader auth),
 *    service-account tokens; after distrust the old CA's credentials are refused (401 / TLS handshake refused);
 *  - a background prober sends SelfSubjectReviews with every credential currently held (kubeconfigs of the
 *    previous and current phase, front-proxy clients, service-account tokens) through the whole sequence —
 *    previews, ups, checks — and pauses only for the deliberate restarts (pause, restart, wait for /readyz,
 *    resume): every request it sends must authenticate as the expected user.
 *
 * An illegal request (`ca: distrust` straight from none) must be refused at preview, naming `caRotation.ca`, with
 * nothing planned and the state unchanged. Each phase's preview starts as soon as the previous phase's `up` is done
 * (it needs only the stack's state), i.e. while the control plane restarts, and is checked before its own `up`.
 *
 * The engine runs this stack's program with PULUMI_NODEJS_TRANSPILE_ONLY=true (25 operations: ~5 s instead of
 * ~11-20 s each with ts-node's type check; the program's types are checked by `npm run typecheck`).
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, X509Certificate } from "node:crypto";
import { setMaxListeners } from "node:events";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { parse as parseYaml } from "yaml";
import { ControlPlane } from "./cluster";
import { Suite } from "./harness";
import { freePort, run, RunResult, sleep } from "./procs";
import { createStack, isSelfRead, plainOutputs, pulumiOp, workspace } from "./pulumi";
import type { Ctx } from "./steps";
import { writeScenarioTrees } from "./steps";

const CLUSTER = "e2e-rot";
const SERVICE_CIDR = "10.96.0.0/12";
const CLUSTER_DOMAIN = "cluster.local";
const ROTATED = ["ca", "etcd-ca", "front-proxy-ca", "sa"] as const;
type Rotated = (typeof ROTATED)[number];
const PHASES = ["stage", "promote", "distrust"] as const;
type Phase = (typeof PHASES)[number];
interface CaState {
    phase: "none" | Phase;
    generation: number;
}

/** The CA (or SA key) files of each rotated CA in a control plane's tree. */
const PAIRS: Record<Rotated, { bundle: string; key: string }> = {
    ca: { bundle: "etc/kubernetes/pki/ca.crt", key: "etc/kubernetes/pki/ca.key" },
    "etcd-ca": { bundle: "etc/kubernetes/pki/etcd/ca.crt", key: "etc/kubernetes/pki/etcd/ca.key" },
    "front-proxy-ca": { bundle: "etc/kubernetes/pki/front-proxy-ca.crt", key: "etc/kubernetes/pki/front-proxy-ca.key" },
    sa: { bundle: "etc/kubernetes/pki/sa.pub", key: "etc/kubernetes/pki/sa.key" },
};
/** Leaf cert/key pairs (path without .crt/.key, under etc/kubernetes/pki) signed by each CA. */
const LEAF_FILES: Record<Rotated, string[]> = {
    ca: ["apiserver", "apiserver-kubelet-client"],
    "etcd-ca": ["apiserver-etcd-client", "etcd/server", "etcd/peer", "etcd/healthcheck-client"],
    "front-proxy-ca": ["front-proxy-client"],
    sa: [],
};
/** The kubeconfigs held by clients: where they are in a snapshot and who they must authenticate as. */
const KUBECONFIGS: { name: string; file: string; user: string }[] = [
    { name: "admin.conf", file: "cp-1/etc/kubernetes/admin.conf", user: "kubernetes-admin" },
    { name: "super-admin.conf", file: "cp-1/etc/kubernetes/super-admin.conf", user: "kubernetes-super-admin" },
    { name: "controller-manager.conf", file: "cp-1/etc/kubernetes/controller-manager.conf", user: "system:kube-controller-manager" },
    { name: "scheduler.conf", file: "cp-1/etc/kubernetes/scheduler.conf", user: "system:kube-scheduler" },
    { name: "cp-1 kubelet.conf", file: "cp-1/etc/kubernetes/kubelet.conf", user: "system:node:cp-1" },
    { name: "worker-1 kubelet.conf", file: "worker-1/etc/kubernetes/kubelet.conf", user: "system:node:worker-1" },
    { name: "users/alice.conf", file: "users/alice.conf", user: "alice" },
];
const SA_USER = "system:serviceaccount:default:rot";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const pemBlocks = (text: string, label: string) => text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, "g")) ?? [];
const spki = (k: KeyObject) => sha(k.export({ type: "spki", format: "der" }));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One phase's outputs and node trees on disk (kept: clients of later phases still hold these files). */
interface Snapshot {
    label: string;
    root: string;
    outputs: Record<string, any>;
}
const at = (snap: Snapshot, rel: string) => path.join(snap.root, rel);
const pki = (snap: Snapshot, rel: string) => path.join(snap.root, "cp-1/etc/kubernetes/pki", rel);
const read = (file: string) => fs.readFileSync(file, "utf8");

// ------------------------------------------------------------------------------------------------ requests

/** A credential a client holds: how it authenticates, what it trusts for the serving cert, whom it must be. */
interface Cred {
    label: string;
    user: string;
    /** The CA data the client verifies the apiserver with (read at request time). */
    ca: () => string;
    cert?: string;
    key?: string;
    token?: string;
    headers?: Record<string, string>;
}

function kubeconfigCred(label: string, file: string, user: string): Cred {
    const kc = parseYaml(read(file));
    const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");
    const ca = b64(kc.clusters[0].cluster["certificate-authority-data"]);
    return { label, user, ca: () => ca, cert: b64(kc.users[0].user["client-certificate-data"]), key: b64(kc.users[0].user["client-key-data"]) };
}

/** A SelfSubjectReview over a fresh TLS connection (no keep-alive: every request re-verifies both certificates). */
function selfSubjectReview(port: number, cred: Cred): Promise<{ status: number; user?: string; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: "127.0.0.1",
                port,
                method: "POST",
                path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                ca: cred.ca(),
                cert: cred.cert,
                key: cred.key,
                agent: false,
                headers: {
                    "Content-Type": "application/json",
                    ...(cred.token ? { Authorization: `Bearer ${cred.token}` } : {}),
                    ...(cred.headers ?? {}),
                },
                timeout: 20_000,
            },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => {
                    let user: string | undefined;
                    try {
                        user = JSON.parse(body).status?.userInfo?.username;
                    } catch {
                        // not JSON (e.g. a 401 body)
                    }
                    resolve({ status: res.statusCode ?? 0, user, body });
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error("request timed out after 20 s")));
        req.on("error", reject);
        req.end(JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }));
    });
}

/** GET on etcd's peer port (rafthttp's /members) with a peer cert: peer mTLS as another member would use it. */
function etcdPeerMembers(port: number, ca: string, cert: string, key: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            { host: "127.0.0.1", port, path: "/members", ca, cert, key, agent: false, timeout: 10_000 },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode} ${body.slice(0, 200)}`))));
            },
        );
        req.on("timeout", () => req.destroy(new Error("request timed out")));
        req.on("error", reject);
        req.end();
    });
}

/**
 * The background prober: round-robin SelfSubjectReviews with the credentials currently held, one at a time,
 * only while resumed (it is paused around the deliberate restarts). Every request counts; a failure is any
 * answer other than 201 with the expected user.
 */
class Prober {
    total = 0;
    failed = 0;
    readonly failures: string[] = [];
    readonly perWindow: { window: string; requests: number; failed: number; creds: number }[] = [];
    private creds: Cred[] = [];
    private next = 0;
    private paused = true;
    private stopped = false;
    private inflight: Promise<void> = Promise.resolve();
    private loop: Promise<void> = Promise.resolve();

    constructor(private readonly port: number, private readonly intervalMs: number) {}

    start() {
        this.loop = this.run();
    }

    /** Replaces the held credentials (duplicates by content are probed once) and opens a new counting window. */
    hold(window: string, creds: Cred[]) {
        const seen = new Set<string>();
        this.creds = creds.filter((c) => {
            const id = sha(`${c.cert ?? ""}|${c.token ?? ""}|${JSON.stringify(c.headers ?? {})}|${c.ca()}`);
            if (seen.has(id)) return false;
            seen.add(id);
            return true;
        });
        this.perWindow.push({ window, requests: 0, failed: 0, creds: this.creds.length });
    }

    get held(): string[] {
        return this.creds.map((c) => c.label);
    }

    private async run() {
        while (!this.stopped) {
            if (this.paused || this.creds.length === 0) {
                await sleep(50);
                continue;
            }
            const cred = this.creds[this.next++ % this.creds.length];
            this.inflight = this.once(cred);
            await this.inflight;
            await sleep(this.intervalMs);
        }
    }

    private async once(cred: Cred) {
        const window = this.perWindow[this.perWindow.length - 1];
        this.total++;
        window.requests++;
        let why: string | undefined;
        try {
            const r = await selfSubjectReview(this.port, cred);
            if (r.status !== 201 || r.user !== cred.user) why = `HTTP ${r.status}, user ${r.user} (expected ${cred.user}) ${r.body.slice(0, 160)}`;
        } catch (e) {
            why = (e as Error).message;
        }
        if (why) {
            this.failed++;
            window.failed++;
            if (this.failures.length < 20) this.failures.push(`[${new Date().toISOString()}] ${window.window}: ${cred.label}: ${why}`);
        }
    }

    /** Stops sending and waits for the request in flight. */
    async pause() {
        this.paused = true;
        await this.inflight;
    }

    resume() {
        this.paused = false;
    }

    /** Waits (at most `timeoutMs`) until every held credential has been probed at least once in the current window. */
    async fullRound(timeoutMs: number) {
        const window = this.perWindow[this.perWindow.length - 1];
        const deadline = Date.now() + timeoutMs;
        while (window && window.requests < this.creds.length && Date.now() < deadline) await sleep(100);
    }

    async stop() {
        this.stopped = true;
        await this.inflight;
        await this.loop;
    }
}

// ------------------------------------------------------------------------------------------------ the run

interface PhaseTiming {
    ca: string;
    phase: string;
    /** The preview's own duration (it overlaps the previous phase's restart and checks) and the time waited for it. */
    preview: number;
    previewWait: number;
    up: number;
    restart: number;
    checks: number;
    /** From the end of the previous phase to the end of this one's checks. */
    wall: number;
}

interface Plan {
    creates: string[];
    replaces: { name: string; type: string }[];
    deletes: string[];
    others: string[];
    summary: Record<string, number>;
    output: string;
}

class RotationRun {
    readonly s: Suite;
    stack!: Stack;
    cp?: ControlPlane;
    apiPort = 0;
    ports!: { apiserver: number; etcdClient: number; etcdPeer: number };
    readonly prober: Prober;
    readonly snapshots: Snapshot[] = [];
    /** Requested phases (kube-pki:caRotation). */
    readonly requested: Record<string, Phase> = {};
    /** Service-account tokens minted so far: label → token, and the JWT key id. */
    readonly tokens: { label: string; token: string; kid: string; valid: boolean }[] = [];
    readonly timings: PhaseTiming[] = [];
    private readonly empty: string;
    private treeCount = 0;

    constructor(readonly ctx: Ctx, readonly ws: LocalWorkspace, readonly signal: AbortSignal, apiPort: number) {
        this.s = ctx.suite;
        this.apiPort = apiPort;
        this.prober = new Prober(apiPort, 100);
        this.empty = path.join(ctx.work, "rot-empty.kubeconfig");
        fs.writeFileSync(this.empty, "apiVersion: v1\nkind: Config\n", { mode: 0o600 });
    }

    get current(): Snapshot {
        return this.snapshots[this.snapshots.length - 1];
    }

    /** Writes a phase's node trees (plus users/alice.conf, as a user would hold it). */
    snapshot(label: string, outputs: Record<string, any>): Snapshot {
        const n = String(this.treeCount++).padStart(2, "0");
        const root = writeScenarioTrees(this.ctx, `rot-${n}-${label.replace(/ /g, "-")}`, outputs.nodeFiles);
        fs.mkdirSync(path.join(root, "users"), { mode: 0o700 });
        fs.writeFileSync(path.join(root, "users/alice.conf"), outputs.kubeconfigs["users/alice.conf"], { mode: 0o600 });
        const snap = { label, root, outputs };
        this.snapshots.push(snap);
        return snap;
    }

    kubectl(kubeconfig: string, args: string[]): Promise<RunResult> {
        return this.cp!.kubectl(kubeconfig, args);
    }

    /** (Re)starts etcd and kube-apiserver from a snapshot's cp-1 tree; the prober is paused meanwhile. */
    async restart(snap: Snapshot, window?: string): Promise<number> {
        const start = Date.now();
        await this.prober.pause();
        const first = !this.cp;
        await this.cp?.stop();
        this.cp = new ControlPlane({
            label: "rot",
            nodeDir: path.join(snap.root, "cp-1"),
            workDir: this.ctx.work,
            env: this.ctx.env,
            nodeName: "cp-1",
            ports: this.ports,
            serviceCidr: SERVICE_CIDR,
            clusterDomain: CLUSTER_DOMAIN,
            advertiseAddress: "127.0.0.1",
            signal: this.signal,
        });
        await this.cp.startEtcd();
        await this.cp.startApiserver();
        const ms = Date.now() - start;
        this.s.check(
            `${snap.label}: etcd ${first ? "started" : "restarted (same data dir)"} and healthy after ${secs(this.cp.timings.etcd)}, ` +
                `kube-apiserver /readyz after ${secs(this.cp.timings.apiserver)} (from the ${snap.label} tree)`,
            true,
        );
        if (window) {
            this.prober.hold(window, this.heldCreds());
            this.prober.resume();
        }
        return ms;
    }

    /** The credentials the prober holds after a phase: kubeconfigs and front-proxy clients of the previous and current snapshot, valid tokens. */
    heldCreds(): Cred[] {
        const snaps = this.snapshots.slice(-2);
        const currentCa = () => read(pki(this.current, "ca.crt"));
        const creds: Cred[] = [];
        for (const snap of snaps) {
            for (const k of KUBECONFIGS) creds.push(kubeconfigCred(`${snap.label} ${k.name}`, at(snap, k.file), k.user));
            creds.push({
                label: `${snap.label} front-proxy-client`,
                user: "proxied-user",
                ca: currentCa,
                cert: read(pki(snap, "front-proxy-client.crt")),
                key: read(pki(snap, "front-proxy-client.key")),
                headers: { "X-Remote-User": "proxied-user", "X-Remote-Group": "proxied" },
            });
        }
        for (const t of this.tokens.filter((t) => t.valid)) creds.push({ label: `token ${t.label}`, user: SA_USER, ca: currentCa, token: t.token });
        return creds;
    }

    async setRotation() {
        await this.stack.setConfig("kube-pki:caRotation", { value: JSON.stringify(this.requested) });
    }

    /** A preview with its plan: created / replaced / deleted resource names (the program's own StackReference read aside). */
    async preview(label: string, plan: Plan = emptyPlan()): Promise<Plan> {
        const res = await pulumiOp(`preview-${label}`, this.signal, (o) =>
            this.stack.preview({
                ...o,
                onOutput: (t) => {
                    plan.output += t;
                    o.onOutput(t);
                },
                onEvent: (e) => {
                    const m = e.resourcePreEvent?.metadata;
                    if (!m) return;
                    const name = m.urn.split("::").pop()!;
                    if (m.op === "same" || isSelfRead(m)) return;
                    if (m.op === "create") plan.creates.push(name);
                    else if (m.op === "replace") plan.replaces.push({ name, type: m.type });
                    else if (m.op === "delete") plan.deletes.push(name);
                    else if (m.op !== "create-replacement" && m.op !== "delete-replaced") plan.others.push(`${m.op} ${m.type} ${name}`);
                },
            }),
        );
        plan.summary = Object.fromEntries(Object.entries(res.changeSummary).filter(([k, v]) => k !== "same" && k !== "read" && (v ?? 0) > 0)) as Record<string, number>;
        return plan;
    }

    /** A preview that the program must refuse at validation with `caRotation.<ca>` (and plan nothing). */
    async refusedPreview(label: string, ca: Rotated, requested: Phase, expected: RegExp) {
        const saved = { ...this.requested };
        this.requested[ca] = requested;
        await this.setRotation();
        let error = "";
        let succeeded = false;
        const plan = emptyPlan();
        const start = Date.now();
        try {
            await this.preview(`refused-${label}`, plan);
            succeeded = true;
        } catch (e) {
            error = (e as Error).message;
        }
        const text = `${plan.output}\n${error}`;
        const planned = [...plan.creates, ...plan.replaces.map((x) => x.name), ...plan.deletes, ...plan.others];
        const line = text.split("\n").find((l) => l.includes(`caRotation.${ca}:`))?.trim();
        this.s.check(
            `illegal request ${ca}: "${requested}" (${label}) is refused at preview (${secs(Date.now() - start)}), nothing planned: ${line ?? "no caRotation error"}`,
            !succeeded && !planned.length && text.includes(`caRotation.${ca}: "${requested}" refused`) && expected.test(text),
            succeeded ? `preview succeeded: ${JSON.stringify(plan.summary)}` : `planned: ${planned.join(", ") || "nothing"}\n${text.slice(-1200)}`,
        );
        Object.keys(this.requested).forEach((k) => delete this.requested[k]);
        Object.assign(this.requested, saved);
        await this.setRotation();
    }

    state(outputs: Record<string, any>, ca: Rotated): CaState {
        return outputs.rotationState?.[ca] ?? { phase: "none", generation: 0 };
    }

    /** Resource names of one CA generation (the component's naming: no suffix for generation 0). */
    generationResources(ca: Rotated, gen: number): string[] {
        const base = `${CLUSTER}-${ca}${gen === 0 ? "" : `-g${gen}`}`;
        return ca === "sa" ? [base] : [base, `${base}-key`, `${base}-cert`];
    }

    /** LocallySignedCert names of every leaf the CA signs (from the inventory output). */
    leafCertResources(outputs: Record<string, any>, ca: Rotated): string[] {
        return (outputs.inventory as any[])
            .filter((e) => !e.isCa && e.issuer === ca)
            .map((e) => `${CLUSTER}-${e.id}${e.node ? `-${e.node}` : e.user ? `-${e.user}` : ""}-cert`)
            .sort();
    }

    checkPlan(ca: Rotated, phase: Phase, plan: Plan, prev: CaState) {
        const outputs = this.current.outputs;
        const sorted = (a: string[]) => [...a].sort();
        const label = `preview ${ca} ${phase}`;
        const transition = `${ca}: ${prev.phase} → ${phase}`;
        this.s.check(`${label}: the program's rotation summary says "${transition}"`, plan.output.includes(transition), plan.output.slice(-1500));
        const planText = JSON.stringify({ creates: plan.creates, replaces: plan.replaces.map((r) => r.name), deletes: plan.deletes, others: plan.others, summary: plan.summary });
        if (phase === "stage") {
            const expected = this.generationResources(ca, prev.generation + 1);
            this.s.check(
                `${label}: only creates — generation ${prev.generation + 1} (${expected.join(", ")}); nothing replaced, updated or deleted`,
                JSON.stringify(sorted(plan.creates)) === JSON.stringify(sorted(expected)) && !plan.replaces.length && !plan.deletes.length && !plan.others.length &&
                    JSON.stringify(plan.summary) === JSON.stringify({ create: expected.length }),
                planText,
            );
        } else if (phase === "promote") {
            const expected = ca === "sa" ? [] : this.leafCertResources(outputs, ca);
            const names = sorted(plan.replaces.map((r) => r.name));
            const nonCert = plan.replaces.filter((r) => r.type !== "tls:index/locallySignedCert:LocallySignedCert");
            this.s.check(
                ca === "sa"
                    ? `${label}: no resource changes (sa.key switches to generation ${prev.generation + 1}, sa.pub reorders: outputs only)`
                    : `${label}: replaces exactly the ${expected.length} LocallySignedCert${expected.length === 1 ? "" : "s"} signed by ${ca} (keys and CSRs kept); nothing created, updated or deleted`,
                JSON.stringify(names) === JSON.stringify(expected) && !nonCert.length && !plan.creates.length && !plan.deletes.length && !plan.others.length &&
                    JSON.stringify(plan.summary) === JSON.stringify(expected.length ? { replace: expected.length } : {}),
                `expected replaces ${JSON.stringify(expected)}\n${planText}`,
            );
        } else {
            const expected = this.generationResources(ca, prev.generation - 1);
            this.s.check(
                `${label}: only deletes — generation ${prev.generation - 1} (${expected.join(", ")})`,
                JSON.stringify(sorted(plan.deletes)) === JSON.stringify(sorted(expected)) && !plan.creates.length && !plan.replaces.length && !plan.others.length &&
                    JSON.stringify(plan.summary) === JSON.stringify({ delete: expected.length }),
                planText,
            );
        }
        return plan;
    }

    async up(label: string): Promise<{ outputs: Record<string, any>; changes: Record<string, number> }> {
        const res = await pulumiOp(`up-${label}`, this.signal, (o) => this.stack.up(o));
        const changes = Object.fromEntries(
            Object.entries(res.summary.resourceChanges ?? {}).filter(([k, v]) => k !== "same" && k !== "read" && (v ?? 0) > 0),
        ) as Record<string, number>;
        if (res.summary.result !== "succeeded") throw new Error(`pulumi up ${label}: ${res.summary.result}`);
        return { outputs: plainOutputs(res.outputs), changes };
    }

    /** The new tree of a CA: bundle size and order, key pairing, leaves under the active CA, promote keeps keys. */
    checkTree(ca: Rotated, phase: Phase, prev: Snapshot, snap: Snapshot) {
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
        this.s.check(`${label}: ${shortName(bundle)} holds ${what}`, orderOk, `before ${before.map((x) => x.slice(0, 12)).join(", ")}; after ${after.map((x) => x.slice(0, 12)).join(", ")}`);
        const keyId = spki(createPublicKey(createPrivateKey(read(at(snap, `cp-1/${key}`)))));
        this.s.check(
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
            this.s.check(
                `${label}: every kubeconfig's CA data and worker-1 pki/ca.crt are cp-1's ca.crt bundle`,
                workerCa === read(at(snap, `cp-1/${bundle}`)) && caDataOff.length === 0,
                `differs: ${[...caDataOff, ...(workerCa === read(at(snap, `cp-1/${bundle}`)) ? [] : ["worker-1 pki/ca.crt"])].join(", ")}`,
            );
        }
        const unsigned = leafPems.filter((l) => !new X509Certificate(l.pem).verify(active.publicKey)).map((l) => l.name);
        this.s.check(
            `${label}: ${leafPems.length === 1 ? "the leaf" : `all ${leafPems.length} leaves`} of ${ca} (certs${ca === "ca" ? " and kubeconfig client certs" : ""}) verify against the bundle's first CA`,
            unsigned.length === 0,
            unsigned.join(", "),
        );
        const keyChanged = leafPems.filter((l) => l.key !== l.prevKey).map((l) => l.name);
        const certSame = leafPems.filter((l) => l.pem === l.prevPem).map((l) => l.name);
        if (phase === "promote") {
            this.s.check(
                `${label}: promote re-signed every leaf of ${ca} (${leafPems.length}) and kept every private key`,
                keyChanged.length === 0 && certSame.length === 0,
                `keys changed: ${keyChanged.join(", ") || "none"}; certs unchanged: ${certSame.join(", ") || "none"}`,
            );
        } else {
            this.s.check(
                `${label}: ${phase} left every leaf of ${ca} (cert and key) as it was`,
                keyChanged.length === 0 && certSame.length === leafPems.length,
                `keys changed: ${keyChanged.join(", ") || "none"}; certs changed: ${leafPems.filter((l) => l.pem !== l.prevPem).map((l) => l.name).join(", ") || "none"}`,
            );
        }
    }

    /** `kubectl auth whoami` with each kubeconfig of a snapshot (two at a time). */
    async whoamiAll(snap: Snapshot, names: string[], expect: "ok" | "401" | "tls", why: string) {
        const list = KUBECONFIGS.filter((k) => names.includes(k.name));
        const results = await pool(list, 2, (k) => this.kubectl(at(snap, k.file), ["auth", "whoami", "-o", "json"]));
        list.forEach((k, i) => {
            const r = results[i];
            if (expect === "ok") {
                const user = r.code === 0 ? JSON.parse(r.stdout).status?.userInfo?.username : undefined;
                this.s.check(`${why}: ${snap.label} ${k.name} → ${k.user}`, user === k.user, r.output.slice(-400));
            } else if (expect === "401") {
                this.s.check(`${why}: ${snap.label} ${k.name} refused (401 Unauthorized)`, r.code !== 0 && /Unauthorized/.test(r.output), r.output.slice(-400));
            } else {
                this.s.check(`${why}: ${snap.label} ${k.name} cannot verify the serving cert (x509: unknown authority)`, r.code !== 0 && /x509|certificate/i.test(r.output) && !/Unauthorized/.test(r.output), r.output.slice(-400));
            }
        });
    }

    /** etcd still has what the apiserver wrote in every earlier phase; this phase adds a key (write + read through the apiserver). */
    async configMapRoundTrip(key: string) {
        const admin = at(this.current, "cp-1/etc/kubernetes/admin.conf");
        const r = await this.kubectl(admin, ["patch", "configmap", "rot-marker", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { [key]: "ok" } }), "-o", "json"]);
        const data = r.code === 0 ? (JSON.parse(r.stdout).data as Record<string, string>) : {};
        const expectedKeys = [...this.markerKeys, key];
        const ok = r.code === 0 && expectedKeys.every((k) => data[k] === "ok");
        this.s.check(
            `${this.current.label}: apiserver ↔ etcd: ConfigMap rot-marker, written in every earlier phase (${expectedKeys.length - 1} key${expectedKeys.length === 2 ? "" : "s"}), is read back and updated (admin.conf)`,
            ok,
            r.code === 0 ? `data keys: ${Object.keys(data).join(", ")}` : r.output.slice(-400),
        );
        this.markerKeys.push(key);
    }
    readonly markerKeys: string[] = [];

    async mintToken(label: string): Promise<void> {
        const r = await this.kubectl(at(this.current, "cp-1/etc/kubernetes/admin.conf"), ["create", "token", "rot", "-n", "default", "--duration=2h"]);
        if (!this.s.check(`${this.current.label}: mint a service-account token "${label}" (kubectl create token)`, r.code === 0, r.output.slice(-400))) return;
        const token = r.stdout.trim();
        const kid = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString("utf8")).kid ?? "";
        this.tokens.push({ label, token, kid, valid: true });
    }

    async tokenWhoami(label: string, expect: "ok" | "401", why: string) {
        const t = this.tokens.find((x) => x.label === label)!;
        const r = await this.kubectl(this.empty, [
            `--server=${this.cp!.apiserverUrl}`,
            `--certificate-authority=${pki(this.current, "ca.crt")}`,
            `--token=${t.token}`,
            "auth",
            "whoami",
            "-o",
            "json",
        ]);
        if (expect === "ok") {
            const user = r.code === 0 ? JSON.parse(r.stdout).status?.userInfo?.username : undefined;
            this.s.check(`${why}: token "${label}" (kid ${t.kid.slice(0, 10)}…) → ${SA_USER}`, user === SA_USER, r.output.slice(-400));
        } else {
            this.s.check(`${why}: token "${label}" (kid ${t.kid.slice(0, 10)}…) refused (401 Unauthorized)`, r.code !== 0 && /Unauthorized/.test(r.output), r.output.slice(-400));
        }
    }

    etcdctlAs(snap: Snapshot, args: string[]): Promise<RunResult> {
        return run(
            "etcdctl",
            [
                `--endpoints=${this.cp!.etcdEndpoint}`,
                `--cacert=${pki(snap, "etcd/ca.crt")}`,
                `--cert=${pki(snap, "etcd/healthcheck-client.crt")}`,
                `--key=${pki(snap, "etcd/healthcheck-client.key")}`,
                "--dial-timeout=3s",
                "--command-timeout=5s",
                ...args,
            ],
            { env: this.ctx.env, log: "etcdctl-rot", timeoutMs: 30_000, signal: this.signal },
        );
    }

    async etcdClients(snap: Snapshot, expect: "ok" | "refused", why: string) {
        const rejections = () => (read(this.cp!.etcd!.log).match(/rejected connection[^\n]*(unknown authority|bad certificate)/g) ?? []).length;
        const before = rejections();
        const r = await this.etcdctlAs(snap, ["endpoint", "health"]);
        let peer: string;
        try {
            const body = await etcdPeerMembers(this.ports.etcdPeer, read(pki(snap, "etcd/ca.crt")), read(pki(snap, "etcd/peer.crt")), read(pki(snap, "etcd/peer.key")));
            peer = body.includes('"name":"cp-1"') || body.includes("cp-1") ? "ok" : `unexpected body ${body.slice(0, 200)}`;
        } catch (e) {
            peer = (e as Error).message;
        }
        if (expect === "ok") {
            this.s.check(`${why}: etcdctl endpoint health with ${snap.label} healthcheck-client (and its etcd/ca.crt)`, r.code === 0 && /is healthy/.test(r.output), r.output.slice(-400));
            this.s.check(`${why}: etcd peer mTLS (GET /members on the peer port) with ${snap.label} peer cert`, peer === "ok", peer);
        } else {
            await sleep(300);
            const logged = rejections() - before;
            this.s.check(
                `${why}: etcd refuses ${snap.label} healthcheck-client (signed by the distrusted etcd CA): handshake fails, etcd logs the rejection`,
                r.code !== 0 && logged > 0,
                `etcdctl exit ${r.code}; rejections logged ${logged}\n${r.output.slice(-300)}`,
            );
            this.s.check(`${why}: etcd's peer port refuses ${snap.label} peer cert`, peer !== "ok" && !/^unexpected/.test(peer), peer);
        }
    }

    async frontProxy(snap: Snapshot, expect: "ok" | "401", why: string) {
        const user = `proxied-${snap.label.replace(/ /g, "-")}`;
        const cred: Cred = {
            label: `${snap.label} front-proxy-client`,
            user,
            ca: () => read(pki(this.current, "ca.crt")),
            cert: read(pki(snap, "front-proxy-client.crt")),
            key: read(pki(snap, "front-proxy-client.key")),
            headers: { "X-Remote-User": user, "X-Remote-Group": "proxied" },
        };
        const r = await selfSubjectReview(this.apiPort, cred).catch((e: Error) => ({ status: 0, user: undefined, body: e.message }));
        if (expect === "ok") {
            this.s.check(`${why}: requestheader auth with ${snap.label} front-proxy-client: X-Remote-User ${user} accepted`, r.status === 201 && r.user === user, `${r.status} ${r.body.slice(0, 300)}`);
        } else {
            this.s.check(`${why}: ${snap.label} front-proxy-client (distrusted front-proxy CA) refused: 401, X-Remote-User ignored`, r.status === 401, `${r.status} ${r.user ?? ""} ${r.body.slice(0, 300)}`);
        }
    }
}

const emptyPlan = (): Plan => ({ creates: [], replaces: [], deletes: [], others: [], summary: {}, output: "" });

/** Runs `fn` over `items` with at most `n` at a time; results in order. */
async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let i = 0;
    await Promise.all(
        Array.from({ length: Math.min(n, items.length) }, async () => {
            while (i < items.length) {
                const k = i++;
                out[k] = await fn(items[k]);
            }
        }),
    );
    return out;
}

// ------------------------------------------------------------------------------------------------ the step

export async function stepCaRotation(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const stepStart = Date.now();
    // every Automation API operation and command listens on the step's signal; a few run at once here
    setMaxListeners(64, signal);
    // a workspace of its own on the same backend: the same program, run without ts-node's type check
    const ws = await workspace({
        workDir: ctx.projectDir,
        backendUrl: String(ctx.ws.envVars.PULUMI_BACKEND_URL),
        pulumiHome: String(ctx.env.PULUMI_HOME),
        env: ctx.env,
    });
    ws.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";

    const apiPort = await freePort();
    const r = new RotationRun(ctx, ws, signal, apiPort);
    r.ports = { apiserver: apiPort, etcdClient: await freePort(), etcdPeer: await freePort() };
    const config = {
        clusterName: CLUSTER,
        controlPlaneEndpoint: `127.0.0.1:${apiPort}`,
        apiServerBindPort: apiPort,
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [{ name: "worker-1" }],
        users: [{ name: "alice", group: "dev-team" }],
    };
    s.info(`stack ${CLUSTER}: endpoint ${config.controlPlaneEndpoint}, cp-1 + worker-1, user alice; rotating ${ROTATED.join(", ")} (stage → promote → distrust each)`);
    r.stack = await createStack(ws, CLUSTER, config);
    ctx.stacks.push(r.stack);

    try {
        let t = Date.now();
        const first = await r.up("initial");
        s.check(`pulumi up ${CLUSTER}: ${first.changes.create ?? 0} resources created (${secs(Date.now() - t)})`, (first.changes.create ?? 0) > 0, JSON.stringify(first.changes));
        const base = r.snapshot("initial", first.outputs);

        // An illegal request (distrust straight from none) must be refused at preview. A failing program costs
        // ~40 s of CPU here (Node 20.20's util.inspect on the error, see e2e/README.md), so the refused preview
        // runs while the control plane boots.
        const resourcesBefore = ((await r.stack.exportStack()).deployment?.resources ?? []).length;
        const refusal = r.refusedPreview("straight from none", "ca", "distrust", /cannot distrust from "none"/);
        refusal.catch(() => undefined);
        try {
            await r.restart(base);

            // bootstrap: kubeadm's admin binding, a service account, a marker ConfigMap, a token minted before any rotation
            const superAdmin = at(base, "cp-1/etc/kubernetes/super-admin.conf");
            const admin = at(base, "cp-1/etc/kubernetes/admin.conf");
            const boot = [
                ["create", "clusterrolebinding", "kubeadm:cluster-admins", "--clusterrole=cluster-admin", "--group=kubeadm:cluster-admins"],
                ["create", "serviceaccount", "rot", "-n", "default"],
                ["create", "configmap", "rot-marker", "-n", "default", "--from-literal=initial=ok"],
            ];
            for (const args of boot) {
                const b = await r.kubectl(superAdmin, args);
                if (b.code !== 0) throw new Error(`bootstrap kubectl ${args.join(" ")}: ${b.output}`);
            }
            let ready = await r.kubectl(admin, ["get", "configmap", "rot-marker", "-n", "default"]);
            for (let i = 0; i < 15 && ready.code !== 0; i++) {
                await sleep(1000); // RBAC informer catching up
                ready = await r.kubectl(admin, ["get", "configmap", "rot-marker", "-n", "default"]);
            }
            s.check("bootstrap: kubeadm:cluster-admins binding, service account rot, ConfigMap rot-marker (admin.conf can read it)", ready.code === 0, ready.output);
            r.markerKeys.push("initial");
            await r.mintToken("before-sa-stage");
            r.prober.hold("initial", r.heldCreds());
            r.prober.start();
            r.prober.resume();
            s.info(`prober: ${r.prober.held.length} credentials held (every ~100 ms, one SelfSubjectReview over a fresh TLS connection)`);
        } finally {
            await refusal.catch(() => undefined);
        }
        await refusal;
        const resourcesAfter = ((await r.stack.exportStack()).deployment?.resources ?? []).length;
        s.check(`the refused preview changed nothing: ${resourcesAfter} resources in the state, as before`, resourcesAfter === resourcesBefore, `${resourcesBefore} → ${resourcesAfter}`);

        // Each phase: its preview (started as soon as the previous phase's up is done, i.e. while the control plane
        // restarts — it only needs the stack's state), checked before its up; then the up, the tree, the restart
        // and the live checks.
        const sequence = ROTATED.flatMap((ca) => PHASES.map((phase) => ({ ca, phase, label: `${ca} ${phase}` })));
        const startPreview = async (i: number) => {
            const { ca, phase, label } = sequence[i];
            r.requested[ca] = phase;
            await r.setRotation();
            const begin = Date.now();
            const plan = await r.preview(label.replace(/ /g, "-"));
            return { plan, ms: Date.now() - begin };
        };
        let pending: Promise<{ plan: Plan; ms: number }> | undefined;
        try {
            for (let i = 0; i < sequence.length; i++) {
                const { ca, phase, label } = sequence[i];
                s.info(`--- ${label}`);
                const timing: PhaseTiming = { ca, phase, preview: 0, previewWait: 0, up: 0, restart: 0, checks: 0, wall: 0 };
                const phaseStart = Date.now();
                const prevSnap = r.current;
                const prevState = r.state(prevSnap.outputs, ca);

                t = Date.now();
                const { plan, ms } = await (pending ?? startPreview(i));
                pending = undefined;
                timing.previewWait = Date.now() - t;
                timing.preview = ms;
                r.checkPlan(ca, phase, plan, prevState);

                t = Date.now();
                const { outputs, changes } = await r.up(label.replace(/ /g, "-"));
                timing.up = Date.now() - t;
                const wantGen = phase === "promote" ? prevState.generation + 1 : prevState.generation;
                const state = r.state(outputs, ca);
                s.check(
                    `up ${label}: applied exactly the previewed plan (${JSON.stringify(changes)}); rotationState.${ca} = ${phase}, generation ${wantGen}`,
                    JSON.stringify(changes) === JSON.stringify(plan.summary) && state.phase === phase && state.generation === wantGen,
                    `changes ${JSON.stringify(changes)} vs preview ${JSON.stringify(plan.summary)}; rotationState ${JSON.stringify(outputs.rotationState)}`,
                );
                const snap = r.snapshot(label, outputs);
                r.checkTree(ca, phase, prevSnap, snap);
                // the next phase's preview runs while this phase's control plane restarts and is checked
                if (i + 1 < sequence.length) {
                    pending = startPreview(i + 1);
                    pending.catch(() => undefined);
                }
                // tokens signed with a key that is no longer trusted leave the prober when the key goes
                if (ca === "sa" && phase === "distrust") for (const tok of r.tokens) if (tok.label !== "after-sa-promote") tok.valid = false;

                timing.restart = await r.restart(snap, label);
                t = Date.now();
                await phaseChecks(r, ca, phase);
                timing.checks = Date.now() - t;
                timing.wall = Date.now() - phaseStart;
                r.timings.push(timing);
                s.info(
                    `${label}: ${secs(timing.wall)} — preview ${secs(timing.preview)} (waited ${secs(timing.previewWait)}), up ${secs(timing.up)}, ` +
                        `restart ${secs(timing.restart)}, checks ${secs(timing.checks)}; prober so far ${r.prober.total} requests, ${r.prober.failed} failed; ` +
                        `holds ${r.prober.held.length} credentials`,
                );
            }
        } finally {
            await pending?.catch(() => undefined);
        }
        // one more full round with what is held at the end
        await r.prober.fullRound(30_000);
    } finally {
        await r.prober.stop();
        await r.cp?.stop();
    }

    const p = r.prober;
    s.info(`prober windows (after each restart): ${p.perWindow.map((w) => `${w.window}: ${w.requests}/${w.failed} (${w.creds} creds)`).join("; ")}`);
    s.check(
        `background prober: ${p.total} authenticated requests (SelfSubjectReview, every credential held, through every preview/up/check; paused only for the ${p.perWindow.length} restarts), ${p.failed} failed`,
        p.total > 0 && p.failed === 0,
        p.failures.join("\n"),
    );
    const sum = (k: keyof PhaseTiming) => r.timings.reduce((n, x) => n + (x[k] as number), 0);
    const row = (name: string, cells: number[]) => `${name.padEnd(24)} ${cells.map((c) => secs(c).padStart(8)).join(" ")}`;
    const lines = [`${"phase".padEnd(24)} ${["preview", "(waited)", "up", "restart", "checks", "phase"].map((h) => h.padStart(8)).join(" ")}`];
    for (const x of r.timings) lines.push(row(`${x.ca} ${x.phase}`, [x.preview, x.previewWait, x.up, x.restart, x.checks, x.wall]));
    lines.push(row("sum", [sum("preview"), sum("previewWait"), sum("up"), sum("restart"), sum("checks"), sum("wall")]));
    lines.push(`step total ${secs(Date.now() - stepStart)} (setup, first up, boot, refused preview: ${secs(Date.now() - stepStart - sum("wall"))})`);
    s.info(lines.join("\n"));
}

/** The live checks after a phase's restart. */
async function phaseChecks(r: RotationRun, ca: Rotated, phase: Phase) {
    const snaps = r.snapshots;
    const cur = snaps[snaps.length - 1];
    const prev = snaps[snaps.length - 2];
    // the snapshot taken before this CA's stage, and the one of its stage phase (old-CA credentials)
    const stageIdx = snaps.length - 1 - PHASES.indexOf(phase);
    const beforeStage = snaps[stageIdx - 1];
    const staged = snaps[stageIdx];
    const why = `after ${ca} ${phase}`;

    await r.configMapRoundTrip(`${ca}-${phase}`);
    const allNames = KUBECONFIGS.map((k) => k.name);
    if (ca === "ca") {
        const prevWhat = {
            stage: "pre-stage files: client certs and CA data from the old CA",
            promote: "stage files: client certs signed by the old CA, CA data old+new verifying the re-signed serving cert",
            distrust: "promote files: client certs signed by the new CA, CA data new+old",
        }[phase];
        await r.whoamiAll(prev, allNames, "ok", `${why}, previous phase's kubeconfigs (${prevWhat})`);
        await r.whoamiAll(cur, allNames, "ok", `${why}, new kubeconfigs`);
        if (phase === "promote") {
            await r.whoamiAll(beforeStage, ["admin.conf"], "tls", `${why}, expected: a kubeconfig from before stage (CA data: old CA only) never got the staged bundle`);
        }
        if (phase === "distrust") {
            await r.whoamiAll(staged, allNames, "401", `${why}, old CA's client certs (stage-phase kubeconfigs, CA data old+new)`);
        }
        return;
    }
    // kubeconfigs are untouched by the other CAs' rotations: the files are identical, and still authenticate
    const same = KUBECONFIGS.filter((k) => read(at(prev, k.file)) !== read(at(cur, k.file))).map((k) => k.name);
    r.s.check(`${why}: every kubeconfig is byte-identical to the previous phase's`, same.length === 0, same.join(", "));
    await r.whoamiAll(cur, ["admin.conf", "worker-1 kubelet.conf", "users/alice.conf"], "ok", `${why}, kubeconfigs`);

    if (ca === "etcd-ca") {
        // the apiserver's (new) apiserver-etcd-client talks to etcd: the ConfigMap round trip above, and namespaces
        const ns = await r.kubectl(at(cur, "cp-1/etc/kubernetes/admin.conf"), ["get", "ns", "-o", "name"]);
        r.s.check(`${why}: kubectl get ns (apiserver → etcd with ${cur.label} apiserver-etcd-client)`, ns.code === 0 && ns.stdout.includes("namespace/default"), ns.output.slice(-300));
        await r.etcdClients(prev, "ok", `${why}, previous phase's etcd clients`);
        await r.etcdClients(cur, "ok", `${why}, new etcd clients`);
        if (phase === "distrust") await r.etcdClients(staged, "refused", `${why}, old etcd CA's clients`);
    } else if (ca === "front-proxy-ca") {
        await r.frontProxy(prev, "ok", `${why}, previous phase's proxy client`);
        await r.frontProxy(cur, "ok", `${why}, new proxy client`);
        if (phase === "distrust") await r.frontProxy(staged, "401", `${why}, old front-proxy CA's client`);
    } else {
        // sa: tokens minted before stage and in each phase
        const tokenWhy = `${why}`;
        if (phase === "stage") {
            await r.tokenWhoami("before-sa-stage", "ok", `${tokenWhy} (sa.pub: old + new)`);
            await r.mintToken("after-sa-stage");
            await r.tokenWhoami("after-sa-stage", "ok", `${tokenWhy} (still signed by the old sa.key)`);
            const [t0, t1] = r.tokens;
            r.s.check(`${tokenWhy}: the token minted after stage is signed by the same (old) key as before (same kid)`, t0.kid === t1?.kid, `${t0.kid} vs ${t1?.kid}`);
        } else if (phase === "promote") {
            await r.tokenWhoami("before-sa-stage", "ok", `${tokenWhy} (sa.pub: new + old)`);
            await r.tokenWhoami("after-sa-stage", "ok", tokenWhy);
            await r.mintToken("after-sa-promote");
            await r.tokenWhoami("after-sa-promote", "ok", `${tokenWhy} (signed by the new sa.key)`);
            const t0 = r.tokens[0];
            const t2 = r.tokens.find((x) => x.label === "after-sa-promote");
            r.s.check(`${tokenWhy}: the token minted after promote is signed by a different key (kid changed)`, !!t2 && t2.kid !== t0.kid, `${t0.kid} vs ${t2?.kid}`);
        } else {
            await r.tokenWhoami("before-sa-stage", "401", `${tokenWhy} (old key left sa.pub)`);
            await r.tokenWhoami("after-sa-stage", "401", `${tokenWhy} (old key left sa.pub)`);
            await r.tokenWhoami("after-sa-promote", "ok", `${tokenWhy} (new key)`);
            await r.mintToken("after-sa-distrust");
            await r.tokenWhoami("after-sa-distrust", "ok", tokenWhy);
        }
        // the prober holds the token minted in this phase too
        r.prober.hold(`${ca} ${phase} (+ new token)`, r.heldCreds());
    }
}
