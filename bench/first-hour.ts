/**
 * `npm run bench -- --first-hour` (or `ts-node bench/first-hour.ts [--runs 3]`): what a mistake costs. In a temp
 * copy of the project with its own file backend, the real engine runs
 *   - a no-op `pulumi preview` of the dev stack (3 control planes, 3 workers, after an `up`), and
 *   - a refused `pulumi preview` of the same stack with three planted mistakes (a misspelled key, a worker without a
 *     name, a bad address),
 * interleaved, and prints the wall time of each and the peak RSS of the program's Node process (sampled from /proc
 * every 50 ms), the median of --runs runs, and the ratio refused / no-op. Target (DESIGN: reported, not asserted):
 * ratio ≤ 1.5, refused peak < 600 MB.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Table from "cli-table3";
import { engineEnv } from "../scripts/workspace";

const PROJECT_DIR = path.resolve(__dirname, "..");
const COPY = ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json", "tsconfig.pulumi.json", "stacks"];

const runsArg = process.argv.indexOf("--runs");
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 3;

/** A process's resident memory now (MB). */
function rssOf(pid: number): number {
    try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) / 1024 : 0;
    } catch {
        return 0;
    }
}

/** The processes under `root` (the CLI): the language host, the program's Node process, the providers. */
function descendants(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        try {
            const ppid = Number(fs.readFileSync(`/proc/${e}/stat`, "utf8").split(") ")[1].split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
        } catch {
            /* gone */
        }
    }
    const out: number[] = [];
    const walk = (pid: number) => (children.get(pid) ?? []).forEach((c) => (out.push(c), walk(c)));
    walk(root);
    return out;
}

/** The program's Node process among them (it runs @pulumi/pulumi's cmd/run). */
function programPids(root: number): number[] {
    return descendants(root).filter((pid) => {
        try {
            return /@pulumi\/pulumi\/cmd\/run/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "latin1"));
        } catch {
            return false;
        }
    });
}

export interface Sample {
    ms: number;
    peakMb: number;
    code: number | null;
}

/** One CLI run (stdio ignored): wall time, the program's peak RSS, exit code. */
export function pulumi(bin: string, args: string[], cwd: string, env: Record<string, string>): Promise<Sample> {
    const started = Date.now();
    const child = spawn(bin, args, { cwd, env: { ...process.env, ...env }, stdio: "ignore" });
    let peakMb = 0;
    const timer = setInterval(() => {
        for (const pid of programPids(child.pid!)) peakMb = Math.max(peakMb, rssOf(pid));
    }, 50);
    return new Promise((resolve) =>
        child.on("close", (code) => {
            clearInterval(timer);
            resolve({ ms: Date.now() - started, peakMb, code });
        }),
    );
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchFirstHour(): Promise<void> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-bench-fh-"));
    try {
        for (const rel of COPY) fs.cpSync(path.join(PROJECT_DIR, rel), path.join(tmp, rel), { recursive: true });
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(tmp, "node_modules"));
        const dev = fs.readFileSync(path.join(tmp, "stacks/Pulumi.dev.yaml"), "utf8").replace(/^encryptionsalt:.*\n?/m, "");
        fs.writeFileSync(path.join(tmp, "stacks/Pulumi.dev.yaml"), dev.replace("./out/nodes", path.join(tmp, "out")));
        fs.writeFileSync(
            path.join(tmp, "stacks/Pulumi.typo.yaml"),
            dev
                .replace("kube-pki:controlPlanes:", "kube-pki:controlPlane:")
                .replace("- name: worker-1\n", "- nme: worker-1\n")
                .replace("10.0.1.22", "10.0.1.256"),
        );
        fs.mkdirSync(path.join(tmp, "state"));
        process.env.KUBE_PKI_DEMO_PASSPHRASE_OK = "1"; // a throwaway backend: the demo passphrase on purpose (scripts/passphrase.ts)
        const { pulumiBin, env } = engineEnv(`file://${path.join(tmp, "state")}`);
        for (const stack of ["dev", "typo"]) {
            await pulumi(pulumiBin, ["stack", "init", stack, "--non-interactive"], tmp, env);
        }
        const up = await pulumi(pulumiBin, ["up", "--yes", "--skip-preview", "--stack", "dev", "--non-interactive"], tmp, env);
        if (up.code !== 0) throw new Error("bench first-hour: pulumi up of the dev stack failed");
        const noop: Sample[] = [];
        const refused: Sample[] = [];
        for (let i = 0; i < runs; i++) {
            noop.push(await pulumi(pulumiBin, ["preview", "--stack", "dev", "--non-interactive"], tmp, env));
            refused.push(await pulumi(pulumiBin, ["preview", "--stack", "typo", "--non-interactive"], tmp, env));
        }
        if (noop.some((s) => s.code !== 0) || refused.some((s) => s.code === 0)) throw new Error("bench first-hour: unexpected exit codes");
        const row = (label: string, xs: Sample[]) => [label, (median(xs.map((s) => s.ms)) / 1000).toFixed(1), median(xs.map((s) => s.peakMb)).toFixed(0)];
        const table = new Table({ head: ["pulumi preview (dev: 3 cp + 3 workers)", "wall s (median)", "program peak RSS MB"], style: { head: [], border: [] } });
        table.push(row("no-op preview of the good stack", noop), row("refused preview (3 planted mistakes)", refused));
        console.log(`\nFirst hour: what a mistake costs (${runs} runs each, interleaved; real engine, file backend)`);
        console.log(table.toString());
        const ratio = median(refused.map((s) => s.ms)) / median(noop.map((s) => s.ms));
        console.log(`refused / no-op wall time: ${ratio.toFixed(2)} (target ≤ 1.5); refused peak RSS ${median(refused.map((s) => s.peakMb)).toFixed(0)} MB (target < 600)`);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

if (require.main === module) {
    benchFirstHour().catch((e) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
