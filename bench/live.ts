/**
 * Live comparison (`npm run bench -- --live`, or `ts-node --transpile-only bench/live.ts`): the real engine and tls
 * provider against the tools people use today, for 3 control planes + N workers (default 10), RSA-2048 everywhere.
 *   (a) `pulumi up` of a fresh stack on a file backend in a temp dir (Automation API, the CLI/provider of the
 *       scripts/tools.sh cache, plugins installed offline into a temp PULUMI_HOME);
 *   (b) a no-op `pulumi preview` right after it — must report 0 changes (checked on the change summary);
 *   (c) bench/openssl-equivalent.sh: the same keys, CSRs, certificates and kubeconfigs with the openssl CLI;
 *   (d) `kubeadm init phase certs all` + `kubeadm init phase kubeconfig all` for one control plane, against
 *       openssl-equivalent.sh for the same one-control-plane set (3 CAs, 12 leaves, 5 kubeconfigs, sa).
 * Everything runs in a fresh temp dir (removed at the end unless --keep); nothing touches the checkout's state.
 * Options: --workers <n> (10)  --runs <n> (3; openssl and kubeadm)  --up-runs <n> (1)  --keep  --json <file>
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import Table from "cli-table3";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const PASSPHRASE = "kube-pki-bench-passphrase";
export const CONTROL_PLANES = 3;

export function option(name: string, fallback: string): string {
    const i = process.argv.indexOf(name);
    return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const workers = Number(option("--workers", "10"));
const runs = Number(option("--runs", "3"));
const upRuns = Number(option("--up-runs", "1"));
const keep = process.argv.includes("--keep");

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const secs = (ms: number) => (ms / 1000).toFixed(2);
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

/** A tool's bin dir from the scripts/tools.sh cache, or undefined when it is not built. */
export function toolPath(tool: string): string | undefined {
    try {
        const p = execFileSync("bash", [path.join(PROJECT_DIR, "scripts/tools.sh"), "path", tool], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
        return p && fs.existsSync(p) ? p : undefined;
    } catch {
        return undefined;
    }
}

function timed(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ms: number; stdout: string } {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
    return { ms, stdout: r.stdout };
}

/** Copies the program from `from` into `work` (node_modules linked to this checkout's); returns `work`. */
export function snapshotProgram(from: string, work: string): string {
    fs.mkdirSync(work, { recursive: true });
    for (const rel of ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json", "tsconfig.pulumi.json"]) {
        fs.cpSync(path.join(from, rel), path.join(work, rel), { recursive: true });
    }
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(work, "node_modules"));
    fs.mkdirSync(path.join(work, "stacks"));
    return work;
}

interface Row {
    what: string;
    ms: number[];
    items: string;
    note?: string;
}

/**
 * `upRuns` fresh-stack ups, each followed by its no-op preview and by `afterEach(r)` (the openssl run of the same
 * set: the two alternate, so that load falls on both alike); then one up with PULUMI_SKIP_CHECKPOINTS=true (the
 * engine saves only the final state): the difference to the default up is what the per-step checkpoints cost.
 */
