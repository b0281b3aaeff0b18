/**
 * Step consumer-js: `npm pack` of the checkout, then the plain JavaScript Pulumi program examples/javascript/index.js
 * (run as it is) in a temp dir that runs `npm install @pulumi/pulumi@<pinned> @pulumi/tls@<pinned> <tarball>` (the
 * peers resolve from the registry, kube-pki from the local tarball); it creates a ClusterPki with `ClusterPki.create`,
 * a NodeFiles sink per node and a cloud-init document, and exports `kubePkiMemory`. `pulumi up`; the sink's trees have
 * the map's modes; kubeadm reads the control plane's tree; etcd + kube-apiserver boot from it; a second preview
 * changes nothing; then the program's own config drives the cluster CA through stage → promote → distrust (one `up`
 * each, the trust bundle checked).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { checkExpiration } from "../kubeadm";
import { freePort } from "../procs";
import { isSelfRead, NodeFiles, Op, plainOutputs, pulumiOp, recordOps, workspace } from "../pulumi";
import { bootControlPlane, Ctx, kubeadmParams } from "../steps";
import { checkModes } from "../tree";
import { consumerProject, destroyConsumer, exampleFiles, packKubePki, peerPins, pemCount } from "./common";

export async function stepConsumerJs(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const tgz = await packKubePki(ctx);
    const dir = await consumerProject(
        ctx,
        "consumer-js",
        exampleFiles("javascript", ["Pulumi.yaml", "package.json", "index.js"]),
        [...peerPins(), tgz],
        signal,
    );
    const installed = JSON.parse(fs.readFileSync(path.join(dir, "node_modules/kube-pki/package.json"), "utf8"));
    s.check("consumer-js: kube-pki installed from the tarball as compiled JavaScript (no .ts in node_modules/kube-pki)", installed.main === "dist/components/index.js" && !fs.readdirSync(path.join(dir, "node_modules/kube-pki/dist/components")).some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")));

    const ws = await workspace({ workDir: dir, backendUrl: ctx.ws.envVars.PULUMI_BACKEND_URL, pulumiHome: ctx.env.PULUMI_HOME!, env: ctx.env });
    const apiPort = await freePort();
    const nodesDir = path.join(ctx.work, "consumer-js-nodes");
    const stack = await Stack.create("consumer-js", ws);
    const setConfig = (extra: Record<string, string>) =>
        stack.setAllConfig(
            Object.fromEntries(
                Object.entries({ clusterName: "consumer-js", endpoint: `127.0.0.1:${apiPort}`, bindPort: String(apiPort), nodesDir, ...extra }).map(([k, v]) => [k, { value: v }]),
            ),
        );
    await setConfig({});
    try {
        const up = async (label: string) => {
            const started = Date.now();
            const res = await pulumiOp(`up-consumer-js-${label}`, signal, (o) => stack.up(o));
            s.info(`consumer-js ${label}: pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(res.summary.resourceChanges)}`);
            s.check(`consumer-js ${label}: pulumi up succeeded`, res.summary.result === "succeeded", JSON.stringify(res.summary));
            return { res, outputs: plainOutputs(res.outputs) };
        };

        // 1. first up: the tree, written by the NodeFiles sink from the package (a dynamic provider serialized from node_modules)
        const first = await up("first");
        const nodeFiles = first.outputs.nodeFiles as NodeFiles;
        s.equal("consumer-js: nodes", Object.keys(nodeFiles).sort(), ["cp-1", "worker-1"]);
        const problems = checkModes(nodesDir, nodeFiles);
        s.check("consumer-js: the NodeFiles sink wrote every file of every node with its mode (keys/kubeconfigs 0600, certs 0644)", problems.length === 0, problems.join("\n"));
        s.check("consumer-js: cloud-init user data for worker-1 is a #cloud-config document", String(first.outputs.workerUserData).startsWith("#cloud-config"), String(first.outputs.workerUserData).slice(0, 200));
        s.check("consumer-js: kubePkiMemory holds the component's rotation state and tokens", first.outputs.kubePkiMemory?.pki?.rotationState?.ca?.phase === "none" && Object.keys(first.outputs.kubePkiMemory?.pki?.rotationTokens ?? {}).length > 5, JSON.stringify(first.outputs.kubePkiMemory).slice(0, 300));
        s.check("consumer-js: the first run says 'first run'", first.res.stdout.includes("first run:"), first.res.stdout.slice(-600));

        // 2. kubeadm reads the tree; the control plane boots from it
        const cpDir = path.join(nodesDir, "cp-1");
        const config = { clusterName: "consumer-js", controlPlaneEndpoint: `127.0.0.1:${apiPort}`, apiServerBindPort: apiPort, controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }] };
        await checkExpiration(s, "consumer-js cp-1", cpDir, kubeadmParams(ctx, config), { leafHours: 8760, caHours: 87600 }, ctx.env);
        const cp = await bootControlPlane(ctx, "consumer-js", { stack, config, outputs: first.outputs, treeRoot: nodesDir, apiPort }, signal);
        try {
            const who = await cp.whoami(path.join(cpDir, "etc/kubernetes/admin.conf"));
            s.check("consumer-js: admin.conf authenticates as kubernetes-admin", who.username === "kubernetes-admin", who.error ?? JSON.stringify(who));
        } finally {
            await cp.stop();
        }

        // 3. the component remembers: a second preview changes nothing and says so
        const ops: Op[] = [];
        const pre = await pulumiOp("preview-consumer-js", signal, (o) => stack.preview({ ...o, onEvent: recordOps(ops) }));
        const changed = ops.filter((o) => o.op !== "same" && !isSelfRead(o));
        s.check("consumer-js: second preview: nothing changes (only the component's read of its own stack)", changed.length === 0, changed.map((c) => `${c.op} ${c.urn}`).join("\n"));
        s.check("consumer-js: second preview: 'no leaf certificate rotates' (rotation tokens remembered, not 'first run')", pre.stdout.includes("no leaf certificate rotates") && !pre.stdout.includes("first run:"), pre.stdout.slice(-800));

        // 4. CA rotation from the consumer's own config: stage → promote → distrust
        const caFile = "etc/kubernetes/pki/ca.crt";
        const firstCa = nodeFiles["cp-1"][caFile].content;
        let previous = firstCa;
        for (const [phase, certs, generation] of [["stage", 2, 0], ["promote", 2, 1], ["distrust", 1, 1]] as const) {
            await setConfig({ caRotation: JSON.stringify({ ca: phase }) });
            const r = await up(phase);
            const bundle = String((r.outputs.nodeFiles as NodeFiles)["cp-1"][caFile].content);
            const onDisk = fs.readFileSync(path.join(cpDir, caFile), "utf8");
            const state = r.outputs.kubePkiMemory?.pki?.rotationState?.ca;
            s.check(
                `consumer-js ${phase}: ca.crt holds ${certs} certificate(s) on disk, rotation state ${phase} generation ${generation}`,
                pemCount(onDisk) === certs && onDisk === bundle && state?.phase === phase && state?.generation === generation,
                `on disk ${pemCount(onDisk)}, output ${pemCount(bundle)}, state ${JSON.stringify(state)}`,
            );
            if (phase === "promote") s.check("consumer-js promote: the new CA is first in ca.crt", bundle.split("-----END CERTIFICATE-----")[0] !== previous.split("-----END CERTIFICATE-----")[0]);
            if (phase === "distrust") s.check("consumer-js distrust: the old CA is gone from ca.crt", !bundle.includes(firstCa.trim().split("\n")[1]));
            previous = bundle;
        }
    } finally {
        await destroyConsumer(ctx, stack, signal);
    }
}
