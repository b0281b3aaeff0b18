/**
 * Step consumer-git: kube-pki installed the way a platform team shares it, `pulumi package add <git URL>`, from a git
 * server over HTTPS (git-https.ts: `git http-backend` behind a loopback TLS server with a CA made for the step, trusted
 * through GIT_SSL_CAINFO for git and SSL_CERT_FILE for the CLI's go-git). The repository served is this checkout as a
 * clone has it (no node_modules, no dist/), tagged v0.1.0; the CLI clones it, installs provider/ (npm install with dev
 * dependencies, TypeScript builds dist/) and runs it for the schema. Then the Pulumi YAML program examples/yaml
 * (copied as it is) `up`s: its kubeconfigs and cloud-init outputs are secret, no key is in plain text in the state,
 * the package's NodeFiles component (served by the provider process, not a Node.js dynamic provider) writes each
 * node's tree with the map's contents and modes, kubeadm reads cp-1's tree, a second preview changes nothing, and
 * destroy removes the trees.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { publishCheckout, startGitHttps } from "./git-https";
import { checkExpiration } from "./kubeadm";
import { freePort, run, runOk } from "./procs";
import { exportEncrypted, isSelfRead, NodeFiles, Op, plainOutputs, pulumiOp, recordOps, REPO_DIR, workspace } from "./pulumi";
import { Ctx, kubeadmParams } from "./steps";
import { checkModes } from "./tree";

/** See consumer.ts: offline, the engine must not install every Pulumi package our Node.js host names. */
const OFFLINE_PLUGINS = { KUBE_PKI_LANGHOST_SKIP_REQUIRED_PLUGINS: "true" };

/** Candidate loopback addresses for the server's port 443 (several engineers' runs may share the machine). */
function loopbackIps(): string[] {
    const b = crypto.randomBytes(8);
    return [0, 2, 4, 6].map((i) => `127.${100 + (b[i] % 100)}.${b[i + 1]}.${1 + (b[i] % 250)}`);
}

/** Every file of the node trees under `root` differing in content from the nodeFiles output. */
function contentProblems(root: string, nodeFiles: NodeFiles): string[] {
    const problems: string[] = [];
    for (const [node, files] of Object.entries(nodeFiles)) {
        for (const [rel, f] of Object.entries(files)) {
            const file = path.join(root, node, rel);
            if (!fs.existsSync(file)) problems.push(`${node}/${rel}: missing`);
            else if (fs.readFileSync(file, "utf8") !== f.content) problems.push(`${node}/${rel}: content differs from the nodeFiles output`);
        }
    }
    return problems;
}

