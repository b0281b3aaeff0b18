/**
 * Steps "consumer-*": kube-pki used as a package by someone else's Pulumi program, installed the way a user
 * installs it, in a temp dir outside the checkout, and run through the real engine.
 *
 *  - consumer-js: `npm pack` of the checkout, then a plain JavaScript Pulumi program that runs
 *    `npm install @pulumi/pulumi@<pinned> @pulumi/tls@<pinned> <tarball>` (the peers resolve from the registry, kube-pki
 *    from the local tarball), creates a ClusterPki with `ClusterPki.create`, a NodeFiles sink per node and a cloud-init
 *    document, and exports `kubePkiMemory`. `pulumi up`; the sink's trees have the map's modes; kubeadm reads the
 *    control plane's tree; etcd + kube-apiserver boot from it; a second preview changes nothing; then the program's
 *    own config drives the cluster CA through stage → promote → distrust (one `up` each, the trust bundle checked).
 *  - consumer-yaml: `pulumi package get-schema` of the component package (provider/) is checked (components, docs, no
 *    Any); the Pulumi YAML program examples/yaml (copied as it is) runs `pulumi package add <provider dir>`, uses
 *    kube-pki:index:ClusterPki and `pulumi up`s it through the YAML language host (built by tools.sh); secrets stay
 *    secret in its state, the nodeFiles output makes a tree kubeadm reads; its config takes the cluster CA through
 *    stage → promote → distrust (the component reads its memory, exported by the program as kubePkiMemory, inside the
 *    provider).
 *  - consumer-go: the Go program examples/go (copied as it is) runs `pulumi package add <provider dir>` through our Go
 *    language host (tools/pulumi-language-go, built by tools.sh): the generated kubepki SDK is linked by a go.mod
 *    replace, the pulumi Go SDK comes from the Go module proxy into the tools' module cache; then the same `up`,
 *    secrecy, tree, kubeadm and stage → promote → distrust checks as consumer-yaml (upAndCheckPackageConsumer).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { checkExpiration } from "./kubeadm";
import { freePort, run, runOk } from "./procs";
import { exportEncrypted, isSelfRead, NodeFiles, Op, plainOutputs, pulumiOp, recordOps, REPO_DIR, workspace } from "./pulumi";
import { bootControlPlane, CLUSTER_DOMAIN, Ctx, kubeadmParams, SERVICE_CIDR } from "./steps";
import { checkModes, writeTrees } from "./tree";

/** The package's own pins of its peers: the consumer installs the versions whose plugins the tool cache has. */
function peerPins(): string[] {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_DIR, "package.json"), "utf8"));
    return ["@pulumi/pulumi", "@pulumi/tls"].map((name) => `${name}@${pkg.devDependencies[name]}`);
}

let tarball: Promise<string> | undefined;