async function pulumiUpAndPreview(tmp: string, pulumiBin: string, rows: Row[], afterEach: (r: number) => void = () => {}): Promise<{ resources: number; stateKb: number } | undefined> {
    // A snapshot of the program (a colleague's edits during the run cannot mix two versions), node_modules linked.
    const work = snapshotProgram(PROJECT_DIR, path.join(tmp, "project"));
    const pulumiHome = path.join(tmp, "pulumi-home");
    const env = { ...process.env, PATH: `${pulumiBin}:${process.env.PATH}`, PULUMI_HOME: pulumiHome, PULUMI_SKIP_UPDATE_CHECK: "true" };
    execFileSync("bash", [path.join(PROJECT_DIR, "scripts/tools.sh"), "install-plugins"], { env, stdio: ["ignore", "ignore", "pipe"] });
    process.env.PATH = env.PATH;
    const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
    const log = path.join(tmp, "pulumi.log");
    const onOutput = (s: string) => fs.appendFileSync(log, s);
    const config = {
        clusterName: "bench",
        controlPlaneEndpoint: "api.bench.example:6443",
        controlPlanes: JSON.stringify(
            Array.from({ length: CONTROL_PLANES }, (_, i) => ({ name: `cp-${i + 1}`, advertiseAddress: `10.0.0.${11 + i}` })),
        ),
        workers: JSON.stringify(Array.from({ length: workers }, (_, i) => ({ name: `worker-${i}`, addresses: [`10.0.1.${i + 1}`] }))),
    };
    const up: number[] = [];
    const preview: number[] = [];
    let resources = 0;
    let stateKb = 0;
    let previewSummary = "";
    const finalOnly: number[] = [];
    for (let r = 0; r <= upRuns; r++) {
        const skipCheckpoints = r === upRuns;
        const backend = path.join(tmp, `state-${r}`);
        fs.mkdirSync(backend);
        const ws = await LocalWorkspace.create({
            workDir: work,
            pulumiHome,
            pulumiCommand,
            envVars: {
                PULUMI_BACKEND_URL: `file://${backend}`,
                PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                PULUMI_HOME: pulumiHome,
                PATH: env.PATH,
                ...(skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {}),
            },
        });
        const stack = await Stack.create(`bench-${r}`, ws);
        await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [`kube-pki:${k}`, { value: v }])));
        let t0 = process.hrtime.bigint();
        const result = await stack.up({ onOutput, color: "never" });
        if (skipCheckpoints) {
            finalOnly.push(Number(process.hrtime.bigint() - t0) / 1e6);
            break;
        }
        up.push(Number(process.hrtime.bigint() - t0) / 1e6);
        resources = result.summary.resourceChanges?.create ?? 0;
        t0 = process.hrtime.bigint();
        const pre = await stack.preview({ onOutput, color: "never" });
        preview.push(Number(process.hrtime.bigint() - t0) / 1e6);
        // "read" is the StackReference to the stack's own previous outputs (rotation state): a read, not a change.
        const changes = Object.entries(pre.changeSummary).filter(([op, n]) => op !== "same" && op !== "read" && n > 0);
        if (changes.length) throw new Error(`the preview after up is not a no-op: ${JSON.stringify(pre.changeSummary)} (log: ${log})`);
        previewSummary = JSON.stringify(pre.changeSummary);
        const stateFile = path.join(backend, ".pulumi", "stacks", "kube-pki", `bench-${r}.json`);
        if (fs.existsSync(stateFile)) stateKb = fs.statSync(stateFile).size / 1024;
        afterEach(r);
    }
    rows.push({ what: `pulumi up (fresh stack, ${CONTROL_PLANES} cp + ${workers} workers)`, ms: up, items: `${resources} resources created` });
    rows.push({ what: "pulumi preview right after (no-op)", ms: preview, items: `0 changes (checked): ${previewSummary}` });
    rows.push({ what: "pulumi up, final checkpoint only (PULUMI_SKIP_CHECKPOINTS)", ms: finalOnly, items: "where the time goes: the default up minus this is the per-step checkpoints" });
    return { resources, stateKb };
}

