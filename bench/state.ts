/**
 * State weight and engine memory of a real `pulumi up` with the NodeFiles sink (`npm run bench -- --state`, or
 * `ts-node --transpile-only bench/state.ts`): 3 control planes + N workers, every node's tree written under a
 * nodeFilesRoot in a temp dir, file backend, the CLI and tls provider of the scripts/tools.sh cache.
 *
 * Per size it reports: wall time of the up, resources, the state file's size and its size per worker, the bytes
 * per NodeFiles resource and how many of them are the serialized dynamic provider (`__provider`, stored in the
 * inputs and the outputs), and the peak RSS (VmHWM) and bytes written (/proc/<pid>/io write_bytes) of the engine
 * (`pulumi` CLI), the dynamic provider and the program, sampled every 250 ms.
 *
 * With --rotate, a second `pulumi up` renews one node (rotate: {"node:worker-0": 1}: its kubelet.conf and, if on,
 * serving cert) and reports its wall time and engine bytes written. With --skip-checkpoints every size is measured
 * again with PULUMI_SKIP_CHECKPOINTS=true (the engine saves only the final state instead of the whole checkpoint
 * after every step: pulumi pkg/backend/snapshot.go unsafeServiceLoop): the file backend rewrites the whole state
 * file after each step by default, so the bytes written grow with resources × state size, i.e. quadratically in N.
 *
 * Options: --workers 50,200  --rotate  --skip-checkpoints (or --only-skip-checkpoints)  --key ECDSA-P256 (leaf and CA keys; RSA-2048 is kubeadm's default but only the
 *          generation time differs)  --project <dir> (measure another copy of the program, e.g. the previous
 *          commit: `git archive <commit> | tar -x -C /tmp/base`)  --json <file>  --keep  --destroy
 * Reported, never asserted.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import Table from "cli-table3";
import { descendants } from "../e2e/procs";
import { workspace } from "../e2e/pulumi";
import { CONTROL_PLANES, option, PROJECT_DIR, snapshotProgram, toolPath } from "./live";

const sizes = option("--workers", "50,200").split(",").map(Number);
const keyAlgorithm = option("--key", "ECDSA-P256");
const project = path.resolve(option("--project", PROJECT_DIR));
const keep = process.argv.includes("--keep");

function builtTool(tool: string): string {
    const p = toolPath(tool);
    if (!p) throw new Error(`${tool} is not built (bash scripts/tools.sh build ${tool})`);
    return p;
}

/** Every live descendant of `pid` with its command line. */
function descendantsWithCmd(pid: number): { pid: number; cmd: string }[] {
    return descendants(pid).flatMap((p) => {
        try {
            return [{ pid: p, cmd: fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ") }];
        } catch {
            return [];
        }
    });
}

interface Peak {
    rssMb: number;
    writtenMb: number;
}

/** Samples VmHWM and write_bytes of the engine, the dynamic provider and the program until stopped. */
function sampler() {
    const peaks: Record<string, Peak> = {};
    const roleOf = (cmd: string) =>
        /dynamic-provider/.test(cmd) ? "dynamic provider" : /(^|\/)pulumi (up|preview)\b/.test(cmd) ? "engine (pulumi CLI)" : /pulumi-resource-tls/.test(cmd) ? "tls provider" : /language-host|run-plugin|\/run\b|ts-node/.test(cmd) && /node/.test(cmd) ? "program (node)" : undefined;
    const tick = () => {
        for (const { pid, cmd } of descendantsWithCmd(process.pid)) {
            const role = roleOf(cmd);
            if (!role) continue;
            try {
                const hwm = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
                const written = Number(/write_bytes:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0) / 1024 / 1024;
                const p = (peaks[role] ??= { rssMb: 0, writtenMb: 0 });
                p.rssMb = Math.max(p.rssMb, hwm);
                p.writtenMb = Math.max(p.writtenMb, written);
            } catch {
                // exited
            }
        }
    };
    const timer = setInterval(tick, 250);
    return {
        stop: () => {
            clearInterval(timer);
            return peaks;
        },
    };
}

interface Result {
    workers: number;
    /** "every step" (default) or "final only" (PULUMI_SKIP_CHECKPOINTS=true). */
    checkpoints: string;
    rotateS?: number;
    rotateWrittenMb?: number;
    upS: number;
    resources: number;
    stateKb: number;
    nodeFilesResources: number;
    bytesPerNodeFiles: number;
    providerBytesPerNodeFiles: number;
    /** The state of one worker (worker-0), bytes by resource type, and the stack outputs' bytes per node. */
    workerBytesByType: Record<string, number>;
    stackOutputBytesPerNode: number;
    peaks: Record<string, Peak>;
}

async function measure(tmp: string, workers: number, pulumiBin: string, skipCheckpoints = false): Promise<Result> {
    const tag = `${workers}${skipCheckpoints ? "-skip" : ""}`;
    const work = snapshotProgram(project, path.join(tmp, `project-${tag}`));
    const pulumiHome = path.join(tmp, "pulumi-home");
    fs.mkdirSync(pulumiHome, { recursive: true });
    const backend = path.join(tmp, `state-${tag}`);
    fs.mkdirSync(backend);
    const PATH = `${pulumiBin}:${builtTool("pulumi-resource-tls")}:${process.env.PATH}`;
    process.env.PATH = PATH;
    const ws = await workspace({ workDir: work, backendUrl: `file://${backend}`, pulumiHome, env: { PATH, TMPDIR: tmp } });
    ws.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    if (skipCheckpoints) ws.envVars.PULUMI_SKIP_CHECKPOINTS = "true";
    const stack = await Stack.create(`state-${tag}`, ws);
    const config: Record<string, string> = {
        clusterName: "bench",
        controlPlaneEndpoint: "api.bench.example:6443",
        keyAlgorithm,
        caKeyAlgorithm: keyAlgorithm,
        nodeFilesRoot: path.join(tmp, `nodes-${tag}`),
        controlPlanes: JSON.stringify(Array.from({ length: CONTROL_PLANES }, (_, i) => ({ name: `cp-${i + 1}`, advertiseAddress: `10.0.0.${11 + i}` }))),
        workers: JSON.stringify(Array.from({ length: workers }, (_, i) => ({ name: `worker-${i}`, addresses: [`10.${1 + Math.floor(i / 250)}.0.${(i % 250) + 1}`] }))),
    };
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [`kube-pki:${k}`, { value: v }])));
    const log = path.join(tmp, `pulumi-${tag}.log`);
    const s = sampler();
    const t0 = process.hrtime.bigint();
    const result = await stack.up({ onOutput: (o) => fs.appendFileSync(log, o), color: "never" });
    const upS = Number(process.hrtime.bigint() - t0) / 1e9;
    const peaks = s.stop();
    const stateFile = path.join(backend, ".pulumi", "stacks", "kube-pki", `state-${tag}.json`);
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
    const nf = (state.checkpoint?.latest?.resources ?? []).filter((r: { type: string }) => r.type === "pulumi-nodejs:dynamic:NodeFiles");
    const providerBytes = nf.reduce(
        (n: number, r: { inputs?: { __provider?: string }; outputs?: { __provider?: string } }) =>
            n + (r.inputs?.__provider?.length ?? 0) + (r.outputs?.__provider?.length ?? 0),
        0,
    );
    const bytes = nf.reduce((n: number, r: unknown) => n + JSON.stringify(r).length, 0);
    const stateKb = fs.statSync(stateFile).size / 1024;
    const resources: { urn: string; type: string; outputs?: unknown }[] = state.checkpoint?.latest?.resources ?? [];
    const workerBytesByType: Record<string, number> = {};
    for (const r of resources.filter((r) => /[-:]worker-0(-[^:]*)?$/.test(r.urn))) {
        workerBytesByType[r.type] = (workerBytesByType[r.type] ?? 0) + JSON.stringify(r).length;
    }
    const stackResource = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const stackOutputBytesPerNode = JSON.stringify(stackResource?.outputs ?? {}).length / (workers + CONTROL_PLANES);
    let rotateS: number | undefined;
    let rotateWrittenMb: number | undefined;
    if (process.argv.includes("--rotate")) {
        await stack.setConfig("kube-pki:rotate", { value: JSON.stringify({ "node:worker-0": 1 }) });
        const r = sampler();
        const t1 = process.hrtime.bigint();
        await stack.up({ onOutput: (o) => fs.appendFileSync(log, o), color: "never" });
        rotateS = Number(process.hrtime.bigint() - t1) / 1e9;
        rotateWrittenMb = r.stop()["engine (pulumi CLI)"]?.writtenMb;
    }
    // no destroy: the temp dir (state, node trees) is removed at the end; --destroy measures nothing more
    if (process.argv.includes("--destroy")) await stack.destroy({ color: "never", onOutput: (o) => fs.appendFileSync(log, o) });
    return {
        workers,
        checkpoints: skipCheckpoints ? "final only" : "every step",
        ...(rotateS !== undefined ? { rotateS, rotateWrittenMb } : {}),
        upS,
        resources: result.summary.resourceChanges?.create ?? 0,
        stateKb,
        nodeFilesResources: nf.length,
        bytesPerNodeFiles: nf.length ? bytes / nf.length : 0,
        providerBytesPerNodeFiles: nf.length ? providerBytes / nf.length : 0,
        workerBytesByType,
        stackOutputBytesPerNode,
        peaks,
    };
}

