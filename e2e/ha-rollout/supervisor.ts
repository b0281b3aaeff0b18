/**
 * A machine's init for step `rollout`: it emulates the kubelet's static pods, and nothing else restarts a component.
 * Run as a child process of the step (one per machine):
 *
 *   node -r ts-node/register/transpile-only e2e/ha-rollout/supervisor.ts <manifests dir> <event log> <poll ms>
 *
 * Every `poll ms` it lists `<manifests dir>/*.yaml` (Pod manifests: `spec.containers[0].command`, `env`), as the
 * kubelet's file source does:
 *  - a manifest that appears (or whose content changes) starts its component (after the old process exited);
 *  - a manifest that disappears stops it: SIGTERM, then SIGKILL after the pod's terminationGracePeriodSeconds;
 *  - a component that exits while its manifest is there is started again after a back-off (CrashLoopBackOff, short).
 * Every start, stop and exit is appended to the event log as a JSON line `{t, component, event, pid, code}`; the
 * step compares them with the preview's per-node plan. On SIGTERM the supervisor stops every component and exits.
 * Self-contained on purpose (node built-ins and `yaml` only): it is the machine's, not the project's.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

interface Pod {
    name: string;
    hash: string;
    command: string[];
    env: Record<string, string>;
    graceMs: number;
}

interface Running {
    pod: Pod;
    child: ChildProcess;
    stopping: boolean;
    exited: Promise<void>;
}

const [manifestsDir, eventLog, pollArg] = process.argv.slice(2);
const pollMs = Number(pollArg) || 1000;
const logDir = path.dirname(eventLog);
const BACKOFF_MS = 2000;

const running = new Map<string, Running>();
const backoffUntil = new Map<string, number>();
let shuttingDown = false;

function event(component: string, what: string, extra: Record<string, unknown> = {}) {
    fs.appendFileSync(eventLog, `${JSON.stringify({ t: Date.now(), component, event: what, ...extra })}\n`);
}

function readPods(): Map<string, Pod> {
    const pods = new Map<string, Pod>();
    let names: string[] = [];
    try {
        names = fs.readdirSync(manifestsDir).filter((n) => n.endsWith(".yaml") && !n.startsWith("."));
    } catch {
        return pods; // no manifests dir: nothing runs
    }
    for (const file of names) {
        const name = file.slice(0, -".yaml".length);
        try {
            const text = fs.readFileSync(path.join(manifestsDir, file), "utf8");
            const doc = parseYaml(text);
            const container = doc.spec.containers[0];
            const env: Record<string, string> = {};
            for (const e of container.env ?? []) env[e.name] = String(e.value);
            pods.set(name, {
                name,
                hash: createHash("sha256").update(text).digest("hex"),
                command: container.command.map(String),
                env,
                graceMs: 1000 * Number(doc.spec.terminationGracePeriodSeconds ?? 30),
            });
        } catch (e) {
            // a manifest being written or broken: the kubelet skips it too (and keeps what runs)
            const current = running.get(name);
            if (current) pods.set(name, current.pod);
            else event(name, "invalid-manifest", { error: (e as Error).message.slice(0, 200) });
        }
    }
    return pods;
}

function start(pod: Pod) {
    const out = fs.openSync(path.join(logDir, `${pod.name}.log`), "a");
    fs.writeSync(out, `--- ${new Date().toISOString()} $ ${pod.command.join(" ")}\n`);
    const child = spawn(pod.command[0], pod.command.slice(1), { env: { ...process.env, ...pod.env }, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const r: Running = { pod, child, stopping: false, exited: Promise.resolve() };
    r.exited = new Promise((resolve) => {
        const done = (code: number | string | null) => {
            event(pod.name, r.stopping ? "stopped" : "exited", { pid: child.pid, code });
            if (running.get(pod.name) === r) running.delete(pod.name);
            if (!r.stopping) backoffUntil.set(pod.name, Date.now() + BACKOFF_MS);
            resolve();
        };
        child.on("error", (e) => done(e.message));
        child.on("exit", (code, signal) => done(code ?? signal));
    });
    running.set(pod.name, r);
    event(pod.name, "start", { pid: child.pid, hash: pod.hash.slice(0, 12) });
}

function stop(r: Running, why: string) {
    if (r.stopping) return;
    r.stopping = true;
    event(r.pod.name, "stop", { pid: r.child.pid, why });
    r.child.kill("SIGTERM");
    const timer = setTimeout(() => r.child.kill("SIGKILL"), r.pod.graceMs);
    void r.exited.then(() => clearTimeout(timer));
}

function sync() {
    if (shuttingDown) return;
    const pods = readPods();
    for (const [name, r] of running) {
        const want = pods.get(name);
        if (!want) stop(r, "manifest removed");
        else if (want.hash !== r.pod.hash) stop(r, "manifest changed");
    }
    for (const [name, pod] of pods) {
        if (running.has(name)) continue; // running, or stopping: started again once it exited
        if ((backoffUntil.get(name) ?? 0) > Date.now()) continue;
        start(pod);
    }
}

async function shutdown() {
    shuttingDown = true;
    const all = [...running.values()];
    for (const r of all) stop(r, "machine shutdown");
    await Promise.all(all.map((r) => r.exited));
    process.exit(0);
}

process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
event("supervisor", "start", { pid: process.pid, pollMs });
sync();
setInterval(sync, pollMs);
