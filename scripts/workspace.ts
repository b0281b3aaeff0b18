/**
 * One place that knows how this project runs the real Pulumi CLI: `npm run up|preview|destroy`, `npm run pulumi`,
 * `npm run check-expiration` and the live suite all go through here.
 *
 *  - a local file backend inside the checkout (.pulumi-state/, gitignored) and the passphrase from
 *    PULUMI_CONFIG_PASSPHRASE (default: a demo passphrase);
 *  - the Pulumi CLI from PATH, or from the kube-pki tool cache (scripts/tools.sh), built once when missing;
 *  - the provider plugins installed into the engine's plugin dir ($PULUMI_HOME/plugins), not put on PATH;
 *  - a private 0700 TMPDIR removed at exit (the kubernetes provider leaves kubeconfig copies in TMPDIR);
 *  - crash recovery before each run: a lock left by a dead process on this host is removed, plugin processes
 *    orphaned by a killed run are stopped, and a stale encryption salt of a stack that no longer exists is dropped.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import * as YAML from "yaml";
import { pidAlive } from "../components/sinks/node-files/public";
import { urnName } from "./plan";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const PROJECT_NAME = "kube-pki";
export const DEMO_PASSPHRASE = "kube-pki-demo-passphrase";
export const STATE_DIR = path.join(PROJECT_DIR, ".pulumi-state");

const TOOLS_SH = path.join(PROJECT_DIR, "scripts/tools.sh");
/** Marks every process a run starts (the CLI, the language host, providers): `<pid of this process>`. */
const RUN_MARKER = "KUBE_PKI_RUN_OWNER";

/** A message for the person at the terminal: printed as is, without a stack. */
export class UserError extends Error {
    constructor(
        message: string,
        /** The engine's full text, shown with --verbose. */
        readonly detail?: string,
    ) {
        super(message);
        this.name = "UserError";
    }
}

/** The bin dirs of cached tools (scripts/tools.sh path), or "" when one of them is not built. */
function toolPath(tools: string[]): string {
    try {
        return execFileSync("bash", [TOOLS_SH, "path", ...tools], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return "";
    }
}

function onPath(bin: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(":")) {
        const candidate = path.join(dir, bin);
        if (dir && fs.existsSync(candidate)) return candidate;
    }
    return undefined;
}

/** Puts the cached Pulumi CLI (with its language host) on PATH when it was built. Returns the pulumi binary. */
export function findPulumi(): string | undefined {
    const cli = toolPath(["pulumi"]);
    if (cli) process.env.PATH = `${cli}:${process.env.PATH}`;
    return onPath("pulumi");
}

/**
 * findPulumi, and when there is no CLI at all, builds it once from Go modules (scripts/tools.sh build pulumi
 * pulumi-resource-tls: ~5 min on 2 cores, then cached in ~/.cache/kube-pki/tools), so that `npm ci && npm run up`
 * is enough on a fresh machine. KUBE_PKI_NO_TOOL_BUILD=1 turns the build off.
 */
export function findOrBuildPulumi(): string {
    let found = findPulumi();
    if (!found && !process.env.KUBE_PKI_NO_TOOL_BUILD && onPath("go")) {
        console.error("kube-pki: no `pulumi` CLI on PATH: building it from Go modules once (~5 min cold on 2 cores, cached in ~/.cache/kube-pki/tools)");
        execFileSync("bash", [TOOLS_SH, "build", "pulumi", "pulumi-resource-tls"], { stdio: ["ignore", "inherit", "inherit"] });
        found = findPulumi();
    }
    if (!found) {
        throw new UserError(
            "kube-pki: no `pulumi` CLI on PATH and no Go to build one. Install Go, then run `bash scripts/tools.sh build pulumi pulumi-resource-tls` " +
                "(cached in ~/.cache/kube-pki/tools and found automatically), or install the Pulumi CLI 3.248+.",
        );
    }
    return found;
}