function kubeadmCerts(tmp: string, kubeadmBin: string, rows: Row[]) {
    const kubeadm = path.join(kubeadmBin, "kubeadm");
    const certs: number[] = [];
    const kubeconfigs: number[] = [];
    let files = "";
    for (let r = 0; r < runs; r++) {
        const dir = path.join(tmp, `kubeadm-${r}`);
        fs.mkdirSync(path.join(dir, "kubeconfig"), { recursive: true });
        const cfg = path.join(dir, "kubeadm.yaml");
        // kubeadm refuses a loopback advertise address: 192.0.2.10 (TEST-NET-1). No CRI, no network: every value
        // kubeadm would otherwise detect or fetch is given.
        fs.writeFileSync(
            cfg,
            [
                "apiVersion: kubeadm.k8s.io/v1beta4",
                "kind: InitConfiguration",
                "localAPIEndpoint: { advertiseAddress: 192.0.2.10, bindPort: 6443 }",
                "nodeRegistration: { name: cp-1, criSocket: unix:///var/run/containerd/containerd.sock }",
                "---",
                "apiVersion: kubeadm.k8s.io/v1beta4",
                "kind: ClusterConfiguration",
                "clusterName: bench",
                `kubernetesVersion: ${kubeadmVersion(kubeadm)}`,
                "controlPlaneEndpoint: api.bench.example:6443",
                `certificatesDir: ${path.join(dir, "pki")}`,
                "encryptionAlgorithm: RSA-2048",
                "",
            ].join("\n"),
        );
        certs.push(timed(kubeadm, ["init", "phase", "certs", "all", "--config", cfg]).ms);
        kubeconfigs.push(timed(kubeadm, ["init", "phase", "kubeconfig", "all", "--config", cfg, "--kubeconfig-dir", path.join(dir, "kubeconfig")]).ms);
        const count = (d: string, ext: string) =>
            (fs.readdirSync(d, { recursive: true }) as string[]).filter((f) => f.endsWith(ext)).length;
        files = `${count(path.join(dir, "pki"), ".crt")} certs + ${count(path.join(dir, "pki"), ".key")} keys, ${count(path.join(dir, "kubeconfig"), ".conf")} kubeconfigs`;
    }
    rows.push({ what: "kubeadm init phase certs all (1 cp)", ms: certs, items: files.split(",")[0] });
    rows.push({ what: "kubeadm init phase kubeconfig all (1 cp)", ms: kubeconfigs, items: files.split(",")[1].trim() });
    rows.push({ what: "kubeadm certs + kubeconfig (1 cp)", ms: certs.map((c, i) => c + kubeconfigs[i]), items: files });
}

function kubeadmVersion(kubeadm: string): string {
    return execFileSync(kubeadm, ["version", "-o", "short"], { encoding: "utf8" }).trim();
}

/** openssl-equivalent.sh runs: `done` (taken between the ups) topped up to `runs`; one row. */
function openssl(tmp: string, label: string, w: number, cps: number, rows: Row[], done: { ms: number; items: string }[] = []) {
    const samples = [...done];
    while (samples.length < runs) samples.push(opensslOnce(tmp, label, w, cps, samples.length));
    rows.push({ what: `openssl-equivalent.sh (${cps} cp + ${w} workers)`, ms: samples.map((x) => x.ms), items: samples[samples.length - 1]?.items ?? "" });
}

function opensslOnce(tmp: string, label: string, w: number, cps: number, r: number): { ms: number; items: string } {
    const res = timed("bash", [path.join(PROJECT_DIR, "bench/openssl-equivalent.sh"), path.join(tmp, `openssl-${label}-${r}`), String(w), String(cps)]);
    return { ms: res.ms, items: res.stdout.trim().split("\n").pop() ?? "" };
}

