/**
 * Step `faults`: the NodeFiles sink and the root stack's protection under real faults, on the real engine.
 *
 *  (a) crash: kill -9 of the engine and everything it started while a node's files are staged (temp files on
 *      disk; e2e/hooks/pause-after-staging.js, loaded into the provider through NODE_OPTIONS, pauses it after
 *      each staged file); the node being written is then removed
 *      from the config; a single `up` converges: succeeded, no temp file anywhere under the root, every node's
 *      files as the stack's hashes say, and the next preview changes nothing;
 *  (b) kill -9 of the engine alone: the dynamic provider (decrypted node contents in memory) exits by itself;
 *  (c) a symlink from one node's tree into another's (worker-2/etc → ../cp-1/etc) is refused by preview and up,
 *      the message naming both nodes, and cp-1's files are unchanged;
 *  (d) drift: a file changed on disk is named by `preview --diff` and repaired by `up`;
 *  (e) destroy of a root stack: refused by the destroy guard before anything runs, and by the engine itself even
 *      with --skip-preview (every CA key and cert protected): the state keeps every resource.
 */
import { setMaxListeners } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { pidAlive, tempFilesUnder } from "../components/sinks/node-files/public";
import { destroyRefusal, protectedInDestroy } from "../scripts/destroy-guard";
import { descendants, runOk, sleep } from "./procs";
import { createStack, exportEncrypted, plainOutputs, pulumiOp, workspace } from "./pulumi";
import type { Ctx } from "./steps";

const STACK = "e2e-faults";
const ROOT_STACK = "e2e-faults-root";

const tempFiles = tempFilesUnder;
/** The e2e-only hook that pauses the provider after each staged file (see the file). */
const PAUSE_HOOK = path.join(__dirname, "hooks", "pause-after-staging.js");
const alive = pidAlive;
const cmdline = (pid: number) => {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
        return "";
    }
};

async function waitFor(what: string, ok: () => boolean, ms: number, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!ok() && Date.now() < deadline && !signal.aborted) await sleep(200);
    return ok();
}

/** The file backend's lock files of a stack (a killed engine leaves its lock behind). */
function lockFiles(backendDir: string, stack: string): string[] {
    const locks = path.join(backendDir, ".pulumi", "locks");
    const out: string[] = [];
    const walk = (d: string) => {
        if (!fs.existsSync(d)) return;
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (p.includes(`${path.sep}${stack}${path.sep}`)) out.push(p);
        }
    };
    walk(locks);
    return out;
}

/** sha256 + mode of every file of the stack's nodeFileHashes output, against the disk. */
function treeMismatches(root: string, hashes: Record<string, Record<string, string>>): string[] {
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    const problems: string[] = [];
    for (const [node, files] of Object.entries(hashes)) {
        for (const [rel, sha] of Object.entries(files)) {
            const p = path.join(root, node, rel);
            if (!fs.existsSync(p)) problems.push(`${node}/${rel}: missing`);
            else if (createHash("sha256").update(fs.readFileSync(p)).digest("hex") !== sha) problems.push(`${node}/${rel}: content differs`);
        }
    }
    return problems;
}

/**
 * Starts `up` with the provider paused after each staged file, waits until a temp file is on disk, then kills -9
 * either the whole process tree of the operation ("all") or the engine alone ("engine"). Returns the pids of the
 * operation's processes at the kill and the temp files seen.
 */