/**
 * Installs the built provider plugins (tls; kubernetes when built) into $PULUMI_HOME/plugins, where the engine
 * looks for them, so no provider is taken from PATH (the engine warns on every run when it does). Offline and
 * idempotent (`tools.sh install-plugins` compares the binaries first).
 */
function installPlugins(env: Record<string, string>): void {
    if (!toolPath(["pulumi-resource-tls"])) {
        if (process.env.KUBE_PKI_NO_TOOL_BUILD || !onPath("go")) return;
        execFileSync("bash", [TOOLS_SH, "build", "pulumi-resource-tls"], { stdio: ["ignore", "inherit", "inherit"] });
    }
    execFileSync("bash", [TOOLS_SH, "install-plugins", "--built", "--quiet"], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
}

let tmpDir: string | undefined;
/**
 * A 0700 temp dir for the engine and its plugins, removed when this process exits. The kubernetes provider writes
 * every kubeconfig it is configured with (client key included) to a temp file for Helm and never deletes it
 * (pulumi-kubernetes provider/util.go writeKubeconfigToFile), so the Secrets sink would leave a copy of
 * admin.conf in /tmp after every run; with TMPDIR pointing here the copies go when the run ends.
 */
function privateTmpDir(): string {
    if (tmpDir) return tmpDir;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-run-"));
    fs.chmodSync(dir, 0o700);
    process.on("exit", () => {
        stopOwnProcesses();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    // Ctrl-C also reaches the engine (same process group), which then finishes its in-flight steps and saves the
    // state: wait for it. A second Ctrl-C (or SIGTERM) stops everything now.
    let interrupted = false;
    process.on("SIGINT", () => {
        if (interrupted) process.exit(130);
        interrupted = true;
        console.error("\nkube-pki: cancelling: the engine finishes the steps in flight and saves the state (Ctrl-C again to stop now)");
    });
    for (const signal of ["SIGTERM", "SIGHUP"] as const) process.once(signal, () => process.exit(143));
    tmpDir = dir;
    return dir;
}

/** Where the passphrase comes from, for messages. */
export function passphraseSource(): string {
    return process.env.PULUMI_CONFIG_PASSPHRASE !== undefined
        ? "PULUMI_CONFIG_PASSPHRASE"
        : `the demo passphrase (PULUMI_CONFIG_PASSPHRASE is unset, so "${DEMO_PASSPHRASE}" is used)`;
}

export interface EngineEnv {
    pulumiBin: string;
    env: Record<string, string>;
    backendUrl: string;
}

/** The environment the Pulumi CLI runs with for this project (see the file comment). */
export function engineEnv(backendUrl?: string): EngineEnv {
    const pulumiBin = findOrBuildPulumi();
    if (!backendUrl) fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {
        PULUMI_BACKEND_URL: backendUrl ?? process.env.PULUMI_BACKEND_URL ?? `file://${STATE_DIR}`,
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? DEMO_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PATH: process.env.PATH ?? "",
        TMPDIR: privateTmpDir(),
        [RUN_MARKER]: String(process.pid),
    };
    if (process.env.PULUMI_HOME) env.PULUMI_HOME = process.env.PULUMI_HOME;
    installPlugins(env);
    return { pulumiBin, env, backendUrl: env.PULUMI_BACKEND_URL };
}

// --- crash recovery -------------------------------------------------------------------------------------------


/** A process a run started: its pid, the pid of the run that owns it (RUN_MARKER), executable name, command line. */
export interface MarkedProcess {
    pid: number;
    owner: number;
    exe: string;
    args: string;
}

/** Processes (other than this one) whose environment carries RUN_MARKER. */
export function markedProcesses(): MarkedProcess[] {
    if (process.platform !== "linux") return [];
    const out: MarkedProcess[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        const pid = Number(entry);
        if (!Number.isInteger(pid) || pid === process.pid) continue;
        try {
            const hit = fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").find((v) => v.startsWith(`${RUN_MARKER}=`));
            if (!hit) continue;
            const args = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
            out.push({ pid, owner: Number(hit.slice(RUN_MARKER.length + 1)), exe: path.basename(fs.readlinkSync(`/proc/${pid}/exe`)), args });
        } catch {
            /* gone, or not ours to read */
        }
    }
    return out;
}

function killAll(pids: number[]): void {
    for (const pid of pids) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            /* already gone */
        }
    }
}

/** At exit: nothing this run started (the CLI, its language host, providers, the node-file provider) outlives it. */
function stopOwnProcesses(): void {
    killAll(markedProcesses().filter((p) => p.owner === process.pid).map((p) => p.pid));
}

/** Before a run: stops plugin processes left by an earlier run that was killed (its owner pid is gone). */
export function reapOrphans(): string[] {
    const orphans = markedProcesses().filter((p) => !pidAlive(p.owner));
    const names = orphans.map((p) => `${p.exe} (pid ${p.pid})`);
    killAll(orphans.map((p) => p.pid));
    return names;
}

/** The file backend's directory for this project, or undefined for another backend. */
function backendDir(backendUrl: string): string | undefined {
    return backendUrl.startsWith("file://") ? path.join(backendUrl.slice("file://".length), ".pulumi") : undefined;
}

/** Removes the stack's locks whose process is gone on this host; returns what it removed. */
export function clearStaleLocks(backendUrl: string, stackName: string): string[] {
    const dir = backendDir(backendUrl);
    if (!dir) return [];
    const lockDir = path.join(dir, "locks", "organization", PROJECT_NAME, stackName);
    if (!fs.existsSync(lockDir)) return [];
    const removed: string[] = [];
    for (const file of fs.readdirSync(lockDir).filter((f) => f.endsWith(".json"))) {
        const full = path.join(lockDir, file);
        try {
            const lock = JSON.parse(fs.readFileSync(full, "utf8")) as { pid?: number; hostname?: string; timestamp?: string };
            if (lock.hostname === os.hostname() && typeof lock.pid === "number" && !pidAlive(lock.pid)) {
                fs.rmSync(full);
                fs.rmSync(`${full}.attrs`, { force: true });
                removed.push(`pid ${lock.pid}, taken ${lock.timestamp ?? "?"}`);
            }
        } catch {
            /* unreadable: leave it to the engine's own message */
        }
    }
    return removed;
}

/** Whether the stack exists in a file backend (undefined: another backend, unknown). */
function stackExists(backendUrl: string, stackName: string): boolean | undefined {
    const dir = backendDir(backendUrl);
    if (!dir) return undefined;
    const base = path.join(dir, "stacks", PROJECT_NAME, stackName);
    return [".json", ".json.gz"].some((ext) => fs.existsSync(base + ext));
}

export function stackFile(stackName: string): string {
    return path.join(PROJECT_DIR, "stacks", `Pulumi.${stackName}.yaml`);
}

/** Parses Pulumi.yaml and the stack file first, so that a YAML mistake names its file, line and column. */
export function checkYaml(stackName: string): void {
    for (const file of [path.join(PROJECT_DIR, "Pulumi.yaml"), stackFile(stackName)]) {
        if (!fs.existsSync(file)) continue;
        const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { prettyErrors: true });
        if (doc.errors.length) {
            const rel = path.relative(process.cwd(), file);
            throw new UserError(
                doc.errors.map((e) => `${rel}:${e.linePos?.[0] ? `${e.linePos[0].line}:${e.linePos[0].col}: ` : " "}${e.message.split("\n")[0]}`).join("\n") +
                    "\n(fix the YAML; `npm run preview` checks it again in a second)",
            );
        }
    }
}

