/**
 * `npm run e2e`: the live proof. The real Pulumi engine (Automation API, file backend, tls provider) creates
 * kube-pki stacks; kubeadm, etcd and kube-apiserver (built by scripts/tools.sh) run on 127.0.0.1 against the
 * node trees it generates. See e2e/README.md for the steps.
 *
 *   npm run e2e [-- --keep] [-- --only up,boot,identities]
 *
 * Prints the time of each step and ends with `E2E: N passed, M failed`; exits 1 on any failure.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { Suite } from "./harness";
import { killAll, killAllSync, runOk, setLogDir, which } from "./procs";
import { installPlugins, snapshotProject, toolsEnv, workspace } from "./pulumi";
import { stepConsumerGo } from "./consumer/go";
import { stepConsumerJs } from "./consumer/js";
import { stepConsumerPath } from "./consumer/path";
import { stepConsumerPython } from "./consumer/python";
import { stepConsumerYaml } from "./consumer/yaml";
import { stepConsumerGit } from "./consumer-git";
import { stepControllers } from "./controllers";
import { stepPools } from "./pools";
import { stepFirstHour } from "./first-hour";
import { stepFaults } from "./faults";
import { stepUpgrade } from "./upgrade";
import { stepDelivery } from "./delivery";
import { stepRollout } from "./ha-rollout/step";
import { stepPolicy } from "./policy";
import { stepHa } from "./ha";
import { stepCaRotation } from "./rotation";
import { stepSecretsSink } from "./secrets-sink";
import { stepVault } from "./vault";
import { stepMultiStack } from "./multi-stack";
import { stepTeam } from "./team";
import * as steps from "./steps";

type StepFn = (ctx: steps.Ctx, signal: AbortSignal) => Promise<void>;

interface StepDef {
    name: string;
    title: string;
    limitS: number;
    needs: string[];
    fn: StepFn;
    /** Run only when named in --only, for this reason (printed by --list). */
    optIn?: string;
}

