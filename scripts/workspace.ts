/**
 * Shared Automation API setup for `npm run up|preview|destroy` and the live suite:
 * a local file backend inside the checkout, a demo passphrase, and the Pulumi CLI from PATH
 * (or from the kube-pki tool cache built by scripts/tools.sh).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const DEMO_PASSPHRASE = "kube-pki-demo-passphrase";

/** Puts the tool cache (scripts/tools.sh path) on PATH when the tools were built; returns the pulumi binary or undefined. */
export function findPulumi(): string | undefined {
    try {
        const extra = execFileSync("bash", [path.join(PROJECT_DIR, "scripts/tools.sh"), "path", "pulumi", "pulumi-resource-tls"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
        if (extra) process.env.PATH = `${extra}:${process.env.PATH}`;
    } catch {
        // no tool cache: rely on PATH
    }
    for (const dir of (process.env.PATH ?? "").split(":")) {
        const candidate = path.join(dir, "pulumi");
        if (dir && fs.existsSync(candidate)) return candidate;
    }
    return undefined;
}

export interface WorkspaceOptions {
    stackName: string;
    /** file:// URL of the state backend; default: .pulumi-state/ in the checkout (gitignored). */
    backendUrl?: string;
    workDir?: string;
    config?: Record<string, string>;
}

export async function openStack(opts: WorkspaceOptions): Promise<Stack> {
    const pulumiBin = findPulumi();
    if (!pulumiBin) {
        throw new Error(
            "kube-pki: no `pulumi` CLI on PATH. Build it from Go modules with `scripts/tools.sh build pulumi` " +
                "(cached in ~/.cache/kube-pki/tools, found automatically), or install the Pulumi CLI 3.248+.",
        );
    }
    const workDir = opts.workDir ?? PROJECT_DIR;
    const stateDir = path.join(PROJECT_DIR, ".pulumi-state");
    if (!opts.backendUrl) fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const envVars: Record<string, string> = {
        PULUMI_BACKEND_URL: opts.backendUrl ?? `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? DEMO_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PATH: process.env.PATH ?? "",
    };
    const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
    const ws = await LocalWorkspace.create({ workDir, envVars, pulumiCommand });
    const stack = await Stack.createOrSelect(opts.stackName, ws);
    for (const [key, value] of Object.entries(opts.config ?? {})) {
        await stack.setConfig(key, { value });
    }
    return stack;
}
