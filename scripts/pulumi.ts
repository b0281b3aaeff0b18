/**
 * `npm run pulumi -- <args>`: the real Pulumi CLI with this project's backend (PULUMI_BACKEND_URL, default
 * .pulumi-state/), secrets (scripts/passphrase.ts), plugins and private TMPDIR, e.g.
 *   npm run pulumi -- config set kube-pki:leafValidity 2160h --stack dev
 *   npm run pulumi -- stack output kubeconfigs --show-secrets --json --stack dev
 *   npm run pulumi -- stack export --stack dev
 *   npm run pulumi -- refresh --stack dev
 *   npm run pulumi -- cancel --stack dev
 *   npm run pulumi -- stack init prod --secrets-provider hashivault://kube-pki-prod
 * Before a command on a stack it does the same recovery as `npm run up` (scripts/recovery.ts).
 */
import { spawnSync } from "node:child_process";
import { engineEnv, explainEngineError, PROJECT_DIR, prepareRun } from "./workspace";

/** The value of `--<name> v`, `--<name>=v` (or a short alias). */
function flag(args: string[], names: string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (names.includes(a)) return args[i + 1];
        const long = names.find((n) => n.startsWith("--") && a.startsWith(`${n}=`));
        if (long) return a.slice(long.length + 1);
    }
    return undefined;
}

export function stackArg(args: string[]): string | undefined {
    const positional = args.filter((a) => !a.startsWith("-"));
    if (positional[0] === "stack" && positional[1] === "init" && positional[2]) return positional[2];
    return flag(args, ["--stack", "-s"]) ?? process.env.KUBE_PKI_STACK;
}

function main(): number {
    const args = process.argv.slice(2);
    try {
        const stack = stackArg(args);
        const { pulumiBin, env, backendUrl } = engineEnv(undefined, stack, flag(args, ["--secrets-provider"]));
        if (stack) prepareRun(backendUrl, stack);
        const r = spawnSync(pulumiBin, args, { cwd: PROJECT_DIR, env: { ...process.env, ...env }, stdio: "inherit" });
        if (r.error) throw r.error;
        return r.status ?? 1;
    } catch (err) {
        console.error(explainEngineError(err, stackArg(args) ?? "?").message);
        return 1;
    }
}

if (require.main === module) process.exitCode = main();