const STEPS: StepDef[] = [
    { name: "up", title: "pulumi up of stack e2e (1 control plane, 2 workers, user alice)", limitS: 600, needs: [], fn: steps.stepUp },
    { name: "preview", title: "second pulumi preview: no changes", limitS: 300, needs: ["up"], fn: steps.stepPreview },
    { name: "secrets", title: "pulumi stack export: no plaintext key or kubeconfig", limitS: 120, needs: ["up"], fn: (c) => steps.stepSecrets(c) },
    { name: "kubeadm", title: "kubeadm accepts the trees untouched", limitS: 600, needs: ["up"], fn: steps.stepKubeadm },
    { name: "boot", title: "etcd + kube-apiserver from the cp-1 tree", limitS: 300, needs: ["up"], fn: steps.stepBoot },
    { name: "identities", title: "every kubeconfig's identity, RBAC, front proxy, negatives", limitS: 300, needs: ["boot"], fn: (c) => steps.stepIdentities(c) },
    { name: "controllers", title: "kube-controller-manager and kube-scheduler from the tree: leader Leases, CSR signing with ca.key, root CA publishing", limitS: 300, needs: ["boot"], fn: stepControllers },
    { name: "secrets-sink", title: "Secrets sink through the real kubernetes provider: create, verify with kubectl, rotate in place, remove", limitS: 600, needs: ["boot", "identities"], fn: stepSecretsSink },
    { name: "fidelity", title: "tls emulator vs the real tls provider", limitS: 300, needs: ["up"], fn: steps.stepFidelity },
    { name: "multi-stack", title: "root stack + cluster stack under it by CSR (4 runs: root, cluster CSRs, root signs, cluster), booted", limitS: 900, needs: [], fn: stepMultiStack },
    { name: "team", title: "a team on a PostgreSQL backend: root (Vault transit secrets) + staging + prod (own passphrases) by CSR, least privilege, concurrent up, check-expiration, destroy guard, prod CA rotation", limitS: 900, needs: [], fn: stepTeam },
    { name: "ha", title: "three control planes on 127.0.0.1-3: 3-member etcd over peer mTLS, three apiservers, per-node kubelet.conf", limitS: 420, needs: [], fn: stepHa },
    { name: "ca-rotation", title: "CA and SA-key rotation live: ca, etcd-ca, front-proxy-ca, sa through stage → promote → distrust", limitS: 600, needs: [], fn: stepCaRotation },
    { name: "first-hour", title: "the npm scripts as a new user meets them: own passphrase, wrong passphrase, planted mistakes, output length, npm run pulumi, check-expiration --json", limitS: 900, needs: [], fn: stepFirstHour },
    { name: "faults", title: "faults: kill -9 during node-file writes, engine-only kill, cross-node symlink, drift, root-stack destroy", limitS: 900, needs: [], fn: stepFaults },
    { name: "upgrade", title: "a per-node stack made by an earlier commit's program (git archive): this checkout's preview creates, deletes and replaces nothing, its up leaves every node file byte-identical, the outputs name the trees instead of repeating them, a quiet preview", limitS: 900, needs: [], fn: stepUpgrade },
    { name: "delivery", title: "node trees over SSH to real OpenSSH servers (root and a sudo user): equal to the local sink, one-node rotation, drift, host key / unreachable / auth / permission / disk-full / cut faults, kubeadm reads the tree, destroy", limitS: 900, needs: [], fn: stepDelivery },
    { name: "rollout", title: "a rotation rolls through a live HA control plane by pulumi up alone: three machines behind real sshd and HAProxy, supervisors as their kubelets, a leaf renewal, a gate failure and its recovery, stage → promote → distrust of every CA, a never-paused prober with every credential: 0 failed", limitS: 1200, needs: [], fn: stepRollout },
    { name: "consumer-js", title: "a JavaScript Pulumi program installs the npm tarball: ClusterPki + NodeFiles up, kubeadm reads the tree, apiserver boots, stage → promote → distrust from its own config", limitS: 900, needs: [], fn: stepConsumerJs },
    { name: "consumer-path", title: "the TypeScript example installed from a checkout's path (`npm install @pulumi/pulumi @pulumi/tls typescript ts-node <checkout>`, a symlink, no flags): up, files, a quiet second preview", limitS: 600, needs: [], fn: stepConsumerPath },
    { name: "consumer-yaml", title: "the component package: pulumi package get-schema; a Pulumi YAML program runs pulumi package add and up with kube-pki:index:ClusterPki; kubeadm reads its tree", limitS: 900, needs: [], fn: stepConsumerYaml },
    { name: "consumer-go", title: "a Go program runs pulumi package add (the Go language host generates the kubepki SDK) and up with kubepki.NewClusterPki; kubeadm reads its tree; stage → promote → distrust", limitS: 1200, needs: [], fn: stepConsumerGo },
    { name: "consumer-python", title: "a Python program in a virtualenv (pulumi pinned to the CLI) runs pulumi package add (our Python language host generates and pip-installs the kube_pki SDK) and up with ClusterPki + NodeFiles; kubeadm reads its tree; stage → promote → distrust", limitS: 1200, needs: [], fn: stepConsumerPython },
    { name: "consumer-git", title: "pulumi package add <git URL> from a loopback HTTPS git server (git http-backend, the step's CA); the YAML example ups: secret outputs, kube-pki:index:NodeFiles writes the trees kubeadm reads, a quiet second preview, destroy removes them", limitS: 1500, needs: [], fn: stepConsumerGit },
    { name: "policy", title: "CrossGuard pack policy/: a weak tls program fails naming each violation; the dev stack passes preview and up", limitS: 900, needs: [], fn: stepPolicy },
    { name: "pools", title: "worker pool by TLS bootstrap: bootstrap-token Secret + RBAC + cluster-info through the Secrets sink, kubeadm token list and join discovery, the real kubelet (rotateCertificates on, against containerd) bootstraps (CSR auto-approved and signed by the controller-manager) and rotates its own client certificate, token rotation and a rotated-out token refused", limitS: 900, needs: [], fn: stepPools },
    { name: "vault", title: "Vault intermediate against a real Vault dev server (through the e2e/vault-bridge.ts mapping): roles, Vault-issued leaves vs the local tree, internal/exported keys, boot + whoami, CA rotation, a refused CN", limitS: 1200, needs: [], fn: stepVault },
];

/** Steps that need only the Pulumi CLI and the tls provider (no kubeadm, etcd or kubernetes provider). */
const ENGINE_ONLY_STEPS = new Set(["faults", "upgrade", "policy", "delivery", "team"]);