export async function stepConsumerGit(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const gitRoot = path.join(ctx.work, "git-server");
    fs.mkdirSync(gitRoot, { recursive: true, mode: 0o700 });
    const git = async (args: string[], cwd: string) => (await runOk("git", args, { cwd, env: ctx.env, log: "consumer-git-git", signal })).stdout;
    const version = JSON.parse(fs.readFileSync(path.join(REPO_DIR, "package.json"), "utf8")).version as string;
    await publishCheckout(git, REPO_DIR, gitRoot, "kube-pki", `v${version}`);
    const server = await startGitHttps(gitRoot, loopbackIps(), path.join(ctx.work, "git-ca.crt"), ctx.env);
    const tlsEnv = { GIT_SSL_CAINFO: server.caFile, SSL_CERT_FILE: server.caFile };
    try {
        const host = new URL(server.url).host;
        const ls = await run("git", ["ls-remote", `${server.url}/kube-pki.git`], { env: { ...ctx.env, ...tlsEnv }, log: "consumer-git-git", signal });
        s.check(`consumer-git: git ls-remote over HTTPS (CA trusted via GIT_SSL_CAINFO) lists tag v${version}`, ls.code === 0 && ls.stdout.includes(`refs/tags/v${version}`), ls.output.slice(-600));
        const untrusted = await run("git", ["ls-remote", `${server.url}/kube-pki.git`], { env: { ...ctx.env, GIT_SSL_CAINFO: "/dev/null" }, log: "consumer-git-git", signal });
        s.check("consumer-git: without the step's CA the server is refused (real TLS, not plain HTTP)", untrusted.code !== 0 && /certificate|SSL/i.test(untrusted.output), untrusted.output.slice(-400));

        // the consumer: examples/yaml, `pulumi package add <git URL>`
        const dir = path.join(ctx.work, "consumer-git");
        fs.mkdirSync(dir, { recursive: true });
        fs.copyFileSync(path.join(REPO_DIR, "examples/yaml/Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const source = `${server.url}/kube-pki.git/provider`;
        const env = { ...ctx.env, ...ctx.ws.envVars, ...OFFLINE_PLUGINS, ...tlsEnv };
        let started = Date.now();
        const add = await run("pulumi", ["package", "add", source, "--non-interactive"], { cwd: dir, env, log: "pulumi-package-add-git", timeoutMs: 900_000, signal });
        s.info(`consumer-git: pulumi package add ${source}: ${((Date.now() - started) / 1000).toFixed(1)} s, ${server.requests.uploadPack} upload-pack request(s)`);
        const projectFile = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
        s.check(
            "consumer-git: pulumi package add <git URL> cloned over HTTPS and recorded the git source in Pulumi.yaml",
            add.code === 0 && server.requests.uploadPack > 0 && projectFile.includes(`kube-pki: ${host}/kube-pki.git/provider`),
            `${add.output.slice(-2500)}\n---\n${projectFile.slice(-300)}`,
        );
        const pluginDir = path.join(ctx.env.PULUMI_HOME!, "plugins", `resource-${host}_kube-pki.git_provider-v${version}`);
        s.check(
            `consumer-git: the plugin is installed as ${path.basename(pluginDir)} (the tag's version) and its install built dist/ with TypeScript`,
            fs.existsSync(path.join(pluginDir, "dist/provider/index.js")) && fs.existsSync(path.join(pluginDir, "dist/provider/sink-resources.js")),
            fs.existsSync(pluginDir) ? fs.readdirSync(pluginDir).join(", ") : `${pluginDir} missing`,
        );

        // up
        const ws = await workspace({ workDir: dir, backendUrl: ctx.ws.envVars.PULUMI_BACKEND_URL, pulumiHome: ctx.env.PULUMI_HOME!, env: ctx.env });
        Object.assign(ws.envVars, OFFLINE_PLUGINS, tlsEnv);
        const stack = await Stack.create("consumer-git", ws);
        const apiPort = await freePort();
        await stack.setAllConfig({ clusterName: { value: "consumer-git" }, bindPort: { value: String(apiPort) }, endpoint: { value: `127.0.0.1:${apiPort}` } });
        const nodesDir = path.join(dir, "nodes"); // examples/yaml's default nodesDir, relative to the program
        try {
            started = Date.now();
            const res = await pulumiOp("up-consumer-git", signal, (o) => stack.up(o));
            s.info(`consumer-git: pulumi up ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(res.summary.resourceChanges)}`);
            s.check("consumer-git: pulumi up succeeded", res.summary.result === "succeeded", JSON.stringify(res.summary));
            const outputs = plainOutputs(res.outputs);
            s.check("consumer-git: kubeconfigs and the cloud-init user data are secret stack outputs", res.outputs.kubeconfigs?.secret === true && res.outputs.workerUserData?.secret === true);
            s.check("consumer-git: worker-1 user data is a #cloud-config document", String(outputs.workerUserData).startsWith("#cloud-config"), String(outputs.workerUserData).slice(0, 100));
            const state = JSON.stringify(await exportEncrypted(ws, "consumer-git"));
            const plain = state.split("PRIVATE KEY").length - 1;
            s.check("consumer-git: no private key in plain text in the state (the NodeTree resources hold the contents as one secret)", plain === 0 && state.includes("kube-pki:index:NodeTree"), `${plain} occurrence(s)`);

            // the trees, written by the package's NodeFiles component inside the provider process
            const nodeFiles = outputs.nodeFiles as NodeFiles;
            const problems = [...checkModes(nodesDir, nodeFiles), ...contentProblems(nodesDir, nodeFiles)];
            s.check("consumer-git: kube-pki:index:NodeFiles wrote cp-1's and worker-1's trees: every file with the output's content and mode", Object.keys(nodeFiles).length === 2 && problems.length === 0, problems.join("\n"));
            const hashes = outputs.treeHashes as Record<string, Record<string, string>>;
            const cpCa = fs.readFileSync(path.join(nodesDir, "cp-1/etc/kubernetes/pki/ca.crt"));
            s.check("consumer-git: NodeFiles' hashes output is the sha256 of what is on disk", hashes?.["cp-1"]?.["etc/kubernetes/pki/ca.crt"] === crypto.createHash("sha256").update(cpCa).digest("hex"), JSON.stringify(hashes?.["cp-1"] ?? {}).slice(0, 300));
            const config = { clusterName: "consumer-git", controlPlaneEndpoint: `127.0.0.1:${apiPort}`, apiServerBindPort: apiPort, controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }] };
            await checkExpiration(s, "consumer-git cp-1 (tree written by NodeFiles)", path.join(nodesDir, "cp-1"), kubeadmParams(ctx, config), { leafHours: 8760, caHours: 87600 }, ctx.env);

            // a second preview: nothing changes (the NodeTree resources see no drift)
            const ops: Op[] = [];
            await pulumiOp("preview-consumer-git", signal, (o) => stack.preview({ ...o, onEvent: recordOps(ops) }));
            const changed = ops.filter((o) => o.op !== "same" && !isSelfRead(o));
            s.check("consumer-git: second preview: nothing changes", changed.length === 0, changed.map((c) => `${c.op} ${c.urn}`).join("\n"));
        } finally {
            if (!process.argv.includes("--keep")) {
                const d = await pulumiOp("destroy-consumer-git", signal, (o) => stack.destroy(o)).catch((e: Error) => e);
                const left = fs.existsSync(nodesDir) ? fs.readdirSync(nodesDir, { recursive: true }).filter((f) => fs.statSync(path.join(nodesDir, String(f))).isFile()) : [];
                s.check("consumer-git: pulumi destroy succeeded and removed every file NodeFiles wrote", !(d instanceof Error) && d.summary.result === "succeeded" && left.length === 0, d instanceof Error ? d.message : left.join(", "));
                await stack.workspace.removeStack("consumer-git");
            }
        }
    } finally {
        await server.stop();
    }
}
