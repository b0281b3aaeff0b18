/**
 * The real Pulumi engine through the Automation API, isolated from the checkout:
 *  - the program is snapshotted into a temp project dir (Pulumi.yaml, index.ts, components/, package.json,
 *    tsconfig.json; node_modules symlinked), so test stack files land in the temp `stacks/` and a colleague's
 *    edits during the run cannot mix two versions of the program;
 *  - a file backend in a fresh temp dir, a passphrase, a temp PULUMI_HOME with the tls provider installed
 *    from the tool cache (offline), and the PATH of `scripts/tools.sh env`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineEvent, LocalWorkspace, OutputMap, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { descendants, logFile, runOk, sleep } from "./procs";

export const REPO_DIR = path.resolve(__dirname, "..");
export const PASSPHRASE = "kube-pki-e2e-passphrase";

/** What the program needs to run, copied from the checkout (plus the emulator bits the fidelity step uses). */
const SNAPSHOT = ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json", "tsconfig.pulumi.json", "test/support", "e2e"];

/** Copies the program into `dir` (node_modules is a symlink to the checkout's). Returns the project dir. */
export function snapshotProject(dir: string): string {
    fs.mkdirSync(dir, { recursive: true });
    for (const rel of SNAPSHOT) {
        const src = path.join(REPO_DIR, rel);
        if (!fs.existsSync(src)) continue;
        fs.cpSync(src, path.join(dir, rel), { recursive: true, filter: (p) => !p.endsWith(".log") });
    }
    fs.symlinkSync(path.join(REPO_DIR, "node_modules"), path.join(dir, "node_modules"));
    fs.mkdirSync(path.join(dir, "stacks"));
    return dir;
}

/**
 * The environment of `scripts/tools.sh env <tools>` (PATH of the cached tools plus the offline Pulumi variables),
 * evaluated by bash so that its `unset` lines apply too.
 */
export async function toolsEnv(tools: string[]): Promise<NodeJS.ProcessEnv> {
    const script = `eval "$(bash scripts/tools.sh env ${tools.join(" ")})" && env -0`;
    const r = await runOk("bash", ["-c", script], { cwd: REPO_DIR, log: "tools-env", timeoutMs: 60_000 });
    const env: NodeJS.ProcessEnv = {};
    for (const entry of r.stdout.split("\0")) {
        const i = entry.indexOf("=");
        if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
    }
    return env;
}

/** Installs the cached tls provider into PULUMI_HOME's plugin cache (offline; `tools.sh install-plugins`). */
export async function installPlugins(env: NodeJS.ProcessEnv): Promise<void> {
    await runOk("bash", ["scripts/tools.sh", "install-plugins"], { cwd: REPO_DIR, env, log: "install-plugins", timeoutMs: 120_000 });
}

export interface Engine {
    workDir: string;
    backendUrl: string;
    pulumiHome: string;
    env: NodeJS.ProcessEnv;
}

export async function workspace(engine: Engine): Promise<LocalWorkspace> {
    const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
    return LocalWorkspace.create({
        workDir: engine.workDir,
        pulumiHome: engine.pulumiHome,
        pulumiCommand,
        envVars: {
            PULUMI_BACKEND_URL: engine.backendUrl,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_HOME: engine.pulumiHome,
            PATH: engine.env.PATH ?? "",
            // the run's private temp dir (see run.ts): the kubernetes provider leaves kubeconfig copies in TMPDIR
            ...(engine.env.TMPDIR ? { TMPDIR: engine.env.TMPDIR } : {}),
        },
    });
}

/** Config values by key (without the `kube-pki:` prefix); objects and arrays are stored as JSON. */
export type StackConfig = Record<string, string | number | boolean | object>;

/**
 * Creates a stack in the workspace (its Pulumi.<name>.yaml lands in the snapshot's stacks/) and sets its config.
 * String lists are set element by element with `path: true`, so that they are YAML lists as Pulumi.yaml's typed
 * `array<string>` keys require; object lists (controlPlanes, workers, users, rootCa, clusters) are undeclared
 * keys that the program reads as JSON, so they are set as JSON strings.
 */