/** `npm pack` of the checkout (its `prepack`/`prepare` builds dist/), once per suite run. Returns the tarball path. */
export function packKubePki(ctx: Ctx): Promise<string> {
    tarball ??= (async () => {
        const dest = path.join(ctx.work, "pack");
        fs.mkdirSync(dest, { recursive: true });
        const started = Date.now();
        // --json: npm pack prints a JSON array (the build's "> script" banners then go to stderr)
        const r = await runOk("npm", ["pack", "--json", "--pack-destination", dest], { cwd: REPO_DIR, env: ctx.env, log: "npm-pack", timeoutMs: 300_000 });
        const info = JSON.parse(r.stdout.slice(r.stdout.indexOf("[")))[0] as { filename: string; files: { path: string }[]; size: number };
        const files = info.files.map((f) => f.path);
        ctx.suite.info(`npm pack: ${info.filename}, ${files.length} files, ${(info.size / 1024).toFixed(0)} KiB, ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const stray = files.filter((f) => !/^(dist\/components\/.+\.(js|d\.ts)|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(f));
        ctx.suite.check("npm pack ships dist/components (.js, .d.ts), README, LICENSE, CHANGELOG only (no tests, e2e, bench, stacks, tools, TypeScript sources)", stray.length === 0 && files.includes("dist/components/index.js") && files.includes("dist/components/index.d.ts"), stray.join(", "));
        return path.join(dest, info.filename);
    })();
    return tarball;
}

/** A consumer project dir with its Pulumi.yaml and package.json; `npm install <specs>` in it. */
async function consumerProject(ctx: Ctx, name: string, files: Record<string, string>, installSpecs: string[], signal: AbortSignal): Promise<string> {
    const dir = path.join(ctx.work, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [rel, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, rel), content);
    const started = Date.now();
    // As from the user's shell: without the npm_config_* / npm_package_* variables `npm run e2e` puts in the
    // environment (they carry this checkout's local prefix and .npmrc, and stop npm from installing a link's peers).
    const env = Object.fromEntries(Object.entries(ctx.env).filter(([k]) => !/^npm_/i.test(k)));
    await runOk("npm", ["install", "--no-audit", "--no-fund", ...installSpecs], { cwd: dir, env, log: `npm-install-${name}`, timeoutMs: 600_000, signal });
    ctx.suite.info(`${name}: npm install ${installSpecs.map((s) => path.basename(s)).join(" ")}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return dir;
}

const CONSUMER_JS = `"use strict";
// Someone else's Pulumi program (JavaScript), with kube-pki installed from its npm tarball.
const pulumi = require("@pulumi/pulumi");
const { ClusterPki, NodeFiles, cloudInit, memoryOf } = require("kube-pki");

module.exports = async () => {
    const config = new pulumi.Config();
    const pki = await ClusterPki.create("consumer", {
        clusterName: "consumer-js",
        controlPlaneEndpoint: config.require("endpoint"),
        apiServerBindPort: config.requireNumber("bindPort"),
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [{ name: "worker-1", addresses: ["127.0.0.2"] }],
        caRotation: config.getObject("caRotation"),
    });
    const sinks = Object.keys(pki.nodeFiles).map(
        (node) => new NodeFiles("consumer-" + node, { rootDir: config.require("nodesDir"), node, files: pki.nodeFiles[node] }),
    );
    return {
        kubePkiMemory: memoryOf(pki),
        nodeFiles: pki.nodeFiles,
        hashes: sinks.map((s) => s.hashes),
        workerUserData: cloudInit(pki.nodeFiles["worker-1"]),
        adminKubeconfig: pki.kubeconfigs["admin.conf"],
    };
};
`;

/** A consumer's stack lives in its own project (not ctx.ws): destroyed and removed here, unless --keep. */
async function destroyConsumer(ctx: Ctx, stack: Stack, signal: AbortSignal) {
    if (process.argv.includes("--keep")) return;
    await pulumiOp(`destroy-${stack.name}`, signal, (o) => stack.destroy(o)).then(
        (r) => ctx.suite.check(`${stack.name}: pulumi destroy succeeded`, r.summary.result === "succeeded", JSON.stringify(r.summary)),
        (e) => ctx.suite.check(`${stack.name}: pulumi destroy`, false, (e as Error).message),
    );
    await stack.workspace.removeStack(stack.name);
}

const pemCount = (text: string) => (text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

export async function stepConsumerJs(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const tgz = await packKubePki(ctx);
    const dir = await consumerProject(
        ctx,
        "consumer-js",
        {
            "Pulumi.yaml": "name: consumer-js\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n",
            "package.json": JSON.stringify({ name: "consumer-js", version: "1.0.0", private: true, main: "index.js" }, null, 2),
            "index.js": CONSUMER_JS,
        },
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
                Object.entries({ endpoint: `127.0.0.1:${apiPort}`, bindPort: String(apiPort), nodesDir, ...extra }).map(([k, v]) => [`consumer-js:${k}`, { value: v }]),
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
        s.check("consumer-js: kubePkiMemory holds the component's rotation state and tokens", first.outputs.kubePkiMemory?.consumer?.rotationState?.ca?.phase === "none" && Object.keys(first.outputs.kubePkiMemory?.consumer?.rotationTokens ?? {}).length > 5, JSON.stringify(first.outputs.kubePkiMemory).slice(0, 300));
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
            const state = r.outputs.kubePkiMemory?.consumer?.rotationState?.ca;
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

/**
 * The component package as a user's `pulumi package add <path>` sees it: a copy of what a clone of the repository
 * holds once built (provider/, the compiled dist/, the library sources the schema is inferred from, tsconfig.json,
 * package.json), node_modules linked to the checkout's.
 */
async function componentPackageDir(ctx: Ctx): Promise<string> {
    await packKubePki(ctx); // builds dist/ (prepare)
    const dir = path.join(ctx.work, "kube-pki-src");
    if (fs.existsSync(dir)) return path.join(dir, "provider");
    fs.mkdirSync(dir, { recursive: true });
    for (const rel of ["provider", "dist", "components", "package.json", "tsconfig.json"]) fs.cpSync(path.join(REPO_DIR, rel), path.join(dir, rel), { recursive: true });
    fs.symlinkSync(path.join(REPO_DIR, "node_modules"), path.join(dir, "node_modules"));
    return path.join(dir, "provider");
}

/**
 * Offline only: the engine installs a source plugin's required plugins eagerly, and our Node.js host would name every
 * Pulumi package in the checkout's node_modules, @pulumi/vault included, whose plugin does not exist here (README
 * "Vault intermediate"); with this the engine loads tls (and kubernetes) when the component first uses them.
 */
const OFFLINE_PLUGINS = { KUBE_PKI_LANGHOST_SKIP_REQUIRED_PLUGINS: "true" };

/** The pulumi CLI in a consumer dir, with the suite's backend, passphrase and plugins. */
function cli(ctx: Ctx, dir: string, args: string[], label: string, signal: AbortSignal, env: Record<string, string> = {}) {
    return run("pulumi", [...args, "--non-interactive"], { cwd: dir, env: { ...ctx.env, ...ctx.ws.envVars, ...OFFLINE_PLUGINS, ...env }, log: label, timeoutMs: 600_000, signal });
}

/** examples/yaml: the YAML program of step consumer-yaml, run as it is (so the example cannot rot). */
const EXAMPLES_DIR = path.join(REPO_DIR, "examples");

export async function stepConsumerYaml(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const pluginDir = await componentPackageDir(ctx);

    // the schema, as `pulumi package get-schema` prints it
    let started = Date.now();
    const schemaRun = await cli(ctx, ctx.work, ["package", "get-schema", pluginDir], "pulumi-package-get-schema", signal);
    s.info(`pulumi package get-schema: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    let schema: any;
    try {
        schema = JSON.parse(schemaRun.stdout);
    } catch {
        schema = undefined;
    }
    s.check("pulumi package get-schema <provider dir>: a JSON schema named kube-pki", schemaRun.code === 0 && schema?.name === "kube-pki", schemaRun.output.slice(-2000));
    const resources = Object.keys(schema?.resources ?? {}).sort();
    s.equal("schema: the components", resources, ["kube-pki:index:ClusterPki", "kube-pki:index:NodeFiles", "kube-pki:index:RootPki"]);
    const undocumented: string[] = [];
    for (const [token, r] of Object.entries<any>(schema?.resources ?? {})) {
        if (!r.description) undocumented.push(token);
        for (const [k, p] of Object.entries<any>({ ...r.inputProperties, ...r.properties })) if (!p.description) undocumented.push(`${token}.${k}`);
    }
    s.check("schema: every component, input and output has a description", undocumented.length === 0, undocumented.join(", "));
    s.check("schema: no `Any` type", !schemaRun.stdout.includes("pulumi.json#/Any"));
    const cp = schema?.resources?.["kube-pki:index:ClusterPki"];
    s.check(
        "schema: ClusterPki takes controlPlanes (ControlPlaneNode[]) and clusterName, returns kubeconfigs, nodeFiles, cloudInit, memory",
        cp?.inputProperties?.controlPlanes?.items?.$ref === "#/types/kube-pki:index:ControlPlaneNode" && (cp?.requiredInputs ?? []).includes("clusterName") && ["kubeconfigs", "nodeFiles", "cloudInit", "memory"].every((k) => k in (cp?.properties ?? {})),
        JSON.stringify(cp ?? {}).slice(0, 1500),
    );

    // a YAML program: pulumi package add, then up
    const apiPort = await freePort();
    const dir = path.join(ctx.work, "consumer-yaml");
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(EXAMPLES_DIR, "yaml/Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    started = Date.now();
    const add = await cli(ctx, dir, ["package", "add", pluginDir], "pulumi-package-add-yaml", signal);
    s.info(`pulumi package add (yaml): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const projectFile = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    s.check("consumer-yaml: pulumi package add <provider dir> records kube-pki in Pulumi.yaml", add.code === 0 && /packages:\s*\n\s+kube-pki:/.test(projectFile), `${add.output.slice(-2000)}\n---\n${projectFile.slice(-400)}`);

    await upAndCheckPackageConsumer(ctx, "consumer-yaml", dir, apiPort, {}, signal);
}

/**
 * What every `pulumi package add` consumer (YAML, Go) proves: a stack in `dir` (its program takes the config keys
 * clusterName, bindPort, endpoint and caPhase, and exports kubePkiMemory, nodeFiles, kubeconfigs and workerUserData from a
 * ClusterPki named "pki" of cluster `name`) is `pulumi up`ed; the secret outputs are secret and no key is in plain text
 * in its state; the nodeFiles output makes a tree with the map's modes that kubeadm reads; the component's memory is
 * exported; then the program's caPhase takes the cluster CA through stage → promote → distrust. Destroys the stack.
 */
async function upAndCheckPackageConsumer(ctx: Ctx, name: string, dir: string, apiPort: number, env: Record<string, string>, signal: AbortSignal) {
    const s = ctx.suite;
    const ws = await workspace({ workDir: dir, backendUrl: ctx.ws.envVars.PULUMI_BACKEND_URL, pulumiHome: ctx.env.PULUMI_HOME!, env: ctx.env });
    Object.assign(ws.envVars, OFFLINE_PLUGINS, env);
    const stack = await Stack.create(name, ws);
    await stack.setAllConfig({ clusterName: { value: name }, bindPort: { value: String(apiPort) }, endpoint: { value: `127.0.0.1:${apiPort}` } });
    try {
        let started = Date.now();
        const res = await pulumiOp(`up-${name}`, signal, (o) => stack.up(o));
        s.info(`${name}: pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(res.summary.resourceChanges)}`);
        s.check(`${name}: pulumi up succeeded`, res.summary.result === "succeeded", JSON.stringify(res.summary));
        const outputs = plainOutputs(res.outputs);
        s.check(`${name}: kubeconfigs and the cloud-init user data are secret stack outputs`, res.outputs.kubeconfigs?.secret === true && res.outputs.workerUserData?.secret === true, JSON.stringify({ k: res.outputs.kubeconfigs?.secret, c: res.outputs.workerUserData?.secret }));
        s.check(`${name}: worker-1 user data is a #cloud-config document`, String(outputs.workerUserData).startsWith("#cloud-config"));
        const exported = await exportEncrypted(ws, name);
        const plain = JSON.stringify(exported).split("PRIVATE KEY").length - 1;
        s.check(`${name}: no private key in plain text in the stack's state (secrets kept across the component boundary)`, plain === 0, `${plain} occurrence(s)`);
        const nodeFiles = outputs.nodeFiles as NodeFiles;
        const root = path.join(ctx.work, `trees-${name}`);
        fs.mkdirSync(root, { mode: 0o700 });
        writeTrees(root, nodeFiles);
        const problems = checkModes(root, nodeFiles);
        s.check(`${name}: the nodeFiles output writes a tree with the map's modes`, problems.length === 0, problems.join("\n"));
        const config = { clusterName: name, controlPlaneEndpoint: `127.0.0.1:${apiPort}`, apiServerBindPort: apiPort, controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }] };
        await checkExpiration(s, `${name} cp-1`, path.join(root, "cp-1"), kubeadmParams(ctx, config), { leafHours: 8760, caHours: 87600 }, ctx.env);
        s.check(`${name}: kubePkiMemory output from the component's memory`, outputs.kubePkiMemory?.pki?.rotationState?.ca?.phase === "none", JSON.stringify(outputs.kubePkiMemory).slice(0, 300));

        // the component remembers through the package boundary: stage → promote → distrust from the program's config
        for (const [phase, certs, generation] of [["stage", 2, 0], ["promote", 2, 1], ["distrust", 1, 1]] as const) {
            await stack.setConfig("caPhase", { value: phase });
            started = Date.now();
            const r = await pulumiOp(`up-${name}-${phase}`, signal, (o) => stack.up(o));
            const out = plainOutputs(r.outputs);
            const bundle = String((out.nodeFiles as NodeFiles)["cp-1"]["etc/kubernetes/pki/ca.crt"].content);
            const state = out.kubePkiMemory?.pki?.rotationState?.ca;
            s.info(`${name} ${phase}: pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(r.summary.resourceChanges)}`);
            s.check(
                `${name} ${phase}: ca.crt holds ${certs} certificate(s), memory says ${phase} generation ${generation}`,
                r.summary.result === "succeeded" && pemCount(bundle) === certs && state?.phase === phase && state?.generation === generation,
                `${pemCount(bundle)} certs, state ${JSON.stringify(state)}`,
            );
        }
    } finally {
        await destroyConsumer(ctx, stack, signal);
    }
}

/**
 * consumer-path: the same program with a path install, `npm install @pulumi/pulumi @pulumi/tls <path to a checkout>`,
 * no flags (npm makes a symlink). kube-pki then loads the checkout's own copy of @pulumi/pulumi beside the
 * program's: the SDK keeps its run state in process globals, so both copies register into one stack.
 */
export async function stepConsumerPath(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    await packKubePki(ctx); // builds dist/ in the checkout (a path install uses it as it is)
    const dir = await consumerProject(
        ctx,
        "consumer-path",
        {
            "Pulumi.yaml": "name: consumer-path\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n",
            "package.json": JSON.stringify({ name: "consumer-path", version: "1.0.0", private: true, main: "index.js" }, null, 2),
            "index.js": CONSUMER_JS,
        },
        [...peerPins(), REPO_DIR],
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
        "consumer-path:endpoint": { value: "127.0.0.1:6443" },
        "consumer-path:bindPort": { value: "6443" },
        "consumer-path:nodesDir": { value: nodesDir },
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


/**
 * Step consumer-go: a Go program in a temp dir (go.mod requiring the pulumi Go SDK of the CLI's version, main.go,
 * Pulumi.yaml `runtime: go`) runs `pulumi package add <provider dir>` through the Go language host (tools.sh builds
 * it): the host generates the kubepki SDK into sdks/, links it with a go.mod replace and runs `go mod tidy`, which
 * fetches the pulumi SDK's modules from the Go module proxy into the tools' module cache. Then the checks of every
 * package consumer (upAndCheckPackageConsumer); each `up` compiles the program with `go build`.
 */
export async function stepConsumerGo(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const pluginDir = await componentPackageDir(ctx);
    // the Go module cache of scripts/tools.sh (the environment's), named explicitly; never another Go toolchain
    const gomodcache = (await runOk("go", ["env", "GOMODCACHE"], { env: ctx.env, log: "consumer-go-env" })).stdout.trim();
    const goEnv = { GOMODCACHE: gomodcache, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" };
    const dir = path.join(ctx.work, "consumer-go");
    fs.mkdirSync(dir, { recursive: true });
    // examples/go, run as it is (so the example cannot rot); its go.mod must pin the pulumi Go SDK of the CLI's version
    for (const f of ["Pulumi.yaml", "go.mod", "main.go"]) fs.copyFileSync(path.join(EXAMPLES_DIR, "go", f), path.join(dir, f));
    const pinned = /^require github\.com\/pulumi\/pulumi\/sdk\/v3 v(\S+)$/m.exec(fs.readFileSync(path.join(dir, "go.mod"), "utf8"))?.[1];
    s.check(`consumer-go: examples/go/go.mod requires the pulumi Go SDK of the CLI's version (${pulumiVersion()})`, pinned === pulumiVersion(), `go.mod pins ${pinned}`);

    const started = Date.now();
    const add = await cli(ctx, dir, ["package", "add", pluginDir], "pulumi-package-add-go", signal, goEnv);
    s.info(`pulumi package add (go, module cache ${gomodcache}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const gomod = fs.readFileSync(path.join(dir, "go.mod"), "utf8");
    s.check(
        "consumer-go: pulumi package add generated the kubepki Go SDK, replaced its module with it in go.mod and recorded kube-pki in Pulumi.yaml",
        add.code === 0 && fs.existsSync(path.join(dir, "sdks/kube-pki-kube-pki/kubepki/clusterPki.go")) && /replace github\.com\/kube-pki\/pulumi-kube-pki\/sdk\/go => \.\/sdks\//.test(gomod) && /packages:\s*\n\s+kube-pki:/.test(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")),
        `${add.output.slice(-2000)}\n---\n${gomod.slice(0, 600)}`,
    );
    await upAndCheckPackageConsumer(ctx, "consumer-go", dir, await freePort(), goEnv, signal);
}

/** The CLI's version (tools/versions.env PULUMI_VERSION): the Go consumer requires the pulumi Go SDK of that version. */
function pulumiVersion(): string {
    const m = /^PULUMI_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(REPO_DIR, "tools/versions.env"), "utf8"));
    if (!m) throw new Error("tools/versions.env: no PULUMI_VERSION");
    return m[1];
}