async function main() {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-live-"));
    const rows: Row[] = [];
    const notes: string[] = [];
    /** up_i / openssl_i of the interleaved pairs */
    const pairs: number[] = [];
    const loadBefore = loadavg();
    let live: { resources: number; stateKb: number } | undefined;
    try {
        const pulumiBin = toolPath("pulumi");
        const between: { ms: number; items: string }[] = [];
        if (pulumiBin && toolPath("pulumi-resource-tls")) {
            live = await pulumiUpAndPreview(tmp, pulumiBin, rows, (r) => between.push(opensslOnce(tmp, "cluster", workers, CONTROL_PLANES, r)));
            pairs.push(...rows[0].ms.map((ms, i) => ms / between[i].ms));
        } else notes.push("pulumi / pulumi-resource-tls not built (scripts/tools.sh build): (a) and (b) skipped");
        openssl(tmp, "cluster", workers, CONTROL_PLANES, rows, between);
        const kubeadmBin = toolPath("kubernetes");
        if (kubeadmBin) {
            openssl(tmp, "one-cp", 0, 1, rows);
            kubeadmCerts(tmp, kubeadmBin, rows);
        } else notes.push("kubeadm not built (scripts/tools.sh build kubernetes): (d) skipped");
    } finally {
        if (keep) notes.push(`kept: ${tmp}`);
        else fs.rmSync(tmp, { recursive: true, force: true });
    }
    const loadAfter = loadavg();

    const at = (prefix: string) => rows.find((r) => r.what.startsWith(prefix));
    const m = (r?: Row) => (r ? median(r.ms) : NaN);
    console.log(`kube-pki live comparison: RSA-2048, ${CONTROL_PLANES} control planes + ${workers} workers; median of the runs`);
    console.log(`machine: nproc ${os.availableParallelism?.() ?? os.cpus().length}, ${os.cpus()[0]?.model}, Node ${process.version}; load ${loadBefore} before, ${loadAfter} after`);
    const table = new Table({ head: ["what", "runs", "wall time, median (min–max)", "produces"], style: { head: [], border: [] } });
    for (const r of rows) {
        table.push([r.what, String(r.ms.length), `${secs(median(r.ms))} s (${secs(Math.min(...r.ms))}–${secs(Math.max(...r.ms))})`, r.items]);
    }
    console.log(table.toString());
    const ratios: string[] = [];
    const up = at("pulumi up");
    const pre = at("pulumi preview");
    const osl = at(`openssl-equivalent.sh (${CONTROL_PLANES} cp`);
    const osl1 = at("openssl-equivalent.sh (1 cp");
    const kadm = at("kubeadm certs + kubeconfig");
    if (up && osl) ratios.push(`pulumi up / openssl script (same set): ×${(m(up) / m(osl)).toFixed(2)}${pairs.length ? `; interleaved pairs ${pairs.map((p) => `×${p.toFixed(2)}`).join(" ")}, median ×${median(pairs).toFixed(2)}` : ""}`);
    const fin = at("pulumi up, final checkpoint only");
    if (up && fin && fin.ms.length) ratios.push(`per-step checkpoints: ${secs(m(up) - m(fin))} s of the up (up with the final checkpoint only: ×${(m(fin) / m(up)).toFixed(2)} of the default)`);
    if (pre && up) ratios.push(`no-op preview / up: ×${(m(pre) / m(up)).toFixed(2)}`);
    if (pre && osl) ratios.push(`no-op preview / openssl script: ×${(m(pre) / m(osl)).toFixed(2)}`);
    if (kadm && osl1) ratios.push(`openssl script / kubeadm (same one-control-plane set): ×${(m(osl1) / m(kadm)).toFixed(2)}`);
    if (kadm && osl1 && up && osl) {
        // Scale kubeadm's one-cp time by the certificate counts (kubeadm has no multi-node mode; it is per node).
        const perLeafKubeadm = m(kadm) / 12;
        const leaves = CONTROL_PLANES * 10 + 2 + workers;
        ratios.push(`pulumi up / kubeadm scaled to the same ${leaves} leaves (${perLeafKubeadm.toFixed(0)} ms per leaf): ×${(m(up) / (perLeafKubeadm * leaves)).toFixed(2)}`);
    }
    if (live) ratios.push(`state file after up: ${live.stateKb.toFixed(0)} KiB`);
    console.log([...ratios, ...notes].map((s) => `  - ${s}`).join("\n"));
    const jsonFile = option("--json", "");
    if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ workers, runs, loadBefore, loadAfter, rows, ratios, notes, live }, null, 2));
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
