/**
 * One place that knows how this project runs the real Pulumi CLI: `npm run up|preview|destroy`, `npm run pulumi`,
 * `npm run check-expiration` and the live suite all go through here.
 *
 *  - the backend PULUMI_BACKEND_URL names, default a local file backend inside the checkout (.pulumi-state/,
 *    gitignored): scripts/backend.ts;
 *  - the stack's secrets provider, or PULUMI_CONFIG_PASSPHRASE, or (dev stack and tests only, said on every run) the
 *    demo passphrase: scripts/passphrase.ts;
 *  - the Pulumi CLI from PATH, or from the kube-pki tool cache (scripts/tools.sh), built once when missing;
 *  - the provider plugins installed into the engine's plugin dir ($PULUMI_HOME/plugins), not put on PATH;
 *  - a private 0700 TMPDIR removed at exit (the kubernetes provider leaves kubeconfig copies in TMPDIR);
 *  - crash recovery before each run, only where it can prove a run is dead: scripts/recovery.ts.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import * as YAML from "yaml";
import { backendLabel, backendUrlOf, fileBackendRoot, PROJECT_DIR, recordRun, STATE_DIR, stackExists, stackFile } from "./backend";
import { explainEngineError, UserError } from "./errors";
import { secretsFor, stackSecretsProvider } from "./passphrase";
import { clearPendingCreates, clearStaleLocks, clearTornAttrs, reapOrphans, runMarkers, sharedBackendAdvice, stopOwnProcesses } from "./recovery";

export { PROJECT_DIR, PROJECT_NAME, STATE_DIR, stackFile } from "./backend";
export { explainEngineError, passphraseSource, UserError } from "./errors";
export { DEMO_PASSPHRASE } from "./passphrase";
export { clearPendingCreates, clearStaleLocks, clearTornAttrs, markedProcesses, reapOrphans } from "./recovery";
export type { MarkedProcess } from "./recovery";

const TOOLS_SH = path.join(PROJECT_DIR, "scripts/tools.sh");

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

export interface EngineEnv {
    pulumiBin: string;
    env: Record<string, string>;
    backendUrl: string;
    /** `--secrets-provider` for a new stack, when given */
    secretsProvider?: string;
}

/**
 * The variables of a run of `stackName` (undefined: a CLI command without --stack): backend, secrets, offline
 * engine. Throws a UserError, before anything runs, when the stack may not use the demo passphrase.
 */
function runEnv(backendUrl: string | undefined, stackName: string | undefined, secretsProvider: string | undefined) {
    const secrets = secretsFor(stackName, secretsProvider);
    const url = backendUrlOf(backendUrl);
    if (url === `file://${STATE_DIR}`) fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {
        PULUMI_BACKEND_URL: url,
        ...secrets.env,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PATH: process.env.PATH ?? "",
    };
    if (process.env.PULUMI_HOME) env.PULUMI_HOME = process.env.PULUMI_HOME;
    return { env, url, secrets };
}