class UsageError extends Error {}

function selectSteps(only: string | undefined): Set<string> {
    if (!only) return new Set(STEPS.filter((s) => !s.optIn).map((s) => s.name));
    const wanted = new Set<string>();
    const add = (name: string) => {
        const def = STEPS.find((s) => s.name === name);
        if (!def) throw new UsageError(`--only: unknown step "${name}" (steps: ${STEPS.map((s) => s.name).join(", ")})`);
        def.needs.forEach(add);
        wanted.add(name);
    };
    only.split(",").map((s) => s.trim()).filter(Boolean).forEach(add);
    return wanted;
}

async function main() {
    const program = new Command("e2e")
        .description("Live end-to-end proof of kube-pki: real Pulumi engine, kubeadm, etcd and kube-apiserver on 127.0.0.1")
        .option("--keep", "keep the temp dir (state, trees, logs) and the stacks (no destroy)")
        .option("--only <steps>", `comma-separated steps (and what they need): ${STEPS.map((s) => s.name).join(", ")}`)
        .option("--timeout-scale <factor>", "multiply every step's time limit (slow machines)", parseFloat, 1)
        .option("--list", "print the steps in order (name, time limit, what it needs, what it proves) and exit")
        .parse();
    const opts = program.opts<{ keep?: boolean; only?: string; timeoutScale: number; list?: boolean }>();
    if (opts.list) {
        // The one list of steps: the docs point here instead of keeping their own copy.
        console.log("0. setup: toolchain, project snapshot, file backend");
        for (const [i, s] of STEPS.entries()) {
            const notes = [`${s.limitS} s`, ...(s.needs.length ? [`needs ${s.needs.join(", ")}`] : []), ...(ENGINE_ONLY_STEPS.has(s.name) ? ["pulumi + tls provider only"] : []), ...(s.optIn ? [`opt-in (--only ${s.name}): ${s.optIn}`] : [])];
            console.log(`${i + 1}. ${s.name} (${notes.join("; ")}): ${s.title}`);
        }
        console.log(`${STEPS.length + 1}. teardown: pulumi destroy every stack, stop every process`);
        return;
    }
    const limit = (seconds: number) => Math.max(1, Math.round(seconds * opts.timeoutScale)) * 1000;
    const selected = selectSteps(opts.only);

    const suite = new Suite();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-e2e-"));
    fs.chmodSync(tmp, 0o700);
    const logs = path.join(tmp, "logs");
    const work = path.join(tmp, "work");
    fs.mkdirSync(logs);
    fs.mkdirSync(work, { mode: 0o700 });
    setLogDir(logs);
    console.log(`kube-pki e2e: temp dir ${tmp} (logs in ${logs})`);

    const onSignal = (sig: NodeJS.Signals) => {
        console.error(`\n${sig}: stopping every process started by the suite (temp dir kept: ${tmp})`);
        killAllSync();
        process.exit(130);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", killAllSync);

    let ctx: steps.Ctx | undefined;
    await suite.step("setup", "0. toolchain, project snapshot, file backend", limit(300), async () => {
        const clusterTools = [...selected].some((s) => !ENGINE_ONLY_STEPS.has(s));
        const env = await toolsEnv([
            ...(clusterTools ? ["pulumi", "kubernetes", "etcd", "pulumi-language-yaml", "pulumi-language-go", "pulumi-language-python"] : ["pulumi", "pulumi-resource-tls"]),
            ...(selected.has("pools") || selected.has("rollout") ? ["kubelet"] : []),
            ...(selected.has("delivery") && !clusterTools ? ["kubernetes"] : []),
            ...(selected.has("vault") || selected.has("team") ? ["vault"] : []),
        ]);
        const pulumiHome = path.join(tmp, "pulumi-home");
        fs.mkdirSync(pulumiHome, { mode: 0o700 });
        env.PULUMI_HOME = pulumiHome;
        // the engine's and plugins' temp files (the kubernetes provider's kubeconfig copies) stay inside the run's dir
        env.TMPDIR = path.join(tmp, "engine-tmp");
        fs.mkdirSync(env.TMPDIR, { mode: 0o700 });
        delete env.PULUMI_IGNORE_AMBIENT_PLUGINS;
        delete env.KUBECONFIG;
        // the Automation API finds `pulumi` on this process's PATH
        process.env.PATH = env.PATH;
        delete process.env.PULUMI_IGNORE_AMBIENT_PLUGINS;
        const clusterBins = ["kubeadm", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "etcdctl"];
        for (const bin of ["pulumi", "openssl", ...(clusterTools ? clusterBins : [])]) which(bin, env);
        // the engine-only steps find the tls provider on PATH (an ambient plugin); the others install both providers
        if (clusterTools) await installPlugins(env);
        const stateDir = path.join(tmp, "state");
        fs.mkdirSync(stateDir, { mode: 0o700 });
        const projectDir = snapshotProject(path.join(tmp, "project"));
        const ws = await workspace({ workDir: projectDir, backendUrl: `file://${stateDir}`, pulumiHome, env });
        const versions = await Promise.all([
            runOk("pulumi", ["version"], { env, log: "versions" }),
            ...(clusterTools
                ? [
                      runOk("kubeadm", ["version", "-o", "short"], { env, log: "versions" }),
                      runOk("etcd", ["--version"], { env, log: "versions" }),
                      runOk("kube-apiserver", ["--version"], { env, log: "versions" }),
                  ]
                : []),
        ]);
        const [pulumiV, kubeadmV = "(not needed)", etcdV = "", apiV = ""] = versions.map((v) => v.stdout.trim().split("\n")[0]);
        suite.info(`pulumi ${pulumiV}, kubeadm ${kubeadmV}, ${apiV}, ${etcdV}`);
        suite.info(`project snapshot ${projectDir}, backend file://${stateDir}`);
        ctx = { suite, work, projectDir, env, ws, kubernetesVersion: kubeadmV, stacks: [] };
    });

    // Steps are numbered by their place in STEPS (the e2e README's table follows the same order).
    const numbered = (def: StepDef) => `${STEPS.indexOf(def) + 1}. ${def.title}`;
    for (const def of STEPS) {
        if (!selected.has(def.name)) continue;
        const missing = def.needs.filter((n) => !suite.stepPassed(n));
        if (!ctx) {
            suite.skip(def.name, numbered(def), "setup failed");
        } else if (missing.length) {
            suite.skip(def.name, numbered(def), `needs ${missing.join(", ")}`);
        } else {
            const c = ctx;
            await suite.step(def.name, numbered(def), limit(def.limitS), (signal) => def.fn(c, signal));
        }
        // the first control plane is only needed by the steps that need "boot": stop it after the last of them
        const lastUser = [...STEPS].reverse().find((d) => selected.has(d.name) && (d.name === "boot" || d.needs.includes("boot")));
        if (def.name === lastUser?.name) await ctx?.cp?.stop();
    }
    await ctx?.cp?.stop();

    if (ctx && !opts.keep) {
        const c = ctx;
        await suite.step("teardown", `${STEPS.length + 1}. pulumi destroy every stack, stop every process`, limit(600), (signal) => steps.stepTeardown(c, signal));
    } else if (ctx && opts.keep) {
        suite.skip("teardown", `${STEPS.length + 1}. teardown`, "--keep");
        console.log(
            `inspect: cd ${ctx.projectDir} && PULUMI_HOME=${ctx.env.PULUMI_HOME} PULUMI_BACKEND_URL=file://${tmp}/state ` +
                `PULUMI_CONFIG_PASSPHRASE=kube-pki-e2e-passphrase pulumi stack ls`,
        );
    }
    const leftover = await killAll();
    suite.check("every process the suite started has stopped", leftover.length === 0, `had to kill: ${leftover.join(", ")}`);

    const failed = suite.failed > 0;
    if (opts.keep) {
        console.log(`\nkept: ${tmp}`);
    } else if (failed) {
        for (const entry of fs.readdirSync(tmp)) if (entry !== "logs") fs.rmSync(path.join(tmp, entry), { recursive: true, force: true });
        console.log(`\nlogs kept: ${logs}`);
    } else {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.log(suite.summary());
    process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
    console.error(e instanceof UsageError ? `e2e: ${e.message}` : e);
    killAllSync();
    console.log("E2E: 0 passed, 1 failed");
    process.exit(1);
});
