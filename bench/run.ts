/**
 * `npm run bench`: how long the kube-pki program takes to evaluate, and how much memory it needs, for 3 control
 * planes + N workers under Pulumi mocks. Every measurement is a fresh process (bench/evaluate.ts, so peak RSS is that
 * run's); runs are interleaved across configurations so that other load on the machine spreads over all of them, and
 * the table shows the median (and the range) of --runs runs.
 *
 * Rows:
 *   nocrypto     kube-pki's ClusterPki, mocks echo inputs (no key generation): the program's own cost;
 *   crypto       the same with the crypto-faithful tls emulator (real ECDSA keys and certificates);
 *   pools        3 control planes + N workers that join through 4 worker pools (TLS bootstrap, --pool-sizes): the
 *                program registers nothing per worker, so time, RSS and resources must not grow with N;
 *   SDK floor    bench/sdk-floor.ts: the same number of registrations with no kube-pki code (a component + key →
 *                CSR → cert per leaf, like LeafCertificate), same mocks: what the Pulumi SDK alone costs.
 * Targets are reported, never asserted (docs/design.md#testing: benchmarks print numbers).
 *
 * Options: --runs <n> (3)  --sizes 10,100,1000  --crypto-sizes 10,100  --pool-sizes 10000  --no-floor  --json <file>  --markdown
 *          --baseline <dir>  also measure another copy of the project (e.g. a checkout of the previous commit with
 *                            node_modules linked), interleaved with this one: before/after rows under the same load
 *          --live (afterwards run bench/live.ts: real `pulumi up`/preview, openssl and kubeadm)
 *          --no-first-hour  skip bench/first-hour.ts (a refused preview vs a no-op preview on the real engine,
 *                           run by default when a Pulumi CLI is found)
 *          --no-preview-floor  skip bench/preview-floor.ts (a no-op preview of the dev stack vs a plain @pulumi/tls
 *                           program with as many resources, same CLI and backend; run by default with a Pulumi CLI)
 *          --state [--state-workers 50,200] (afterwards run bench/state.ts: a real `pulumi up` with the NodeFiles
 *                            sink per size: state size per worker and per NodeFiles resource, engine peak RSS)
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Table from "cli-table3";
import { findPulumi } from "../scripts/workspace";
import { benchFirstHour } from "./first-hour";
import { benchPreviewFloor } from "./preview-floor";

const BENCH_DIR = __dirname;
const PROJECT_DIR = path.resolve(BENCH_DIR, "..");

interface Sample {
    ms: number;
    rssMb: number;
    resources: number;
}

interface Config {
    /** Row label. */
    label: string;
    workers: number;
    /** The script (relative to bench/ of `dir`) and its arguments. */
    script: string;
    dir?: string;
    args: () => string[];
    samples: Sample[];
}