/**
 * A stack file holds the salt of the passphrase its stack was created with. When that stack does not exist in the
 * backend (a fresh clone, or a removed stack), the salt only makes a new passphrase fail; it is removed so that the
 * new stack is created with the passphrase in use. Kept when the file holds encrypted values (they need it).
 */
export function dropStaleSalt(backendUrl: string, stackName: string): boolean {
    const file = stackFile(stackName);
    if (!fs.existsSync(file) || stackExists(backendUrl, stackName) !== false) return false;
    const text = fs.readFileSync(file, "utf8");
    if (!/^encryptionsalt:/m.test(text) || /\bsecure:/.test(text)) return false;
    fs.writeFileSync(file, text.replace(/^encryptionsalt:.*\n?/m, ""));
    return true;
}

/** Pending operations recorded in a file backend's checkpoint (an interrupted run), without asking the engine. */
function pendingOperations(backendUrl: string, stackName: string): { type: string; resource: { urn: string; type: string } }[] {
    const dir = backendDir(backendUrl);
    const file = dir && path.join(dir, "stacks", PROJECT_NAME, `${stackName}.json`);
    if (!file || !fs.existsSync(file)) return [];
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")).checkpoint?.latest?.pending_operations ?? [];
    } catch {
        return [];
    }
}

/**
 * Creates that an interrupted run left pending, of resources whose create has no effect outside the state or is
 * repeated safely: tls keys/CSRs/certs and random values are computed in the provider; kube-pki's node files are
 * written again, atomically, by the next create (and its temp files removed by the sink).
 */
