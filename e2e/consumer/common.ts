/**
 * What the consumer-* steps share: the npm tarball of the checkout (packKubePki), a consumer project with its npm
 * install, the component package dir a `pulumi package add <path>` sees, the CLI in a consumer dir, the destroy, and
 * the checks every `pulumi package add` consumer (YAML, Go, Python) passes (upAndCheckPackageConsumer).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { memoryFromOutput } from "../../components/memory";
import { checkExpiration } from "../kubeadm";
import { run, runOk } from "../procs";
import { exportEncrypted, NodeFiles, plainOutputs, pulumiOp, REPO_DIR, workspace } from "../pulumi";
import { Ctx, kubeadmParams } from "../steps";
import { checkModes, writeTrees } from "../tree";

/**
 * The package's own pins of its peers: the consumer installs the versions whose plugins the tool cache has (and, for
 * a TypeScript program, the typescript and ts-node the checkout builds with).
 */
export function peerPins(typescript = false): string[] {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_DIR, "package.json"), "utf8"));
    const names = ["@pulumi/pulumi", "@pulumi/tls", ...(typescript ? ["typescript", "ts-node"] : [])];
    return names.map((name) => `${name}@${pkg.devDependencies[name]}`);
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
export async function consumerProject(ctx: Ctx, name: string, files: Record<string, string>, installSpecs: string[], signal: AbortSignal): Promise<string> {
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

/** A consumer's stack lives in its own project (not ctx.ws): destroyed and removed here, unless --keep. */
export async function destroyConsumer(ctx: Ctx, stack: Stack, signal: AbortSignal) {
    if (process.argv.includes("--keep")) return;
    await pulumiOp(`destroy-${stack.name}`, signal, (o) => stack.destroy(o)).then(
        (r) => ctx.suite.check(`${stack.name}: pulumi destroy succeeded`, r.summary.result === "succeeded", JSON.stringify(r.summary)),
        (e) => ctx.suite.check(`${stack.name}: pulumi destroy`, false, (e as Error).message),
    );
    await stack.workspace.removeStack(stack.name);
}

export const pemCount = (text: string) => (text.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

/**
 * The component package as a user's `pulumi package add <path>` sees it: a copy of what a clone of the repository
 * holds once built (provider/, the compiled dist/, the library sources the schema is inferred from, tsconfig.json,
 * package.json), node_modules linked to the checkout's.
 */
export async function componentPackageDir(ctx: Ctx): Promise<string> {
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
export const OFFLINE_PLUGINS = { KUBE_PKI_LANGHOST_SKIP_REQUIRED_PLUGINS: "true" };

/** The pulumi CLI in a consumer dir, with the suite's backend, passphrase and plugins. */
export function cli(ctx: Ctx, dir: string, args: string[], label: string, signal: AbortSignal, env: Record<string, string> = {}) {
    return run("pulumi", [...args, "--non-interactive"], { cwd: dir, env: { ...ctx.env, ...ctx.ws.envVars, ...OFFLINE_PLUGINS, ...env }, log: label, timeoutMs: 600_000, signal });
}

/** examples/: the programs the consumer steps run as they are (so the examples cannot rot). */
export const EXAMPLES_DIR = path.join(REPO_DIR, "examples");

/** The files of examples/<language>, by name, for consumerProject. */
export function exampleFiles(language: string, names: string[]): Record<string, string> {
    return Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(EXAMPLES_DIR, language, n), "utf8")]));
}

/**
 * What every `pulumi package add` consumer (YAML, Go, Python) proves: a stack in `dir` (its program takes the config keys
 * clusterName, bindPort, endpoint and caPhase, and exports kubePkiMemory, nodeFiles, kubeconfigs and workerUserData from a
 * ClusterPki named "pki" of cluster `name`) is `pulumi up`ed; the secret outputs are secret and no key is in plain text
 * in its state; the nodeFiles output makes a tree with the map's modes that kubeadm reads; the component's memory is
 * exported; then the program's caPhase takes the cluster CA through stage → promote → distrust. Destroys the stack.
 */
/** What one consumer adds to upAndCheckPackageConsumer: more stack config, checks on the first up's outputs. */
export interface MoreChecks {
    config?: Record<string, string>;
    afterFirstUp?: (outputs: Record<string, any>) => void;
}

/**
 * The checks of a program that writes each node's tree with the component package's NodeFiles sink under the config
 * key nodesDir (examples/go, examples/python): the trees have the map's modes.
 */
export function nodeFilesSinkChecks(ctx: Ctx, name: string): MoreChecks {
    const nodesDir = path.join(ctx.work, `${name}-nodes`);
    return {
        config: { nodesDir },
        afterFirstUp: (outputs) => {
            const nodeFiles = outputs.nodeFiles as NodeFiles;
            const problems = checkModes(nodesDir, nodeFiles);
            ctx.suite.check(
                `${name}: the program's NodeFiles sinks (served by the component package) wrote every file of both nodes with its mode`,
                Object.keys(nodeFiles ?? {}).length === 2 && problems.length === 0,
                problems.join("\n"),
            );
        },
    };
}

export async function upAndCheckPackageConsumer(ctx: Ctx, name: string, dir: string, apiPort: number, env: Record<string, string>, signal: AbortSignal, more: MoreChecks = {}) {
    const s = ctx.suite;
    const ws = await workspace({ workDir: dir, backendUrl: ctx.ws.envVars.PULUMI_BACKEND_URL, pulumiHome: ctx.env.PULUMI_HOME!, env: ctx.env });
    Object.assign(ws.envVars, OFFLINE_PLUGINS, env);
    const stack = await Stack.create(name, ws);
    const extra = Object.fromEntries(Object.entries(more.config ?? {}).map(([k, v]) => [k, { value: v }]));
    await stack.setAllConfig({ clusterName: { value: name }, bindPort: { value: String(apiPort) }, endpoint: { value: `127.0.0.1:${apiPort}` }, ...extra });
    try {
        let started = Date.now();
        const res = await pulumiOp(`up-${name}`, signal, (o) => stack.up(o));
        s.info(`${name}: pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(res.summary.resourceChanges)}`);
        s.check(`${name}: pulumi up succeeded`, res.summary.result === "succeeded", JSON.stringify(res.summary));
        const outputs = plainOutputs(res.outputs);
        more.afterFirstUp?.(outputs);
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
        s.check(`${name}: kubePkiMemory output from the component's memory`, memoryFromOutput(outputs.kubePkiMemory?.pki).rotationState?.ca?.phase === "none", JSON.stringify(outputs.kubePkiMemory).slice(0, 300));

        // the component remembers through the package boundary: stage → promote → distrust from the program's config
        for (const [phase, certs, generation] of [["stage", 2, 0], ["promote", 2, 1], ["distrust", 1, 1]] as const) {
            await stack.setConfig("caPhase", { value: phase });
            started = Date.now();
            const r = await pulumiOp(`up-${name}-${phase}`, signal, (o) => stack.up(o));
            const out = plainOutputs(r.outputs);
            const bundle = String((out.nodeFiles as NodeFiles)["cp-1"]["etc/kubernetes/pki/ca.crt"].content);
            const state = memoryFromOutput(out.kubePkiMemory?.pki).rotationState?.ca; // a Python program exports snake_case field names
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

/** The CLI's version (tools/versions.env PULUMI_VERSION): the Go consumer requires the pulumi Go SDK of that version. */
export function pulumiVersion(): string {
    const m = /^PULUMI_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(REPO_DIR, "tools/versions.env"), "utf8"));
    if (!m) throw new Error("tools/versions.env: no PULUMI_VERSION");
    return m[1];
}