function option(name: string, fallback: string): string {
    const i = process.argv.indexOf(name);
    return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const flag = (name: string) => process.argv.includes(name);
const list = (s: string) => (s.trim() === "" || s === "none" ? [] : s.split(",").map(Number));

const runs = Number(option("--runs", "3"));
const sizes = list(option("--sizes", "10,100,1000"));
const cryptoSizes = list(option("--crypto-sizes", "10,100"));
const withFloor = !flag("--no-floor");
const poolSizes = list(option("--pool-sizes", "10000"));
const baseline = option("--baseline", "");

/** One measurement in a fresh Node process with ts-node (as `pulumi up` runs a TypeScript program). */
function measure(script: string, args: string[], dir = PROJECT_DIR): Sample {
    const res = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(dir, "bench", script), ...args], {
        cwd: dir,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    const line = res.stdout
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
    if (res.status !== 0 || !line) {
        throw new Error(`bench/${script} ${args.join(" ")} failed (exit ${res.status}):\n${res.stderr.slice(-4000)}`);
    }
    const j = JSON.parse(line);
    return { ms: j.ms, rssMb: j.rssMb, resources: j.resources };
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const secs = (ms: number) => (ms / 1000).toFixed(2);

function machine(): Record<string, string> {
    const cpus = os.cpus();
    let nproc = String(os.availableParallelism?.() ?? cpus.length);
    try {
        nproc = execFileSync("nproc", { encoding: "utf8" }).trim();
    } catch {
        // no coreutils: keep Node's count
    }
    return {
        nproc,
        cpu: `${cpus[0]?.model ?? "unknown"} (${cpus.length} logical)`,
        memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
        node: process.version,
        os: `${os.type()} ${os.release()}`,
    };
}
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

async function main() {
    const configs: Config[] = [];
    for (const n of sizes) {
        const c: Config = { label: "nocrypto", workers: n, script: "evaluate.ts", args: () => [String(n), "nocrypto"], samples: [] };
        configs.push(c);
        if (baseline) configs.push({ ...c, label: "nocrypto (baseline)", dir: baseline, samples: [] });
        if (withFloor) {
            // As many registrations as kube-pki made for this N: leaves = (resources − the floor's CA) / 4.
            const leaves = () => String(Math.round((c.samples[0].resources - 2) / 4));
            configs.push({ label: "SDK floor (same graph)", workers: n, script: "sdk-floor.ts", args: () => [leaves(), "graph"], samples: [] });
            configs.push({ label: "SDK floor (bare keys)", workers: n, script: "sdk-floor.ts", args: () => [leaves(), "bare"], samples: [] });
        }
    }
    for (const n of poolSizes) {
        configs.push({ label: "pools (4 pools)", workers: n, script: "evaluate.ts", args: () => [String(n), "pools"], samples: [] });
    }
    for (const n of cryptoSizes) {
        const c: Config = { label: "crypto (emulator)", workers: n, script: "evaluate.ts", args: () => [String(n), "crypto"], samples: [] };
        configs.push(c);
        if (baseline) configs.push({ ...c, label: "crypto (baseline)", dir: baseline, samples: [] });
    }

    // Registrations with 0 workers: the fixed part, so that rows can show what each added worker costs.
    const fixed = measure("evaluate.ts", ["0", "nocrypto"]).resources;
    const info = machine();
    const loadBefore = loadavg();
    const started = Date.now();
    for (let r = 1; r <= runs; r++) {
        for (const c of configs) {
            process.stderr.write(`run ${r}/${runs}: ${c.label} N=${c.workers} (load ${loadavg()}) ... `);
            const s = measure(c.script, c.args(), c.dir);
            c.samples.push(s);
            process.stderr.write(`${secs(s.ms)} s, ${s.rssMb.toFixed(0)} MB, ${s.resources} resources\n`);
        }
    }
    const loadAfter = loadavg();

    const rows = configs.map((c) => {
        const ms = median(c.samples.map((s) => s.ms));
        const rss = median(c.samples.map((s) => s.rssMb));
        const resources = c.samples[0].resources;
        const floor = configs.find((f) => f.label === "SDK floor (same graph)" && f.workers === c.workers);
        return {
            label: c.label,
            workers: c.workers,
            ms,
            msMin: Math.min(...c.samples.map((s) => s.ms)),
            msMax: Math.max(...c.samples.map((s) => s.ms)),
            rss,
            resources,
            perWorker: resources / c.workers,
            perAddedWorker: (resources - fixed) / c.workers,
            msPerWorker: ms / c.workers,
            vsFloor: c.label.startsWith("nocrypto") && floor ? ms / median(floor.samples.map((s) => s.ms)) : undefined,
        };
    });

    const head = ["N workers", "run", `eval time, median of ${runs} (min–max)`, "peak RSS", "resources", "resources / worker (per added worker)", "ms / worker", "× SDK floor"];
    const cells = rows.map((r) => [
        String(r.workers),
        r.label,
        `${secs(r.ms)} s (${secs(r.msMin)}–${secs(r.msMax)})`,
        `${r.rss.toFixed(0)} MB`,
        String(r.resources),
        `${r.perWorker.toFixed(2)} (${r.perAddedWorker.toFixed(2)})`,
        r.msPerWorker.toFixed(1),
        r.vsFloor ? r.vsFloor.toFixed(2) : "",
    ]);

    console.log(`kube-pki evaluation benchmark: 3 control planes + N workers, Pulumi mocks, ts-node, fresh process per run`);
    console.log(`machine: nproc ${info.nproc}, ${info.cpu}, ${info.memory}, Node ${info.node}, ${info.os}`);
    if (baseline) console.log(`baseline rows: ${path.resolve(baseline)}`);
    console.log(`load average (1/5/15 min): ${loadBefore} before, ${loadAfter} after; ${((Date.now() - started) / 1000).toFixed(0)} s total`);
    const table = new Table({ head, style: { head: [], border: [] } });
    table.push(...cells);
    console.log(table.toString());

    // Targets (reported, not asserted).
    const targets: string[] = [];
    const at = (n: number) => rows.find((r) => r.label === "nocrypto" && r.workers === n);
    const big = at(1000);
    const mid = at(100);
    const mark = (ok: boolean) => (ok ? "met" : "MISSED");
    if (big) {
        targets.push(`1000 workers evaluate in < 5 s: ${secs(big.ms)} s — ${mark(big.ms < 5000)}`);
        targets.push(`1000 workers evaluate in < 600 MB RSS: ${big.rss.toFixed(0)} MB — ${mark(big.rss < 600)}`);
    }
    if (big && mid) {
        const ratio = big.msPerWorker / mid.msPerWorker;
        targets.push(`time per worker at N=1000 within 1.5× of N=100: ${big.msPerWorker.toFixed(1)} vs ${mid.msPerWorker.toFixed(1)} ms (×${ratio.toFixed(2)}) — ${mark(ratio <= 1.5)}`);
        targets.push(`≤ 7 resources per worker: ${big.perWorker.toFixed(2)} at N=1000 (${big.perAddedWorker.toFixed(2)} per added worker; ${fixed} for 3 control planes and 0 workers) — ${mark(big.perWorker <= 7)}`);
    }
    for (const n of poolSizes) {
        const o = rows.find((r) => r.label === "pools (4 pools)" && r.workers === n);
        if (o) {
            targets.push(`pools: 3 control planes + ${n} workers in 4 pools plan in < 5 s: ${secs(o.ms)} s — ${mark(o.ms < 5000)}`);
            targets.push(`pools: < 600 MB RSS: ${o.rss.toFixed(0)} MB — ${mark(o.rss < 600)}; ${o.resources} resources whatever N (${fixed} with no pools)`);
        }
    }
    for (const n of sizes) {
        const o = at(n);
        const f = rows.find((r) => r.label === "SDK floor (same graph)" && r.workers === n);
        if (o && f) targets.push(`N=${n}: kube-pki's own code = ${secs(o.ms - f.ms)} s and ${(o.rss - f.rss).toFixed(0)} MB over the SDK floor (${(100 * (o.ms - f.ms) / o.ms).toFixed(0)}% of the time)`);
    }
    for (const r of rows.filter((x) => x.label.endsWith("(baseline)"))) {
        const now = rows.find((x) => x.workers === r.workers && x.label === r.label.replace(" (baseline)", r.label.startsWith("crypto") ? " (emulator)" : ""));
        if (now) targets.push(`N=${r.workers} ${now.label}: ${secs(r.ms)} → ${secs(now.ms)} s, ${r.rss.toFixed(0)} → ${now.rss.toFixed(0)} MB (baseline → this tree)`);
    }
    if (targets.length) console.log(targets.map((t) => `  - ${t}`).join("\n"));

    if (flag("--markdown")) {
        console.log("\n| " + head.join(" | ") + " |\n|" + head.map(() => "---").join("|") + "|");
        for (const c of cells) console.log("| " + c.join(" | ") + " |");
    }
    const jsonFile = option("--json", "");
    if (jsonFile) {
        fs.writeFileSync(jsonFile, JSON.stringify({ machine: info, loadBefore, loadAfter, runs, rows, samples: configs }, null, 2));
    }

    // The first hour: a refused preview against a no-op preview, on the real engine (skipped without a Pulumi CLI).
    if (!flag("--no-first-hour")) {
        if (findPulumi()) await benchFirstHour();
        else console.log("\nFirst hour rows skipped: no pulumi CLI (bash scripts/tools.sh build pulumi pulumi-resource-tls)");
    }
    // The review loop's floor: a no-op preview of the dev stack against a plain @pulumi/tls program of the same size.
    if (!flag("--no-preview-floor")) {
        if (findPulumi()) await benchPreviewFloor();
        else console.log("\nPreview-floor rows skipped: no pulumi CLI (bash scripts/tools.sh build pulumi pulumi-resource-tls)");
    }

    if (flag("--live")) {
        const live = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(BENCH_DIR, "live.ts")], {
            cwd: PROJECT_DIR,
            stdio: "inherit",
        });
        process.exitCode = live.status ?? 1;
    }
    if (flag("--state")) {
        const state = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(BENCH_DIR, "state.ts"), "--workers", option("--state-workers", "50,200")],
            { cwd: PROJECT_DIR, stdio: "inherit" },
        );
        process.exitCode = state.status || process.exitCode || 0;
    }
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