async function main() {
    const pulumiBin = builtTool("pulumi");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-state-"));
    const results: Result[] = [];
    try {
        for (const n of sizes) {
            if (!process.argv.includes("--only-skip-checkpoints")) results.push(await measure(tmp, n, pulumiBin));
            if (process.argv.includes("--skip-checkpoints") || process.argv.includes("--only-skip-checkpoints")) results.push(await measure(tmp, n, pulumiBin, true));
            // each size's row as soon as it is measured (a long run that is stopped keeps what it measured)
            process.stderr.write(`${JSON.stringify(results[results.length - 1])}\n`);
        }
    } finally {
        if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.log(`kube-pki state weight: ${CONTROL_PLANES} control planes + N workers, ${keyAlgorithm}, NodeFiles sink on, program ${project}`);
    console.log(`machine: nproc ${os.availableParallelism?.() ?? os.cpus().length}, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    const table = new Table({
        head: ["workers", "checkpoints", "up", "one-node rotation (engine wrote)", "resources", "state", "state / worker", "NodeFiles state each (of it __provider)", "engine peak RSS", "engine wrote", "dyn. provider peak RSS", "program peak RSS"],
        style: { head: [], border: [] },
    });
    for (const r of results) {
        const mb = (role: string, k: keyof Peak) => (r.peaks[role] ? `${r.peaks[role][k].toFixed(0)} MB` : "n/a");
        table.push([
            String(r.workers),
            r.checkpoints,
            `${r.upS.toFixed(0)} s`,
            r.rotateS !== undefined ? `${r.rotateS.toFixed(0)} s (${(r.rotateWrittenMb ?? 0).toFixed(0)} MB)` : "",
            String(r.resources),
            `${(r.stateKb / 1024).toFixed(2)} MB`,
            `${(r.stateKb / (r.workers + CONTROL_PLANES)).toFixed(1)} KB`,
            `${(r.bytesPerNodeFiles / 1024).toFixed(1)} KB (${(r.providerBytesPerNodeFiles / 1024).toFixed(1)} KB)`,
            mb("engine (pulumi CLI)", "rssMb"),
            mb("engine (pulumi CLI)", "writtenMb"),
            mb("dynamic provider", "rssMb"),
            mb("program (node)", "rssMb"),
        ]);
    }
    console.log(table.toString());
    for (const r of results) {
        const parts = Object.entries(r.workerBytesByType).sort((a, b) => b[1] - a[1]);
        const total = parts.reduce((n, [, b]) => n + b, 0);
        console.log(
            `  - N=${r.workers} (${r.checkpoints}): one worker's resources ${(total / 1024).toFixed(1)} KB (${parts.map(([t, b]) => `${t.replace(/^.*[:/]/, "")} ${(b / 1024).toFixed(1)}`).join(", ")}); ` +
                `stack outputs ${(r.stackOutputBytesPerNode / 1024).toFixed(1)} KB per node`,
        );
    }
    const every = results.filter((r) => r.checkpoints === "every step");
    if (every.length >= 2) {
        const [a, b] = [every[0], every[every.length - 1]];
        const written = (r: Result) => r.peaks["engine (pulumi CLI)"]?.writtenMb ?? 0;
        console.log(
            `  - engine bytes written, N=${a.workers} → ${b.workers} (×${(b.workers / a.workers).toFixed(1)} workers): ×${(written(b) / written(a)).toFixed(1)} ` +
                `(linear would be ×${(b.workers / a.workers).toFixed(1)}, quadratic ×${((b.workers / a.workers) ** 2).toFixed(1)})`,
        );
        console.log(`  - state per added worker (N=${a.workers} → ${b.workers}): ${((b.stateKb - a.stateKb) / (b.workers - a.workers)).toFixed(1)} KB`);
    }
    const jsonFile = option("--json", "");
    if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ keyAlgorithm, project, results }, null, 2));
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