async function crashDuringWrite(ctx: Ctx, ws: LocalWorkspace, stack: Stack, root: string, what: "all" | "engine", signal: AbortSignal) {
    // the pause is injected by an e2e-only --require hook into the provider process (the shipped code reads no test variable)
    const nodeOptions = ws.envVars.NODE_OPTIONS;
    ws.envVars.NODE_OPTIONS = `${nodeOptions ?? ""} --require ${PAUSE_HOOK}`.trim();
    ws.envVars.KUBE_PKI_TEST_PAUSE_AFTER_STAGING = "3000";
    const before = new Set(descendants(process.pid));
    const op = stack.up({ onOutput: () => undefined, color: "never" }).then(
        () => "completed",
        (e: Error) => `failed: ${e.message.split("\n").slice(-3).join(" ")}`,
    );
    let outcome: string | undefined;
    void op.then((o) => (outcome = o));
    const staged = await waitFor("a staged temp file", () => tempFiles(root).length > 0 || outcome !== undefined, 240_000, signal);
    delete ws.envVars.KUBE_PKI_TEST_PAUSE_AFTER_STAGING;
    if (nodeOptions === undefined) delete ws.envVars.NODE_OPTIONS;
    else ws.envVars.NODE_OPTIONS = nodeOptions;
    const procs = descendants(process.pid).filter((p) => !before.has(p));
    const engine = procs.find((p) => /(^|\/)pulumi up\b|\/pulumi .*\bup\b/.test(cmdline(p)) && !cmdline(p).includes("language"));
    const provider = procs.find((p) => cmdline(p).includes("dynamic-provider"));
    const temps = tempFiles(root);
    ctx.suite.check(
        `crash (${what}): the up was caught while node files were staged (${temps.length} temp file(s), engine pid ${engine}, provider pid ${provider})`,
        staged && outcome === undefined && temps.length > 0 && engine !== undefined && provider !== undefined,
        `outcome ${outcome}, temps ${temps.join(", ")}, processes:\n${procs.map((p) => `${p} ${cmdline(p)}`).join("\n")}`,
    );
    const victims = what === "all" ? procs : engine !== undefined ? [engine] : [];
    for (const p of victims) {
        try {
            process.kill(p, "SIGKILL");
        } catch {
            // gone
        }
    }
    await op;
    return { procs, engine, provider, temps };
}