/** The environment the Pulumi CLI runs with for this project (see the file comment). */
export function engineEnv(backendUrl?: string, stackName?: string, secretsProvider?: string): EngineEnv {
    const { env, url, secrets } = runEnv(backendUrl, stackName, secretsProvider);
    const pulumiBin = findOrBuildPulumi();
    env.PATH = process.env.PATH ?? "";
    env.TMPDIR = privateTmpDir();
    Object.assign(env, runMarkers());
    installPlugins(env);
    if (secrets.notice) console.error(secrets.notice);
    return { pulumiBin, env, backendUrl: url, secretsProvider: secrets.secretsProvider };
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

/** Recovery and checks before any engine run; prints one line per thing it fixed. Records this run. */
export function prepareRun(backendUrl: string, stackName: string): void {
    checkYaml(stackName);
    for (const name of reapOrphans()) console.error(`kube-pki: stopped ${name}, left running by an earlier run that was killed`);
    for (const lock of clearStaleLocks(backendUrl, stackName).removed) {
        console.error(`kube-pki: removed the lock of stack "${stackName}" held by a process that no longer runs (${lock})`);
    }
    for (const file of clearTornAttrs(backendUrl, stackName)) {
        console.error(`kube-pki: removed ${path.basename(file)}, cut short by a run that was killed while writing it (the file backend's metadata of the checkpoint, not the state)`);
    }
    if (dropStaleSalt(backendUrl, stackName)) {
        console.error(`kube-pki: stack "${stackName}" is new here: its secrets will be encrypted with the passphrase in use`);
    }
    recordRun(backendUrl, stackName);
}

/** `pulumi stack export` as stored: secrets stay ciphertext (the Automation API's exportStack decrypts them). */
export function exportEncrypted(stack: Stack): unknown {
    const ws = stack.workspace as LocalWorkspace;
    const out = execFileSync("pulumi", ["stack", "export", "--stack", stack.name], {
        cwd: ws.workDir,
        env: { ...process.env, ...ws.envVars },
        encoding: "utf8",
        maxBuffer: 1 << 30,
        stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out);
}

// --- stacks -------------------------------------------------------------------------------------------------

export interface WorkspaceOptions {
    stackName: string;
    /** URL of the state backend; default: PULUMI_BACKEND_URL, else .pulumi-state/ in the checkout (gitignored). */
    backendUrl?: string;
    /** `--secrets-provider` for a new stack (passphrase, hashivault://, awskms://, gcpkms://, azurekeyvault://). */
    secretsProvider?: string;
    workDir?: string;
    config?: Record<string, string>;
}

async function workspaceFor(env: Record<string, string>, workDir: string | undefined, secretsProvider?: string): Promise<LocalWorkspace> {
    const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
    return LocalWorkspace.create({ workDir: workDir ?? PROJECT_DIR, envVars: env, pulumiCommand, ...(secretsProvider ? { secretsProvider } : {}) });
}

export async function openStack(opts: WorkspaceOptions): Promise<Stack> {
    const { env, backendUrl, secretsProvider } = engineEnv(opts.backendUrl, opts.stackName, opts.secretsProvider);
    prepareRun(backendUrl, opts.stackName);
    const ws = await workspaceFor(env, opts.workDir, secretsProvider);
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
    const kms = secretsProvider && !/^(passphrase|default)$/.test(secretsProvider) ? secretsProvider : undefined;
    if (kms && stackSecretsProvider(opts.stackName) !== kms) {
        throw new UserError(
            `kube-pki: stack "${opts.stackName}" already exists with ${stackSecretsProvider(opts.stackName) ?? "a passphrase"}; --secrets-provider applies to new stacks. ` +
                `To change it: npm run pulumi -- stack change-secrets-provider ${kms} --stack ${opts.stackName}`,
        );
    }
    if (fileBackendRoot(backendUrl)) {
        clearPendingCreates(stack, backendUrl);
    } else {
        const advice = sharedBackendAdvice(exportEncrypted(stack), opts.stackName, backendUrl);
        if (advice) console.error(advice);
    }
    for (const [key, value] of Object.entries(opts.config ?? {})) {
        await stack.setConfig(key, { value });
    }
    return stack;
}

/**
 * An existing stack, selected only (never created: a mistyped --stack is an error naming the backend's stacks),
 * with the same backend and secrets as openStack but no recovery: for reading outputs.
 */
export async function selectStack(stackName: string, backendUrl?: string): Promise<Stack> {
    const { env, url } = runEnv(backendUrl, stackName, undefined);
    findOrBuildPulumi();
    env.PATH = process.env.PATH ?? "";
    const ws = await workspaceFor(env, undefined);
    const known = (await ws.listStacks()).map((s) => s.name);
    if (!known.includes(stackName)) {
        throw new UserError(
            `no stack "${stackName}" in ${backendLabel(url)} (stacks: ${known.join(", ") || "none"}; create it with \`npm run up -- --stack ${stackName}\`)`,
        );
    }
    return Stack.select(stackName, ws);
}