const REPEATABLE_CREATE = /^(tls:|random:|pulumi-nodejs:dynamic:Resource$)/;

/**
 * After a crash (kill -9 of the engine), the state lists the creates that were in flight. The engine keeps them
 * (and warns) until someone edits the state; here the ones that are safe to forget are dropped, saying so.
 */
export async function clearPendingCreates(stack: Stack, backendUrl: string): Promise<void> {
    if (!pendingOperations(backendUrl, stack.name).length) return;
    const state = await stack.exportStack();
    const pending = (state.deployment.pending_operations ?? []) as { type: string; resource: { urn: string; type: string } }[];
    const drop = pending.filter((op) => op.type === "creating" && REPEATABLE_CREATE.test(op.resource.type));
    const keep = pending.filter((op) => !drop.includes(op));
    if (drop.length) {
        state.deployment.pending_operations = keep;
        await stack.importStack(state);
        console.error(
            `kube-pki: an earlier run of stack "${stack.name}" was interrupted: dropped ${drop.length} pending create(s) that this run repeats ` +
                `(${drop.slice(0, 3).map((op) => urnName(op.resource.urn)).join(", ")}${drop.length > 3 ? ", ..." : ""})`,
        );
    }
    if (keep.length) {
        console.error(
            `kube-pki: ${keep.length} operation(s) of an interrupted run may have happened outside the state ` +
                `(${keep.map((op) => `${op.type} ${urnName(op.resource.urn)}`).join(", ")}); check them, then: npm run pulumi -- refresh --stack ${stack.name}`,
        );
    }
}

/** Recovery and checks before any engine run; prints one line per thing it fixed. */
export function prepareRun(backendUrl: string, stackName: string): void {
    checkYaml(stackName);
    for (const name of reapOrphans()) console.error(`kube-pki: stopped ${name}, left running by an earlier run that was killed`);
    for (const lock of clearStaleLocks(backendUrl, stackName)) {
        console.error(`kube-pki: removed the lock of stack "${stackName}" held by a process that no longer runs (${lock})`);
    }
    if (dropStaleSalt(backendUrl, stackName)) {
        console.error(`kube-pki: stack "${stackName}" is new here: its secrets will be encrypted with ${passphraseSource()}`);
    }
}

// --- engine errors ----------------------------------------------------------------------------------------------

/**
 * Turns an engine failure (an Automation API CommandError, whose message is the CLI's whole stdout and stderr) into
 * one short UserError; the full text stays in `detail` for --verbose.
 */
