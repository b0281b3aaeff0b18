/** Step "ca-rotation": one rotation run (stack, control plane, snapshots, previews, ups, live client checks). */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { ControlPlane } from "../cluster";
import { Suite } from "../harness";
import { run, RunResult, sleep } from "../procs";
import { isSelfRead, plainOutputs, pulumiOp } from "../pulumi";
import type { Ctx } from "../steps";
import { writeScenarioTrees } from "../steps";
import { at, CLUSTER_DOMAIN, KUBECONFIGS, Phase, pki, read, Rotated, SA_USER, secs, SERVICE_CIDR, Snapshot } from "./fixture";
import { Cred, etcdPeerMembers, kubeconfigCred, Prober, selfSubjectReview } from "./probes";

// ------------------------------------------------------------------------------------------------ the run

export interface PhaseTiming {
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

export interface Plan {
    creates: string[];
    replaces: { name: string; type: string }[];
    deletes: string[];
    others: string[];
    summary: Record<string, number>;
    output: string;
}

export class RotationRun {
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

    async up(label: string): Promise<{ outputs: Record<string, any>; changes: Record<string, number> }> {
        const res = await pulumiOp(`up-${label}`, this.signal, (o) => this.stack.up(o));
        const changes = Object.fromEntries(
            Object.entries(res.summary.resourceChanges ?? {}).filter(([k, v]) => k !== "same" && k !== "read" && (v ?? 0) > 0),
        ) as Record<string, number>;
        if (res.summary.result !== "succeeded") throw new Error(`pulumi up ${label}: ${res.summary.result}`);
        return { outputs: plainOutputs(res.outputs), changes };
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

export const emptyPlan = (): Plan => ({ creates: [], replaces: [], deletes: [], others: [], summary: {}, output: "" });

/** Runs `fn` over `items` with at most `n` at a time; results in order. */
export async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
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

