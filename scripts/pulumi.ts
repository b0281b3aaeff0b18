/**
 * `npm run pulumi -- <args>`: the real Pulumi CLI with this project's backend (.pulumi-state/), passphrase,
 * plugins and private TMPDIR, e.g.
 *   npm run pulumi -- config set kube-pki:leafValidity 2160h --stack dev
 *   npm run pulumi -- stack output kubeconfigs --show-secrets --json --stack dev
 *   npm run pulumi -- stack export --stack dev
 *   npm run pulumi -- refresh --stack dev
 *   npm run pulumi -- cancel --stack dev
 * Before the command it does the same recovery as `npm run up` (stale lock of a dead process, orphaned plugins).
 */
import { spawnSync } from "node:child_process";
import { engineEnv, explainEngineError, PROJECT_DIR, prepareRun } from "./workspace";

function stackArg(args: string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "--stack" || a === "-s") return args[i + 1];
        if (a.startsWith("--stack=")) return a.slice("--stack=".length);
    }
    return process.env.KUBE_PKI_STACK;
}

function main(): number {
    const args = process.argv.slice(2);
    try {
        const { pulumiBin, env, backendUrl } = engineEnv();
        const stack = stackArg(args);
        if (stack) prepareRun(backendUrl, stack);
        const r = spawnSync(pulumiBin, args, { cwd: PROJECT_DIR, env: { ...process.env, ...env }, stdio: "inherit" });
        if (r.error) throw r.error;
        return r.status ?? 1;
    } catch (err) {
        console.error(explainEngineError(err, stackArg(args) ?? "?").message);
        return 1;
    }
}

process.exitCode = main();