export function explainEngineError(err: unknown, stackName: string): UserError {
    if (err instanceof UserError) return err;
    const text = err instanceof Error ? err.message : String(err);
    const has = (re: RegExp) => re.test(text);
    if (has(/incorrect passphrase|passphrase must be set|failed to decrypt/i)) {
        return new UserError(
            `kube-pki: ${passphraseSource()} does not open stack "${stackName}": its secrets were encrypted with another passphrase. ` +
                `Set PULUMI_CONFIG_PASSPHRASE to the one used when the stack was created, or start the stack over ` +
                `(\`npm run destroy -- --stack ${stackName}\` with the old passphrase, or delete .pulumi-state/ for a demo stack).`,
            text,
        );
    }
    if (has(/the stack is currently locked/i)) {
        return new UserError(
            `kube-pki: stack "${stackName}" is locked by another run that is still going (on this host or another). ` +
                `Wait for it, or if it is gone for good: npm run pulumi -- cancel --stack ${stackName}`,
            text,
        );
    }
    // Errors the program reported (config problems, refused phase changes): the engine prints each as a
    // diagnostic "error:" line; its own closing lines ("update failed", "an error occurred") say nothing more.
    const lines = text.split("\n");
    const messages: string[] = [];
    for (let i = 0; i < lines.length; i++) {
        const m = /^\s*error: (.*)$/.exec(lines[i]);
        if (!m) continue;
        const body = [m[1]];
        while (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]) && !/^\s*(error|warning|info):/.test(lines[i + 1])) body.push(lines[++i]);
        const msg = body.join("\n").trimEnd();
        if (/^(update failed|preview failed|destroy failed|an error occurred|one or more errors occurred)$/i.test(msg.trim())) continue;
        if (/^Running program .* failed with an unhandled exception:?$/.test(msg.trim())) continue;
        if (!messages.includes(msg)) messages.push(msg);
    }
    if (messages.length) return new UserError(messages.join("\n"), text);
    const exit = /code: (-?\d+)/.exec(text)?.[1];
    const last = lines.map((l) => l.trim()).filter((l) => l && !/^(code|stdout|stderr|err\?):/.test(l)).pop() ?? "";
    return new UserError(
        `kube-pki: the engine stopped without an error message${exit ? ` (exit code ${exit})` : ""}; was it killed? ` +
            `Run the same command again: it clears what an interrupted run leaves (lock, pending creates, plugin processes).` +
            (last ? `\nIts last line: ${last}` : ""),
        text,
    );
}

// --- stacks -------------------------------------------------------------------------------------------------

export interface WorkspaceOptions {
    stackName: string;
    /** file:// URL of the state backend; default: .pulumi-state/ in the checkout (gitignored). */
    backendUrl?: string;
    workDir?: string;
    config?: Record<string, string>;
}

export async function openStack(opts: WorkspaceOptions): Promise<Stack> {
    const { env, backendUrl } = engineEnv(opts.backendUrl);
    prepareRun(backendUrl, opts.stackName);
    const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
    const ws = await LocalWorkspace.create({ workDir: opts.workDir ?? PROJECT_DIR, envVars: env, pulumiCommand });
    let stack: Stack;
    try {
        stack = await Stack.createOrSelect(opts.stackName, ws);
    } catch (e) {
        // Two runs creating the same new stack at once: the second finds it created; select it and meet the lock.
        if (!/already exists/i.test(e instanceof Error ? e.message : String(e))) throw explainEngineError(e, opts.stackName);
        stack = await Stack.select(opts.stackName, ws).catch((e2) => {
            throw explainEngineError(e2, opts.stackName);
        });
    }
    await clearPendingCreates(stack, backendUrl);
    for (const [key, value] of Object.entries(opts.config ?? {})) {
        await stack.setConfig(key, { value });
    }
    return stack;
}