export async function createStack(ws: LocalWorkspace, name: string, config: StackConfig): Promise<Stack> {
    const stack = await Stack.create(name, ws);
    const plain: Record<string, { value: string }> = {};
    const paths: Record<string, { value: string }> = {};
    for (const [k, v] of Object.entries(config)) {
        if (Array.isArray(v) && v.every((x) => typeof x === "string")) {
            v.forEach((x, i) => (paths[`kube-pki:${k}[${i}]`] = { value: x }));
        } else {
            plain[`kube-pki:${k}`] = { value: typeof v === "object" ? JSON.stringify(v) : String(v) };
        }
    }
    await stack.setAllConfig(plain);
    if (Object.keys(paths).length) await stack.setAllConfig(paths, true);
    return stack;
}

/**
 * `pulumi stack export` as stored (secrets as ciphertext). The Automation API's exportStack() always passes
 * --show-secrets, i.e. returns the state decrypted, so the CLI is called directly.
 */
export async function exportEncrypted(ws: LocalWorkspace, stack: string): Promise<unknown> {
    const r = await runOk("pulumi", ["stack", "export", "--stack", stack], {
        cwd: ws.workDir,
        env: { ...process.env, ...ws.envVars },
        log: "pulumi-stack-export",
        timeoutMs: 120_000,
    });
    return JSON.parse(r.stdout);
}

/**
 * Runs a Pulumi operation, its output to a log file. On abort (the step's time limit) the Automation API sends
 * SIGINT to the CLI; whatever the CLI started (language host, node, providers; they share our process group
 * because the Automation API does not detach them) and is still alive 10 s later is killed by pid.
 */
export async function pulumiOp<T>(
    label: string,
    signal: AbortSignal,
    op: (o: { onOutput: (s: string) => void; signal: AbortSignal; color: "never" }) => Promise<T>,
): Promise<T> {
    const log = logFile(`pulumi-${label}`);
    const onOutput = (s: string) => fs.appendFileSync(log, s);
    const ownPgid = pgidOf(process.pid);
    const onAbort = () => {
        const suspects = descendants(process.pid).filter((p) => pgidOf(p) === ownPgid);
        void sleep(10_000).then(() => {
            for (const p of suspects) {
                try {
                    process.kill(p, "SIGKILL");
                } catch {
                    // gone
                }
            }
        });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
        const result = await op({ onOutput, signal, color: "never" });
        fs.appendFileSync(log, "[exit 0]\n");
        return result;
    } catch (e) {
        const msg = (e as Error).message ?? String(e);
        fs.appendFileSync(log, `[failed${signal.aborted ? ": aborted at the step's time limit" : ""}]\n${msg}\n`);
        throw new Error(`pulumi ${label} failed (log: ${log}):\n${msg.split("\n").slice(-25).join("\n")}`);
    } finally {
        signal.removeEventListener("abort", onAbort);
    }
}

function pgidOf(pid: number): number {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    } catch {
        return -1;
    }
}

/** One resource step of an operation (from its engine events). */
export interface Op {
    op: string;
    type: string;
    urn: string;
}

/** An `onEvent` handler that records every resource step of an operation into `ops`. */
export function recordOps(ops: Op[]): (e: EngineEvent) => void {
    return (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m) ops.push({ op: m.op, type: m.type, urn: m.urn });
    };
}

/** The program's read of its own previous outputs (a StackReference to itself): in every operation, never a change. */
export const isSelfRead = (o: { op: string; type: string }) => o.op === "read" && o.type === "pulumi:pulumi:StackReference";

/** Plain values of the stack outputs (secrets decrypted by the Automation API). */
export function plainOutputs(outputs: OutputMap): Record<string, any> {
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
}

export type NodeFiles = Record<string, Record<string, { content: string; mode: string; secret: boolean }>>;

/**
 * The fully qualified name (`<org>/<project>/<stack>`) under which the backend lists a stack
 * (`pulumi stack ls --all --fully-qualify-stack-names`): what a StackReference to it must say.
 */
export async function fullyQualifiedName(ws: LocalWorkspace, stack: string): Promise<string> {
    const r = await runOk("pulumi", ["stack", "ls", "--all", "--json", "--fully-qualify-stack-names"], {
        cwd: ws.workDir,
        env: { ...process.env, ...ws.envVars },
        log: "pulumi-stack-ls",
        timeoutMs: 60_000,
    });
    const names = (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name);
    const found = names.find((n) => n.endsWith(`/${stack}`));
    if (!found) throw new Error(`stack ${stack} is not listed by \`pulumi stack ls --all -Q\` (${names.join(", ")})`);
    return found;
}