export async function stepFaults(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    setMaxListeners(64, signal); // one listener per Automation API operation and command
    const backendDir = String(ctx.ws.envVars.PULUMI_BACKEND_URL).replace(/^file:\/\//, "");
    // a workspace of its own (same backend and program): the crash hook's env var stays out of the shared one
    const ws = await workspace({ workDir: ctx.projectDir, backendUrl: `file://${backendDir}`, pulumiHome: String(ctx.env.PULUMI_HOME), env: ctx.env });
    ws.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    const root = path.join(ctx.work, "faults-nodes");
    const worker = (n: number) => ({ name: `worker-${n}`, addresses: [`127.0.0.${10 + n}`] });
    const config = {
        clusterName: STACK,
        controlPlaneEndpoint: "127.0.0.1:6443",
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [worker(1), worker(2)],
        keyAlgorithm: "ECDSA-P256",
        caKeyAlgorithm: "ECDSA-P256",
        nodeFilesRoot: root,
    };
    const stack = await createStack(ws, STACK, config);
    ctx.stacks.push(stack);
    const setWorkers = (ns: number[]) => stack.setConfig("kube-pki:workers", { value: JSON.stringify(ns.map(worker)) });
    const up = async (label: string) => {
        const res = await pulumiOp(`${STACK}-${label}`, signal, (o) => stack.up(o));
        return { res, outputs: plainOutputs(res.outputs) };
    };

    // --- first up: the sink writes three node trees
    const first = await up("up");
    s.check("faults: first up writes cp-1, worker-1, worker-2 under nodeFilesRoot", treeMismatches(root, first.outputs.nodeFileHashes).length === 0 && Object.keys(first.outputs.nodeFileHashes).length === 3);

    // --- (a) kill -9 of everything while worker-3/worker-4 are being written; the node caught is then removed
    await setWorkers([1, 2, 3, 4]);
    const crash = await crashDuringWrite(ctx, ws, stack, root, "all", signal);
    const caughtNode = path.relative(root, crash.temps[0] ?? root).split(path.sep)[0];
    s.check(`crash: every process of the operation is gone after kill -9`, (await waitFor("gone", () => crash.procs.every((p) => !alive(p)), 10_000, signal)));
    s.check(`crash: temp files of the interrupted write are left on disk (the fault is real): ${crash.temps.map((t) => path.relative(root, t)).join(", ")}`, tempFiles(root).length > 0);
    const locks = lockFiles(backendDir, STACK);
    s.info(`the killed engine left ${locks.length} lock file(s); removed (the wrapper's stale-lock clearing does this for npm run up)`);
    for (const l of locks) fs.rmSync(l);
    // the node whose write was interrupted leaves the config (its temp file must still go)
    const remaining = [1, 2, 3, 4].filter((n) => `worker-${n}` !== caughtNode);
    await setWorkers(remaining);
    const after = await up("up-after-crash");
    s.check(`crash: a single up afterwards succeeds (${caughtNode} removed from the config)`, after.res.summary.result === "succeeded", after.res.summary.result);
    s.equal("crash: no temp file anywhere under the root (also none of the removed node)", tempFiles(root).map((t) => path.relative(root, t)), []);
    s.equal(
        "crash: every configured node's files match the stack's hashes",
        treeMismatches(root, after.outputs.nodeFileHashes),
        [],
    );
    s.equal("crash: nodeFileHashes lists exactly the configured nodes", Object.keys(after.outputs.nodeFileHashes).sort(), ["cp-1", ...remaining.map((n) => `worker-${n}`)].sort());
    const settled = await pulumiOp(`${STACK}-preview-after-crash`, signal, (o) => stack.preview(o));
    const changes = Object.entries(settled.changeSummary).filter(([k, v]) => k !== "same" && k !== "read" && (v ?? 0) > 0);
    s.check("crash: the next preview changes nothing", changes.length === 0, JSON.stringify(settled.changeSummary));

    // --- (b) kill -9 of the engine alone: the provider must not live on under PID 1
    await setWorkers([...remaining, 5]);
    const engineOnly = await crashDuringWrite(ctx, ws, stack, root, "engine", signal);
    const providerGone = engineOnly.provider !== undefined && (await waitFor("provider exit", () => !alive(engineOnly.provider!), 30_000, signal));
    s.check(
        `kill -9 of the engine alone: the dynamic provider (pid ${engineOnly.provider}) exits by itself (orphan watchdog)`,
        providerGone,
        `still running: ${cmdline(engineOnly.provider ?? -1)}`,
    );
    for (const p of engineOnly.procs) if (alive(p)) process.kill(p, "SIGKILL"); // the language host and program
    for (const l of lockFiles(backendDir, STACK)) fs.rmSync(l);
    const again = await up("up-after-engine-kill");
    s.check("kill -9 of the engine: the next up succeeds with no temp file left", again.res.summary.result === "succeeded" && tempFiles(root).length === 0, tempFiles(root).join(", "));

    // --- (c) a symlink from worker-2's tree into cp-1's
    const cpKubelet = path.join(root, "cp-1", "etc/kubernetes/kubelet.conf");
    const cpBefore = fs.readFileSync(cpKubelet);
    const w2etc = path.join(root, "worker-2", "etc");
    fs.renameSync(w2etc, `${w2etc}.moved`);
    fs.symlinkSync("../cp-1/etc", w2etc);
    try {
        for (const op of ["preview", "up"] as const) {
            let message = "";
            try {
                await pulumiOp<unknown>(`${STACK}-${op}-symlink`, signal, (o) => (op === "up" ? stack.up(o) : stack.preview(o)));
            } catch (e) {
                // the error keeps the output's tail; the program's refusal is earlier: read the whole log
                message = (e as Error).message;
                const log = /\(log: (\S+)\)/.exec(message)?.[1];
                if (log && fs.existsSync(log)) message = fs.readFileSync(log, "utf8");
            }
            s.check(
                `cross-node symlink: ${op} is refused, naming worker-2 and cp-1`,
                /worker-2\/etc is a symlink to \S*\/cp-1\/etc, inside cp-1\/ \(node cp-1's tree, not node worker-2's\)/.test(message),
                message.slice(-1500) || "it succeeded",
            );
        }
        s.check("cross-node symlink: cp-1's kubelet.conf is unchanged", fs.readFileSync(cpKubelet).equals(cpBefore));
    } finally {
        fs.rmSync(w2etc);
        fs.renameSync(`${w2etc}.moved`, w2etc);
    }

    // --- (d) drift named by file
    const w1kubelet = path.join(root, "worker-1", "etc/kubernetes/kubelet.conf");
    fs.appendFileSync(w1kubelet, "# edited by hand\n");
    const drift = await pulumiOp(`${STACK}-preview-drift`, signal, (o) => stack.preview({ ...o, diff: true }));
    s.check(
        "drift: preview --diff names the file that changed on disk",
        drift.stdout.includes("etc/kubernetes/kubelet.conf: content changed on disk") && (drift.changeSummary.update ?? 0) >= 1,
        drift.stdout.slice(-2000),
    );
    const repaired = await up("up-drift");
    s.check("drift: up repairs it", treeMismatches(root, repaired.outputs.nodeFileHashes).length === 0);

    // --- destroy after the recoveries: every file, every directory and the root the sink created are gone
    const destroyed = await pulumiOp(`${STACK}-destroy`, signal, (o) => stack.destroy(o));
    s.check(
        "destroy after the recoveries: no directory left, not even the root the sink created",
        destroyed.summary.result === "succeeded" && !fs.existsSync(root),
        fs.existsSync(root) ? `left: ${fs.readdirSync(root, { recursive: true }).join(", ")}` : destroyed.summary.result,
    );
    ctx.stacks.splice(ctx.stacks.indexOf(stack), 1);
    await ws.removeStack(STACK);

    // --- (e) a root stack's destroy deletes nothing and says why (its cluster stack exists, with no CSR yet)
    await Stack.create("e2e-faults-f1", ws);
    const rootStack = await createStack(ws, ROOT_STACK, {
        role: "root",
        rootCa: { keyAlgorithm: "ECDSA-P256" },
        clusters: [{ name: "f1", stack: "organization/kube-pki/e2e-faults-f1", cas: ["ca", "etcd-ca"] }],
    });
    await pulumiOp(`${ROOT_STACK}-up`, signal, (o) => rootStack.up(o));
    const exported = await exportEncrypted(ws, ROOT_STACK);
    const urns = (e: unknown) => ((e as { deployment: { resources: { urn: string }[] } }).deployment.resources ?? []).map((r) => r.urn).sort();
    const hits = protectedInDestroy(exported);
    const refusal = destroyRefusal(ROOT_STACK, exported) ?? "";
    s.check(
        `root destroy: the guard refuses before anything runs, naming ${hits.length} protected resources (the root CA component, its key and cert; no intermediate is signed before f1 publishes CSRs)`,
        hits.length === 1 + 2 && /root-root-key/.test(refusal) && /Nothing was deleted/.test(refusal),
        refusal,
    );
    let destroyMessage = "";
    try {
        await pulumiOp(`${ROOT_STACK}-destroy`, signal, (o) => rootStack.destroy(o)); // --skip-preview
    } catch (e) {
        destroyMessage = (e as Error).message;
    }
    s.check("root destroy (--skip-preview, guard bypassed): the engine refuses", /protected/i.test(destroyMessage), destroyMessage.slice(-1200) || "it succeeded");
    // Reads (the root's StackReference to its own previous outputs) and the default `pulumi` provider they use are
    // not resources anyone owns: the engine drops them first. Every resource that holds key material must remain.
    const owned = (list: string[]) => list.filter((u) => !/pulumi:pulumi:StackReference::|pulumi:providers:pulumi::/.test(u));
    s.equal("root destroy: the state still holds every resource (nothing deleted)", owned(urns(await exportEncrypted(ws, ROOT_STACK))), owned(urns(exported)));
    // clean up: unprotect, then teardown destroys it like the others
    await runOk("pulumi", ["state", "unprotect", "--all", "--yes", "--stack", ROOT_STACK], {
        cwd: ws.workDir,
        env: { ...process.env, ...ws.envVars },
        log: "pulumi-state-unprotect",
        timeoutMs: 120_000,
    });
    ctx.stacks.push(rootStack);
    await ws.removeStack("e2e-faults-f1");
}
