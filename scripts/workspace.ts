/**
 * Shared Automation API setup for `npm run up|preview|destroy` and the live suite:
 * a local file backend inside the checkout, a demo passphrase, and the Pulumi CLI from PATH
 * (or from the kube-pki tool cache built by scripts/tools.sh).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const DEMO_PASSPHRASE = "kube-pki-demo-passphrase";

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

/**
 * Puts the tool cache on PATH: the Pulumi CLI with the tls provider, and the kubernetes provider when it was built
 * (only the Secrets sink needs it). Returns the pulumi binary, or undefined when there is none.
 */
export function findPulumi(): string | undefined {
    const extra = [toolPath(["pulumi", "pulumi-resource-tls"]), toolPath(["pulumi-resource-kubernetes"])].filter(Boolean);
    if (extra.length) process.env.PATH = `${extra.join(":")}:${process.env.PATH}`;
    return onPath("pulumi");
}

/**
 * findPulumi, and when there is no CLI at all, builds it once from Go modules (scripts/tools.sh build pulumi
 * pulumi-resource-tls: ~5 min on 2 cores, then cached in ~/.cache/kube-pki/tools), so that `npm ci && npm run up`
 * is enough on a fresh machine. KUBE_PKI_NO_TOOL_BUILD=1 turns the build off.
 */
export function findOrBuildPulumi(): string | undefined {
    const found = findPulumi();
    if (found || process.env.KUBE_PKI_NO_TOOL_BUILD || !onPath("go")) return found;
    console.error("kube-pki: no `pulumi` CLI on PATH: building it from Go modules once (~5 min cold on 2 cores, cached in ~/.cache/kube-pki/tools)");
    execFileSync("bash", [TOOLS_SH, "build", "pulumi", "pulumi-resource-tls"], { stdio: "inherit" });
    return findPulumi();
}

/**
 * A 0700 temp dir for the engine and its plugins, removed when this process exits. The kubernetes provider writes
 * every kubeconfig it is configured with (client key included) to a temp file for Helm and never deletes it
 * (pulumi-kubernetes provider/util.go writeKubeconfigToFile), so the Secrets sink would leave a copy of
 * admin.conf in /tmp after every run; with TMPDIR pointing here the copies go when the run ends.
 */
function privateTmpDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-run-"));
    fs.chmodSync(dir, 0o700);
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

export interface WorkspaceOptions {
    stackName: string;
    /** file:// URL of the state backend; default: .pulumi-state/ in the checkout (gitignored). */
    backendUrl?: string;
    workDir?: string;
    config?: Record<string, string>;
}

export async function openStack(opts: WorkspaceOptions): Promise<Stack> {
    const pulumiBin = findOrBuildPulumi();
    if (!pulumiBin) {
        throw new Error(
            "kube-pki: no `pulumi` CLI on PATH and no Go to build one. Install Go, then `bash scripts/tools.sh build pulumi pulumi-resource-tls` " +
                "(cached in ~/.cache/kube-pki/tools, found automatically), or install the Pulumi CLI 3.248+.",
        );
    }
    const workDir = opts.workDir ?? PROJECT_DIR;
    const tmpDir = privateTmpDir();
    const stateDir = path.join(PROJECT_DIR, ".pulumi-state");
    if (!opts.backendUrl) fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const envVars: Record<string, string> = {
        PULUMI_BACKEND_URL: opts.backendUrl ?? `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? DEMO_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PATH: process.env.PATH ?? "",
        TMPDIR: tmpDir,
    };
    const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
    const ws = await LocalWorkspace.create({ workDir, envVars, pulumiCommand });
    const stack = await Stack.createOrSelect(opts.stackName, ws);
    for (const [key, value] of Object.entries(opts.config ?? {})) {
        await stack.setConfig(key, { value });
    }
    return stack;
}
