/**
 * The main job: `npm run up|preview|destroy [-- --stack dev]`.
 * Runs the kube-pki program through the Pulumi Automation API on a local file backend in the checkout
 * (.pulumi-state/, gitignored) with a demo passphrase (override with PULUMI_CONFIG_PASSPHRASE).
 */
import { Command } from "commander";
import { openStack } from "./workspace";

function printOutputs(outputs: Record<string, { value: unknown; secret: boolean }>) {
    console.log("\nOutputs (secrets masked):");
    for (const [key, out] of Object.entries(outputs)) {
        if (out.secret) {
            console.log(`  ${key}: [secret]`);
        } else if (key === "inventory" && Array.isArray(out.value)) {
            console.log(`  inventory: ${out.value.length} certificates`);
        } else if (key === "nodeFiles" && out.value && typeof out.value === "object") {
            const nodes = Object.entries(out.value as Record<string, object>);
            console.log(`  nodeFiles: ${nodes.map(([n, files]) => `${n} (${Object.keys(files).length} files)`).join(", ")}`);
        } else if (typeof out.value === "object") {
            console.log(`  ${key}: ${Object.keys(out.value as object).join(", ")}`);
        } else {
            console.log(`  ${key}: ${String(out.value)}`);
        }
    }
}

async function run(action: "up" | "preview" | "destroy", opts: { stack: string; refresh?: boolean; diff?: boolean }) {
    const stack = await openStack({ stackName: opts.stack });
    const onOutput = (line: string) => process.stdout.write(line);
    console.log(`kube-pki: ${action} of stack "${opts.stack}" (backend ${process.env.PULUMI_BACKEND_URL ?? ".pulumi-state/"})`);
    if (action === "up") {
        const res = await stack.up({ onOutput, refresh: opts.refresh, diff: opts.diff });
        printOutputs(res.outputs);
    } else if (action === "preview") {
        await stack.preview({ onOutput, refresh: opts.refresh, diff: opts.diff });
    } else {
        await stack.destroy({ onOutput });
    }
}

const program = new Command("kube-pki")
    .description("Run the kube-pki Pulumi program on the local demo backend")
    .option("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml)", process.env.KUBE_PKI_STACK ?? "dev")
    .option("--refresh", "refresh state before the operation")
    .option("--diff", "show a detailed property diff");
for (const action of ["up", "preview", "destroy"] as const) {
    program.command(action).action(() => run(action, program.opts()));
}
program.parseAsync().catch((err: Error) => {
    console.error(`\n${err.message ?? err}`);
    process.exit(1);
});
