/**
 * The main job: `npm run up|preview|destroy [-- --stack dev] [--verbose]`.
 * Runs the kube-pki program through the Pulumi Automation API on the backend PULUMI_BACKEND_URL names (default a
 * local file backend in the checkout, .pulumi-state/, gitignored), with the stack's secrets provider, or
 * PULUMI_CONFIG_PASSPHRASE, or for the dev stack only a demo passphrase (scripts/passphrase.ts), and prints a short
 * plan: progress, counts by operation, the rotation summary, what is replaced and why, the outputs' names.
 * `--verbose` prints the engine's full output as well.
 */
import * as readline from "node:readline/promises";
import { Command } from "commander";
import type { OutputMap, Stack } from "@pulumi/pulumi/automation";
import { destroyRefusal } from "./destroy-guard";
import { PlanRecorder } from "./plan";
import { backendLabel, backendUrlOf } from "./backend";
import { explainEngineError, exportEncrypted, openStack, UserError } from "./workspace";

interface Options {
    stack: string;
    refresh?: boolean;
    diff?: boolean;
    verbose?: boolean;
    yes?: boolean;
    secretsProvider?: string;
}

function printOutputs(stackName: string, outputs: OutputMap) {
    const names = Object.keys(outputs);
    if (!names.length) return;
    console.log(`Outputs: ${names.map((n) => (outputs[n].secret ? `${n} (secret)` : n)).join(", ")}`);
    console.log(`  read one: npm run pulumi -- stack output <name> --stack ${stackName} [--show-secrets] [--json]`);
    if (outputs.inventory) console.log(`  expiry report: npm run check-expiration -- --stack ${stackName}`);
}

async function confirm(question: string): Promise<boolean> {
    if (!process.stdin.isTTY) return false;
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
        rl.close();
    }
}

async function destroy(stack: Stack, opts: Options, recorder: () => PlanRecorder, onOutput?: (s: string) => void) {
    // Refuse before the engine deletes anything: with --skip-preview it deletes every dependent first and stops only
    // at the protected CA (scripts/destroy-guard.ts).
    const refusal = destroyRefusal(`"${opts.stack}"`, exportEncrypted(stack), undefined, `npm run pulumi -- state unprotect --all --stack ${opts.stack}`);
    if (refusal) throw new UserError(`kube-pki: ${refusal}`);
    const plan = recorder();
    await stack.previewDestroy({ onEvent: plan.onEvent, onOutput });
    console.log(plan.summary("destroy-plan").join("\n"));
    if (!plan.counts.get("delete")) {
        console.log("Nothing to destroy.");
        return;
    }
    if (!opts.yes && !(await confirm(`Destroy these ${plan.counts.get("delete")} resources of stack "${opts.stack}"? [y/N] `))) {
        throw new UserError(`kube-pki: nothing destroyed. Run \`npm run destroy -- --stack ${opts.stack} --yes\` to destroy without asking.`);
    }
    const done = recorder();
    await stack.destroy({ onEvent: done.onEvent, onOutput });
    console.log(done.summary("destroy").join("\n"));
}

async function run(action: "up" | "preview" | "destroy", opts: Options) {
    const backend = process.env.PULUMI_BACKEND_URL ? backendLabel(backendUrlOf()) : ".pulumi-state/";
    console.log(`kube-pki: ${action} of stack "${opts.stack}" (backend ${backend})`);
    const stack = await openStack({ stackName: opts.stack, secretsProvider: opts.secretsProvider });
    const onOutput = opts.verbose ? (line: string) => process.stdout.write(line) : undefined;
    const recorder = () => new PlanRecorder({ progressEveryMs: opts.verbose ? 0 : 5000 });
    if (action === "destroy") return destroy(stack, opts, recorder, onOutput);
    const plan = recorder();
    const common = { onEvent: plan.onEvent, onOutput, refresh: opts.refresh, diff: opts.diff };
    if (action === "up") {
        const res = await stack.up({ ...common, suppressOutputs: !opts.verbose });
        console.log(plan.summary("up").join("\n"));
        printOutputs(opts.stack, res.outputs);
    } else {
        await stack.preview(common);
        console.log(plan.summary("preview").join("\n"));
    }
}

const program = new Command("kube-pki")
    .description("Run the kube-pki Pulumi program on PULUMI_BACKEND_URL (default: the local file backend .pulumi-state/)")
    .option("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml)", process.env.KUBE_PKI_STACK ?? "dev")
    .option("--refresh", "refresh state before the operation")
    .option("--diff", "show a detailed property diff (with --verbose)")
    .option("-v, --verbose", "also print the engine's full output, and the full text of an error")
    .option("-y, --yes", "destroy: do not ask for confirmation")
    .option("--secrets-provider <url>", "for a new stack: passphrase, hashivault://<key>, awskms://..., gcpkms://..., azurekeyvault://... (docs/backends.md)");
for (const action of ["up", "preview", "destroy"] as const) {
    program.command(action).action(() => run(action, program.opts<Options>()));
}
program.parseAsync().catch((err: unknown) => {
    const opts = program.opts<Options>();
    const e = explainEngineError(err, opts.stack);
    if (opts.verbose && e.detail) console.error(`\n${e.detail}`);
    console.error(`\n${e.message}${!opts.verbose && e.detail ? "\n(the engine's full output: add --verbose)" : ""}`);
    process.exit(1);
});
