import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { isSelfRead, NodeFiles, Op, plainOutputs, pulumiOp, recordOps, REPO_DIR, workspace } from "../pulumi";
import { Ctx } from "../steps";
import { checkModes } from "../tree";
import { consumerProject, destroyConsumer, exampleFiles, packKubePki, peerPins } from "./common";

/**
 * consumer-path: the TypeScript program examples/typescript (run as it is; ts-node compiles it when the engine runs
 * it) with a path install, `npm install @pulumi/pulumi @pulumi/tls typescript ts-node <path to a checkout>`, no flags
 * (npm makes a symlink). kube-pki then loads the checkout's own copy of @pulumi/pulumi beside the
 * program's: the SDK keeps its run state in process globals, so both copies register into one stack.
 */
export async function stepConsumerPath(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    await packKubePki(ctx); // builds dist/ in the checkout (a path install uses it as it is)
    const dir = await consumerProject(
        ctx,
        "consumer-path",
        exampleFiles("typescript", ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"]),
        [...peerPins(true), REPO_DIR],
        signal,
    );
    const link = path.join(dir, "node_modules/kube-pki");
    s.check("consumer-path: npm install <checkout> made node_modules/kube-pki a link to the checkout", fs.lstatSync(link).isSymbolicLink() && fs.realpathSync(link) === fs.realpathSync(REPO_DIR));
    const sdks = [dir, REPO_DIR].map((d) => fs.realpathSync(path.join(d, "node_modules/@pulumi/pulumi")));
    s.check("consumer-path: two copies of @pulumi/pulumi (the program's and the checkout's), as a user's path install has", sdks[0] !== sdks[1], sdks.join(" vs "));

    const ws = await workspace({ workDir: dir, backendUrl: ctx.ws.envVars.PULUMI_BACKEND_URL, pulumiHome: ctx.env.PULUMI_HOME!, env: ctx.env });
    const nodesDir = path.join(ctx.work, "consumer-path-nodes");
    const stack = await Stack.create("consumer-path", ws);
    await stack.setAllConfig({
        clusterName: { value: "consumer-path" },
        endpoint: { value: "127.0.0.1:6443" },
        bindPort: { value: "6443" },
        nodesDir: { value: nodesDir },
    });
    try {
        const started = Date.now();
        const res = await pulumiOp("up-consumer-path", signal, (o) => stack.up(o));
        s.info(`consumer-path: pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(res.summary.resourceChanges)}`);
        s.check("consumer-path: pulumi up succeeded", res.summary.result === "succeeded", JSON.stringify(res.summary));
        const nodeFiles = plainOutputs(res.outputs).nodeFiles as NodeFiles;
        const problems = checkModes(nodesDir, nodeFiles);
        s.check("consumer-path: the NodeFiles sink wrote every file of both nodes with its mode", Object.keys(nodeFiles).length === 2 && problems.length === 0, problems.join("\n"));
        const ops: Op[] = [];
        const pre = await pulumiOp("preview-consumer-path", signal, (o) => stack.preview({ ...o, onEvent: recordOps(ops) }));
        const changed = ops.filter((o) => o.op !== "same" && !isSelfRead(o));
        s.check("consumer-path: second preview: nothing changes, 'no leaf certificate rotates'", changed.length === 0 && pre.stdout.includes("no leaf certificate rotates"), changed.map((c) => `${c.op} ${c.urn}`).join("\n") || pre.stdout.slice(-600));
    } finally {
        await destroyConsumer(ctx, stack, signal);
    }
}

