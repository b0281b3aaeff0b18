/**
 * Rollout, unit: the per-node plan from old vs new hashes (who reads what), the waves, the config's refusals
 * (each naming its key), the reload programs (run by the real /bin/sh against a temp tree) and the gate's
 * refusal of a served certificate that is not the delivered one (a real TLS server, real X.509 from openssl).
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { FILE_READERS, LEAVES, CAS, SERVICE_ACCOUNT_KEY } from "../components/catalog";
import { describePlan, nodePlan, rolloutWaves } from "../components/rollout/plan";
import { resolveRollout } from "../components/rollout/config";
import { DEFAULT_RELOAD, parseReload, reloadCommand, reloadProgram } from "../components/rollout/reload";
import { apiserverGate, runGate, gateHooks } from "../components/rollout/gates";
import { rolloutArgsFor } from "../components/sinks/remote-config";

const H = (c: string) => c.repeat(64);
const P = "etc/kubernetes/pki/";

describe("rollout: who reads what and the per-node plan", () => {
    it("every FILE_READERS path is a file of the catalog (no typo can silently restart nothing)", () => {
        const files = new Set<string>([
            ...CAS.flatMap((c) => [`${c.file}.crt`, `${c.file}.key`, ...(c.signingCertFile ? [c.signingCertFile] : [])]),
            ...LEAVES.flatMap((l) => (l.file ? [`${l.file}.crt`, `${l.file}.key`] : l.kubeconfig ? [l.kubeconfig] : [])),
            SERVICE_ACCOUNT_KEY.keyFile,
            SERVICE_ACCOUNT_KEY.publicKeyFile,
        ]);
        for (const rel of Object.keys(FILE_READERS)) assert.ok(files.has(rel), `${rel} is not a catalog file`);
    });

    it("etcd/ca.crt changed: etcd and kube-apiserver restart (they do not reload a CA bundle)", () => {
        const old = { [`${P}etcd/ca.crt`]: H("a"), [`${P}apiserver.crt`]: H("b") };
        const p = nodePlan("cp-2", old, { [`${P}etcd/ca.crt`]: H("c"), [`${P}apiserver.crt`]: H("b") });
        assert.deepEqual(p.restarts.map((r) => r.component), ["etcd", "kube-apiserver"]);
        assert.equal(describePlan(p, "wave 2/3"), "cp-2 (wave 2/3): restart etcd (pki/etcd/ca.crt changed); restart kube-apiserver (pki/etcd/ca.crt changed)");
    });

    it("a leaf renewal: serving certs reload by themselves, the embedded kubeconfigs restart their component", () => {
        const files = [`${P}apiserver.crt`, `${P}apiserver.key`, `${P}etcd/server.crt`, "etc/kubernetes/scheduler.conf", "etc/kubernetes/admin.conf"];
        const old = Object.fromEntries(files.map((f) => [f, H("0")]));
        const p = nodePlan("cp-1", old, Object.fromEntries(files.map((f) => [f, undefined])));
        assert.equal(
            describePlan(p),
            "cp-1: restart kube-scheduler (scheduler.conf changes); etcd reloads by itself (pki/etcd/server.crt); kube-apiserver reloads by itself (pki/apiserver.crt, pki/apiserver.key)",
        );
        assert.equal(p.pending, true);
    });

    it("a component that restarts for one file is not also listed as reloading another", () => {
        const p = nodePlan("cp-1", { [`${P}sa.pub`]: H("1"), [`${P}apiserver.crt`]: H("1") }, { [`${P}sa.pub`]: H("2"), [`${P}apiserver.crt`]: H("2") });
        assert.equal(describePlan(p), "cp-1: restart kube-apiserver (pki/sa.pub changed)");
    });

    it("nothing changed, or only files no component reads", () => {
        assert.equal(describePlan(nodePlan("w-1", { a: H("1") }, { a: H("1") })), "w-1: no file changes, nothing to restart");
        assert.match(describePlan(nodePlan("cp-1", { "etc/kubernetes/admin.conf": H("1") }, { "etc/kubernetes/admin.conf": H("2") })), /no component reads what changes \(admin\.conf\)/);
    });

    it("a kubelet.conf change restarts the kubelet (its CA data is read at start)", () => {
        const p = nodePlan("w-1", { "etc/kubernetes/kubelet.conf": H("1") }, { "etc/kubernetes/kubelet.conf": H("2") });
        assert.deepEqual(p.restarts, [{ component: "kubelet", because: ["etc/kubernetes/kubelet.conf"] }]);
    });
});

describe("rollout: order", () => {
    const nodes = [
        { name: "cp-1", role: "control-plane" as const },
        { name: "cp-2", role: "control-plane" as const },
        { name: "cp-3", role: "control-plane" as const },
        ...Array.from({ length: 5 }, (_, i) => ({ name: `w-${i + 1}`, role: "worker" as const })),
    ];
    it("control planes maxUnavailable at a time, then workers in batches", () => {
        assert.deepEqual(rolloutWaves(nodes, 1, 2), [["cp-1"], ["cp-2"], ["cp-3"], ["w-1", "w-2"], ["w-3", "w-4"], ["w-5"]]);
        assert.deepEqual(rolloutWaves(nodes, 2, 10), [["cp-1", "cp-2"], ["cp-3"], ["w-1", "w-2", "w-3", "w-4", "w-5"]]);
    });

    it("rolloutArgsFor: control planes in kube-pki:controlPlanes order, positions, gates only on control planes, per-node reload overrides", () => {
        const f = (cp: boolean) => (cp ? { [`${P}apiserver.crt`]: { content: "x", mode: "0644" }, [`${P}etcd/server.crt`]: { content: "x", mode: "0644" } } : { "etc/kubernetes/kubelet.conf": { content: "x", mode: "0600" } });
        const nodeFiles: any = { "cp-a": f(true), "cp-b": f(true), "w-1": f(false) };
        const settings = resolveRollout({ reload: { kubelet: "systemctl restart kubelet.service" } }).settings!;
        const cfg: any = {
            nodes: { "cp-a": { host: "h", hostKey: "k" }, "cp-b": { host: "h", hostKey: "k", reload: { etcd: "crictl stop x" } }, "w-1": { host: "h", hostKey: "k" } },
            rollout: settings,
            gateTargets: { controlPlanes: { "cp-b": "10.0.0.2", "cp-a": "10.0.0.1" }, apiServerBindPort: 7443 },
        };
        const { waves, args } = rolloutArgsFor(nodeFiles, cfg);
        assert.deepEqual(waves, [["cp-b"], ["cp-a"], ["w-1"]]);
        assert.equal(args["cp-a"].position, "wave 2/3");
        assert.deepEqual(args["cp-a"].gate, { address: "10.0.0.1", apiServerPort: 7443, etcdPort: 2379, etcdMembers: ["cp-b", "cp-a"] });
        assert.equal(args["w-1"].gate, undefined);
        assert.equal(args["cp-b"].reload.etcd, "crictl stop x");
        assert.equal(args["cp-a"].reload.etcd, undefined);
        assert.equal(args["w-1"].reload.kubelet, "systemctl restart kubelet.service");
        assert.equal(args["cp-a"].holdSeconds, 25);
        assert.equal(args["cp-a"].gateTimeoutSeconds, 300);
    });
});

describe("rollout: config refusals name the key", () => {
    const problems = (raw: unknown) => resolveRollout(raw).problems.join("\n");
    it("defaults", () => {
        const s = resolveRollout({}).settings!;
        assert.deepEqual([s.maxUnavailable, s.workerBatchSize, s.gateTimeoutSeconds, s.etcdClientPort, s.staticPodHoldSeconds], [1, 10, 300, 2379, 25]);
    });
    it("bad numbers, durations, components, pools and unknown fields", () => {
        assert.match(problems({ maxUnavailable: 0 }), /kube-pki:rollout\.maxUnavailable: 0 must be a whole number from 1/);
        assert.match(problems({ etcdClientPort: 70000 }), /kube-pki:rollout\.etcdClientPort: 70000/);
        assert.match(problems({ gateTimeout: "soon" }), /kube-pki:rollout\.gateTimeout: "soon" is not a duration \(e\.g\. "25s", "5m", "1h"\)/);
        assert.match(problems({ reload: { etcdd: "x" } }), /kube-pki:rollout\.reload\.etcdd: not a component \(one of etcd, kube-apiserver/);
        assert.match(problems({ reload: { etcd: " " } }), /kube-pki:rollout\.reload\.etcd: must be a non-empty POSIX sh command/);
        assert.match(problems({ poolsRolled: { general: { cax: 1 } } }), /kube-pki:rollout\.poolsRolled\.general\.cax: not a CA id/);
        assert.match(problems({ poolsRolled: { general: { ca: 1 } } }), /kube-pki:rollout\.poolsRolled\.general\.ca: 1 is not a roll confirmation: "stage:<generation>"/);
        assert.match(problems({ poolsRolled: { general: { "etcd-ca": "stage:1" } } }), /poolsRolled\.general\.etcd-ca: only ca reaches pool machines/);
        assert.deepEqual(resolveRollout({ poolsRolled: { general: { ca: "promote:2" } } }).problems, []);
        assert.match(problems({ maxUnavailabel: 2 }), /kube-pki:rollout: .*maxUnavailabel.*\(the fields: maxUnavailable, /);
    });
});

describe("rollout: reload programs (run by /bin/sh against a temp tree)", () => {
    let root: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-reload-"));
        fs.mkdirSync(path.join(root, "cp-1/etc/kubernetes/manifests"), { recursive: true });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
    const run = (command: string, component: any = "etcd") =>
        spawnSync("/bin/sh", ["-c", reloadProgram({ root, node: "cp-1", component, command, holdSeconds: 1 })], { encoding: "utf8" });

    it("the default holds the manifest out of the manifest dir, then puts it back", () => {
        const m = path.join(root, "cp-1/etc/kubernetes/manifests/etcd.yaml");
        fs.writeFileSync(m, "kind: Pod\n");
        // observe the hold: a command that runs the default in the background and looks while it sleeps
        const r = run(`( ${DEFAULT_RELOAD.etcd.replace(/\n/g, "\n")} ) & sleep 0.5; ls {root}/etc/kubernetes/manifests {root}/etc/kubernetes/kube-pki-held; wait`);
        const out = parseReload(r.stdout);
        assert.equal(out.ok, true, r.stdout + r.stderr);
        assert.ok(out.log.includes("etcd.yaml"), `held while sleeping: ${out.log.join(" | ")}`);
        assert.equal(fs.readFileSync(m, "utf8"), "kind: Pod\n");
        assert.deepEqual(fs.readdirSync(path.join(root, "cp-1/etc/kubernetes/kube-pki-held")), []);
    });

    it("a hang-up mid-hold (the SSH session cut, as when `up` is killed) puts the manifest back", async () => {
        const m = path.join(root, "cp-1/etc/kubernetes/manifests/kube-apiserver.yaml");
        fs.writeFileSync(m, "kind: Pod\n");
        const program = reloadProgram({ root, node: "cp-1", component: "kube-apiserver", command: DEFAULT_RELOAD["kube-apiserver"], holdSeconds: 30 });
        const child = spawn("/bin/sh", ["-c", program], { detached: true, stdio: "ignore" });
        const held = path.join(root, "cp-1/etc/kubernetes/kube-pki-held/kube-apiserver.yaml");
        for (let i = 0; i < 100 && !fs.existsSync(held); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(fs.existsSync(held) && !fs.existsSync(m), "the manifest is held");
        const exited = new Promise((r) => child.once("exit", r));
        process.kill(-child.pid!, "SIGHUP");
        await exited;
        // the outer shell is gone at once; the subshell's trap moves the manifest back right after
        for (let i = 0; i < 100 && !fs.existsSync(m); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(fs.existsSync(m) && !fs.existsSync(held), "put back by the trap");
    });

    it("a missing manifest fails naming the file and the key to set", () => {
        const out = parseReload(run(DEFAULT_RELOAD.etcd).stdout);
        assert.equal(out.ok, false);
        assert.match(out.log.join(" "), /no static pod manifest .*cp-1\/etc\/kubernetes\/manifests\/etcd\.yaml: set kube-pki:rollout\.reload\.etcd/);
    });

    it("placeholders are expanded quoted; a failing command reports its exit status", () => {
        const out = parseReload(run(`echo "{node} {component} {hold}"; test -d {root}`, "kube-scheduler").stdout);
        assert.deepEqual(out, { ok: true, log: ["cp-1 kube-scheduler 1"] });
        assert.deepEqual(parseReload(run("exit 7").stdout), { ok: false, error: "etcd exit 7", log: [] });
    });

    it("the node's override wins over the cluster's, which wins over the default", () => {
        assert.equal(reloadCommand("etcd", { etcd: "a" }, { etcd: "b" }), "b");
        assert.equal(reloadCommand("etcd", { etcd: "a" }), "a");
        assert.equal(reloadCommand("kubelet", {}), "systemctl restart kubelet");
    });
});

describe("rollout: the apiserver gate refuses a served certificate that is not the delivered one", function () {
    this.timeout(60_000);
    it("names the node, the check and what is served; passes once the delivered cert is served", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-gate-"));
        const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=kubernetes", "-days", "2"]);
        fs.writeFileSync(path.join(dir, "ext"), "subjectAltName=IP:127.0.0.1\n");
        for (const n of ["old", "new"]) {
            o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${n}.key`, "-out", `${n}.csr`, "-subj", "/CN=kube-apiserver"]);
            o(["x509", "-req", "-in", `${n}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${n}.crt`, "-days", "2", "-extfile", "ext"]);
        }
        const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
        let serving = "old";
        const server = https.createServer({ SNICallback: undefined, cert: read("old.crt"), key: read("old.key") }, (_q, s) => void s.writeHead(200).end("ok"));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        const port = (server.address() as any).port;
        const gate = apiserverGate({ node: "cp-3", address: "127.0.0.1", port, bundle: read("ca.crt"), servingCert: read("new.crt") });
        const sleep = gateHooks.sleep;
        gateHooks.sleep = async () => {
            // the "apiserver" picks the delivered certificate up on its next poll
            if (serving === "old") {
                serving = "new";
                server.setSecureContext({ cert: read("new.crt"), key: read("new.key") });
            }
        };
        try {
            const first = await gate.attempt();
            assert.equal(first.ok, false);
            assert.match(first.detail, /serves serial [0-9A-F]+, not after .*, not the delivered pki\/apiserver\.crt \(not reloaded yet\)/);
            assert.match(await runGate(gate, 30, 1), /ready, serving the delivered pki\/apiserver\.crt/);
            gateHooks.sleep = async () => undefined;
            const wrongCa = apiserverGate({ node: "cp-3", address: "127.0.0.1", port, bundle: read("new.crt"), servingCert: read("new.crt") });
            await assert.rejects(runGate(wrongCa, 0.001, 1), /node cp-3: gate "kube-apiserver \/readyz at 127\.0\.0\.1:\d+" did not pass within 0\.001s .*last: .*(signature|issuer|verify|UNABLE)/i);
        } finally {
            gateHooks.sleep = sleep;
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
