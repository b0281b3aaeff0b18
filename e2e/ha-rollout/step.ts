/**
 * Step `rollout` (issue 24's proof): a rotation rolls through a live HA control plane, driven by `pulumi up` alone.
 *
 * Three machines cp-1..cp-3 on 127.0.0.1..3, each reached by kube-pki only through its own OpenSSH server
 * (RemoteNodeFiles), each running etcd, kube-apiserver, kube-controller-manager and kube-scheduler from its own
 * delivered tree under its supervisor (machines.ts, supervisor.ts); HAProxy in front (haproxy.ts). The step writes
 * the manifests once (provisioning) and then never copies a file or restarts a component: every restart in the
 * supervisors' logs comes from kube-pki's reload commands. From before the first rotation to after the last, a
 * prober that never pauses sends SelfSubjectReviews through HAProxy with every credential in use, and a poller
 * asks every etcd member for its health. Phases (one `up` each, previewed first; the preview's per-node plan is
 * compared with the restarts that then happened): a renewal of every leaf, a renewal that meets a broken machine
 * (its apiserver's manifest broken: the gate stops the rollout there) and the `up` after healing, then stage →
 * promote → distrust of ca, etcd-ca, front-proxy-ca and sa together. After distrust the old credentials are refused.
 */
import { setMaxListeners } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { freePort, sleep, waitFor } from "../procs";
import { createStack, plainOutputs, pulumiOp, workspace } from "../pulumi";
import { CLUSTER_DOMAIN, Ctx, SERVICE_CIDR } from "../steps";
import { diffFingerprints } from "../tree";
import { keepOld, oldCredentialAnswers, SA, sources, TokenHolder } from "./clients";
import { delivered, failureText, leaseRenewedSince, PhaseTiming, secs, signedBy } from "./checks";
import { HaProxy } from "./haproxy";
import { keygen } from "../sshd";
import { CpMachine, Ports } from "./machines";
import { formatPlan, happened, parseNodePlan } from "./plan";
import { Pool } from "./pool";
import { fileFingerprint, presentedFingerprint, Prober, QuorumPoller } from "./prober";

const STACK = "e2e-rollout";
const NODES = ["cp-1", "cp-2", "cp-3"];
/** the supervisors' manifest poll (a kubelet's fileCheckFrequency, small) and the reloads' hold: 4 polls */
const POLL_MS = 500;
const HOLD = "2s";
/** the gate timeout: long enough for a restart on a loaded machine; the gate-failure phase uses a short one */
const GATE_TIMEOUT = "90s";
const FAILING_GATE_TIMEOUT = "20s";
const CAS = ["ca", "etcd-ca", "front-proxy-ca", "sa"];
const POOL = "general";

export async function stepRollout(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    setMaxListeners(64, signal);
    HaProxy.binary(); // fails first, naming the package, when HAProxy is missing
    const rolloutLib = fs.readFileSync(path.join(ctx.projectDir, "components/settings.ts"), "utf8").includes("\n    rollout: {");
    const base = path.join(ctx.work, "ha-rollout");
    fs.mkdirSync(base, { recursive: true, mode: 0o755 });
    for (let d = base; d !== path.dirname(d); d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o011);
    const clientKey = path.join(base, "client_ed25519");
    await keygen(clientKey, "kube-pki-e2e-rollout");
    const ports: Ports = { apiserver: await freePort(), etcdClient: await freePort(), etcdPeer: await freePort(), controllerManager: await freePort(), scheduler: await freePort() };
    const lbPort = await freePort();
    const all = NODES.map((name, i) => ({ name, address: `127.0.0.${i + 1}` }));
    const machines: CpMachine[] = [];
    for (const n of all) machines.push(new CpMachine(n.name, n.address, base, await freePort(), ports, all, ctx.env, signal, SERVICE_CIDR, CLUSTER_DOMAIN));
    const lb = new HaProxy(path.join(base, "haproxy"), { address: "127.0.0.1", port: lbPort }, machines.map((m) => ({ name: m.name, address: m.address, port: ports.apiserver })));
    const tokens = new TokenHolder(lbPort, path.join(machines[0].cp.kubeconfigDir, "admin.conf"));
    let prober: Prober | undefined;
    let quorum: QuorumPoller | undefined;
    let stack: Stack | undefined;
    let pool: Pool | undefined;
    const timings: PhaseTiming[] = [];
    try {
        for (const m of machines) await m.prepare(`${clientKey}.pub`);
        for (const m of machines) await m.startSshd();
        const remoteNodes = Object.fromEntries(
            machines.map((m) => [m.name, { host: m.address, port: m.ssh.port, user: "root", hostKey: fs.readFileSync(`${m.ssh.hostKeyFile}.pub`, "utf8").trim(), remoteRoot: m.ssh.root }]),
        );
        const config: Record<string, object | string | number> = {
            clusterName: STACK,
            controlPlaneEndpoint: `127.0.0.1:${lbPort}`,
            apiServerBindPort: ports.apiserver,
            controlPlanes: all.map((n) => ({ name: n.name, advertiseAddress: n.address })),
            keyAlgorithm: "ECDSA-P256",
            caKeyAlgorithm: "ECDSA-P256",
            workerPools: [{ name: POOL, tokenTtl: "24h", tokenRenewBefore: "8h" }],
            remoteNodes,
        };
        // these machines have no kubelet (the supervisor runs their static pods): its restart is a no-op that says so
        const rolloutConfig = {
            maxUnavailable: 1,
            gateTimeout: GATE_TIMEOUT,
            etcdClientPort: ports.etcdClient,
            staticPodHold: HOLD,
            reload: { kubelet: "echo 'no kubelet on this machine: the supervisor runs the static pods'" },
        };
        if (rolloutLib) config.rollout = rolloutConfig;
        const ws = await workspace({ workDir: ctx.projectDir, backendUrl: String(ctx.ws.envVars.PULUMI_BACKEND_URL), pulumiHome: String(ctx.env.PULUMI_HOME), env: ctx.env });
        ws.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
        stack = await createStack(ws, STACK, config);
        ctx.stacks.push(stack);
        await stack.setConfig("kube-pki:remoteSshKey", { value: fs.readFileSync(clientKey, "utf8"), secret: true });
        s.info(`machines cp-1..cp-3 on 127.0.0.1..3 (sshd :${machines.map((m) => m.ssh.port).join("/:")}; apiserver :${ports.apiserver}, etcd :${ports.etcdClient}/:${ports.etcdPeer}); HAProxy 127.0.0.1:${lbPort}; rollout config ${rolloutLib ? "present" : "ABSENT (rollout-lib not merged)"}`);

        // --- provisioning: the first up delivers the trees; the manifests and the machines' init come after it
        const t0 = Date.now();
        const first = await pulumiOp(`${STACK}-up`, signal, (o) => stack!.up(o));
        let outputs = plainOutputs(first.outputs);
        s.check(`first up: the three trees delivered over SSH (${secs(Date.now() - t0)} s)`, first.summary.result === "succeeded" && machines.every((m) => fs.existsSync(m.cp.pkiFile("ca.crt"))));
        const tBoot = Date.now();
        for (const m of machines) m.writeManifests(ctx.env);
        for (const m of machines) m.startSupervisor(ctx.projectDir, ctx.env, POLL_MS);
        const superAdmin = path.join(machines[0].cp.kubeconfigDir, "super-admin.conf");
        for (const m of machines) await m.cp.waitEtcdHealthy(180_000);
        for (const m of machines) {
            await waitFor(`${m.name} kube-apiserver /readyz`, async () => {
                const r = await m.cp.kubectl(superAdmin, [`--server=${m.cp.apiserverUrl}`, "get", "--raw", "/readyz"], 15_000);
                return (r.code === 0 && r.stdout.trim() === "ok") || r.output;
            }, { timeoutMs: 180_000, intervalMs: 1000, daemon: m.supervisor, signal });
        }
        s.check(`boot: 3-member etcd healthy and three kube-apiservers ready, each started by its machine's supervisor from its own tree (${secs(Date.now() - tBoot)} s)`, true);
        await lb.start(ctx.env);
        const viaLb = (args: string[]) => machines[0].cp.kubectl(superAdmin, [`--server=https://127.0.0.1:${lbPort}`, ...args]);
        await waitFor("kubectl through HAProxy", async () => {
            const r = await viaLb(["get", "--raw", "/readyz"]);
            return (r.code === 0 && r.stdout.trim() === "ok") || r.output;
        }, { timeoutMs: 60_000, intervalMs: 1000, daemon: lb.daemon, signal });
        for (const args of [
            ["create", "clusterrolebinding", "kubeadm:cluster-admins", "--clusterrole=cluster-admin", "--group=kubeadm:cluster-admins"],
            ["create", "serviceaccount", SA.name, "-n", SA.namespace],
        ]) {
            const r = await viaLb(args);
            s.check(`through HAProxy: kubectl ${args.slice(0, 3).join(" ")}`, r.code === 0 || /AlreadyExists/.test(r.output), r.output);
        }
        for (const lease of ["kube-controller-manager", "kube-scheduler"]) {
            await waitFor(`${lease} leader Lease`, async () => {
                const r = await viaLb(["get", "lease", "-n", "kube-system", lease, "-o", "jsonpath={.spec.holderIdentity}"]);
                return (r.code === 0 && r.stdout.trim() !== "") || r.output;
            }, { timeoutMs: 120_000, intervalMs: 1000, signal });
        }
        s.check("kube-controller-manager and kube-scheduler hold their leader Leases (their kubeconfigs from the trees authenticate)", true);
        const signedBySigner = (m: { certFile: string }) => signedBy(machines[0].cp.pkiFile("ca-signer.crt"), m.certFile);
        const leaseRenewedAfter = (node: string, t: number) => leaseRenewedSince(viaLb, node, t, signal);

        // --- the clients: from here to the end, never paused
        await tokens.refresh();
        s.check("service-account token minted through HAProxy (TokenRequest with admin.conf)", tokens.token !== "", tokens.failures.join("\n"));
        tokens.start(20_000);
        prober = new Prober(lbPort, sources(machines, tokens));
        prober.start();
        quorum = new QuorumPoller(machines.map((m) => ({
            name: m.name,
            host: m.address,
            port: ports.etcdClient,
            tls: () => ({ ca: fs.readFileSync(m.cp.pkiFile("etcd/ca.crt"), "utf8"), cert: fs.readFileSync(m.cp.pkiFile("etcd/healthcheck-client.crt"), "utf8"), key: fs.readFileSync(m.cp.pkiFile("etcd/healthcheck-client.key"), "utf8") }),
        })));
        quorum.start();

        /** Every apiserver and etcd member serves the certificate its machine now holds (reloaded or restarted). */
        const servesDelivered = async (name: string) => {
            const t = Date.now();
            let last = "";
            const ok = await waitFor(`${name}: every member serves its delivered certificates`, async () => {
                const wrong: string[] = [];
                for (const m of machines) {
                    const client = { cert: fs.readFileSync(m.cp.pkiFile("etcd/healthcheck-client.crt"), "utf8"), key: fs.readFileSync(m.cp.pkiFile("etcd/healthcheck-client.key"), "utf8") };
                    if ((await presentedFingerprint(m.address, ports.apiserver).catch(String)) !== fileFingerprint(m.cp.pkiFile("apiserver.crt"))) wrong.push(`${m.name} apiserver`);
                    if ((await presentedFingerprint(m.address, ports.etcdClient, client).catch(String)) !== fileFingerprint(m.cp.pkiFile("etcd/server.crt"))) wrong.push(`${m.name} etcd`);
                }
                last = wrong.join(", ");
                return wrong.length === 0 || `still the old certificate: ${last}`;
            }, { timeoutMs: 90_000, intervalMs: 1000, signal }).then(() => true, () => false);
            s.check(`${name}: every kube-apiserver and etcd member serves the apiserver.crt / etcd/server.crt on its machine (after ${secs(Date.now() - t)} s)`, ok, last);
        };

        /** One previewed up. A preview refused naming the pool returns `refused` (the pool rule), nothing run. */
        const phase = async (name: string, opts: { expectFailure?: RegExp } = {}): Promise<string> => {
            const tp = Date.now();
            const planLines: string[] = [];
            let preview: { stdout: string };
            try {
                preview = await pulumiOp(`${STACK}-preview-${name}`, signal, (o) => stack!.preview({ ...o, onEvent: (e) => {
                    // each RemoteNodeFiles' checked inputs carry its node's plan line (rollout-lib: rolloutPlan)
                    const planned = e.resourcePreEvent?.metadata?.new?.inputs?.rolloutPlan;
                    if (typeof planned === "string") planLines.push(planned);
                } }));
            } catch (e) {
                const message = failureText(e);
                if (!new RegExp(`\\b${POOL}\\b`).test(message)) throw e;
                timings.push({ phase: `${name} (refused at preview)`, previewS: (Date.now() - tp) / 1000, upS: 0, rollS: 0, restarts: 0, result: "refused" });
                return `refused: ${message}`;
            }
            const previewS = Date.now() - tp;
            const plan = parseNodePlan(planLines.join("\n"), NODES);
            if (rolloutLib) s.info(`${name}: the preview's plan: ${planLines.join(" | ") || "(no rolloutPlan in the preview)"}`);
            const before = machines.map((m) => delivered(m));
            const tu = Date.now();
            let error = "";
            let result = "succeeded";
            try {
                outputs = plainOutputs((await pulumiOp(`${STACK}-up-${name}`, signal, (o) => stack!.up(o))).outputs);
            } catch (e) {
                error = failureText(e);
                result = "failed";
            }
            const te = Date.now();
            await tokens.refresh(); // a client refreshes its token after the phase (the kubelet does, well before expiry)
            const starts = Object.fromEntries(machines.map((m) => [m.name, m.startsBetween(tu, te)]));
            const events = machines.flatMap((m) => m.readEvents().filter((e) => e.t >= tu && e.t < te && e.component !== "supervisor"));
            const rollS = events.length ? Math.max(...events.map((e) => e.t)) - Math.min(...events.map((e) => e.t)) : 0;
            timings.push({ phase: name, previewS: previewS / 1000, upS: (te - tu) / 1000, rollS: rollS / 1000, restarts: Object.values(starts).flat().length, result });
            const changed = machines.map((m, i) => diffFingerprints(before[i], delivered(m)).length);
            s.info(`${name}: preview ${secs(previewS)} s; up ${secs(te - tu)} s (${result}); restarts ${formatPlan(happened(starts), NODES)}; files changed per node ${changed.join("/")}`);
            if (opts.expectFailure) {
                s.check(`${name}: the up fails with the gate's message`, result === "failed" && opts.expectFailure.test(error), error.slice(-2500));
            } else {
                s.check(`${name}: up succeeded`, result === "succeeded", error.slice(-2500));
                await servesDelivered(name);
                if (rolloutLib) {
                    s.equal(`${name}: the preview's per-node plan (restarts) is what the supervisors logged`, formatPlan(happened(starts), NODES), formatPlan(plan, NODES));
                } else {
                    s.equal(`${name}: without kube-pki's reloads no component restarted (nothing but kube-pki restarts one)`, Object.values(starts).flat(), []);
                }
            }
            return error;
        };

        // --- the pool: kube-pki's Secrets sink adds the bootstrap token and its RBAC; a machine joins before stage
        await stack.setConfig("kube-pki:secretsSink", { value: JSON.stringify({ kubeconfig: "super-admin.conf", trustBundle: false }) });
        await phase("pool-join-sink");
        const poolFiles = () => ({
            bootstrapConf: outputs.nodeFiles[POOL]["etc/kubernetes/bootstrap-kubelet.conf"].content,
            caCrt: outputs.nodeFiles[POOL]["etc/kubernetes/pki/ca.crt"].content,
            kubeletConfig: outputs.workerPools[POOL].kubeletConfig,
        });
        pool = new Pool(path.join(ctx.work, "ha-pool"), ctx.env, signal);
        const tj = Date.now();
        await pool.join("pool-node-1", poolFiles());
        s.check(`pool-node-1 joined before stage (TLS bootstrap through HAProxy, its CSR signed by a controller-manager) in ${secs(Date.now() - tj)} s`, true);

        // --- leaf renewal of every control-plane certificate
        let generation = 1;
        await stack.setConfig("kube-pki:rotate", { value: JSON.stringify({ "group:all": generation }) });
        await phase("renew");

        if (rolloutLib) {
            // --- a gate failure: cp-2's apiserver does not come back (a broken manifest), the rollout stops there
            const manifest = path.join(machines[1].manifests, "kube-apiserver.yaml");
            const good = fs.readFileSync(manifest, "utf8");
            fs.writeFileSync(manifest, good.replace("- --allow-privileged=true", "- --allow-privileged=true\n        - --no-such-flag=broken"), { mode: 0o600 });
            generation++;
            await stack.setConfig("kube-pki:rotate", { value: JSON.stringify({ "group:all": generation }) });
            const cp3 = delivered(machines[2]);
            // the broken apiserver never comes back: a short gate timeout for this phase only (the operator's choice)
            await stack.setConfig("kube-pki:rollout", { value: JSON.stringify({ ...rolloutConfig, gateTimeout: FAILING_GATE_TIMEOUT }) });
            await phase("renew-gate-failure", { expectFailure: new RegExp(`node cp-2: gate "kube-apiserver /readyz at 127\\.0\\.0\\.2:${ports.apiserver}" did not pass within 20s`) });
            await stack.setConfig("kube-pki:rollout", { value: JSON.stringify(rolloutConfig) });
            s.equal("gate failure: cp-3 is untouched (its files are the old ones)", diffFingerprints(cp3, delivered(machines[2])), []);
            fs.writeFileSync(manifest, good, { mode: 0o600 }); // healed by the operator
            await phase("renew-after-heal");

            // --- CA rotation, one up per phase, the four CAs together
            const old = keepOld(machines, tokens);
            /** when each phase's up finished (the pool rule: a machine joined before it is rolled) */
            const finished: Record<string, number> = {};
            for (const p of ["stage", "promote", "distrust"]) {
                await stack.setConfig("kube-pki:caRotation", { value: JSON.stringify(Object.fromEntries(CAS.map((c) => [c, p]))) });
                const label = `${p} (${CAS.join(", ")})`;
                const first = await phase(label);
                if (first.startsWith("refused: ")) {
                    // the pool rule: kube-pki cannot reach pool machines one by one, so it waits for the operator
                    const message = first.slice("refused: ".length);
                    const before = p === "promote" ? "stage" : "promote";
                    const value = new RegExp(`pulumi config set --path kube-pki:rollout\\.poolsRolled\\.${POOL}\\.ca (\\S+)\``).exec(message)?.[1];
                    s.check(`${p}: the preview refuses while pool ${POOL} is not confirmed rolled after the ${before} up, naming the pool and the value to set`, value === `${before}:1`, message.slice(-2000));
                    s.info(`${p}: refused at preview: ${message.split("\n").filter((l) => l.includes(POOL)).slice(0, 3).join(" | ")}`);
                    // the operator rolls the pool: every machine that joined before that up is replaced by a new one
                    // provisioned with the pool's current files (the ones after it are kept: they need no roll)
                    for (const m of pool.machines.filter((x) => x.kubelet && x.joinedAt < finished[before])) {
                        await pool.retire(m);
                        const name = `pool-node-${pool.machines.length + 1}`;
                        const joined = await pool.join(name, poolFiles());
                        s.check(`${p}: pool rolled — ${m.name} (joined before the ${before} up) replaced by ${name} (joined with the pool's current bootstrap-kubelet.conf; its client certificate signed by the current ca-signer.crt)`, signedBySigner(joined));
                    }
                    await stack.setConfig("kube-pki:rollout", { value: JSON.stringify({ ...rolloutConfig, poolsRolled: { [POOL]: { ca: value ?? `${before}:1` } } }) });
                    const again = await phase(`${label} after rolling the pool`);
                    s.check(`${p}: with poolsRolled.${POOL}.ca ${value} the phase runs`, !again.startsWith("refused"), again.slice(-1500));
                }
                finished[p] = Date.now();
                if (p === "stage") {
                    const joined = await pool.join("pool-node-2", poolFiles());
                    s.check("pool-node-2 joined after stage (its bootstrap-kubelet.conf trusts the staged bundle; its client certificate signed by the old ca, ca-signer.crt until promote)", signedBySigner(joined));
                }
                // every pool machine left keeps working through the phase: its Lease renewed after the up
                const live = pool.machines.filter((x) => x.kubelet);
                const renewed = await Promise.all(live.map((m) => leaseRenewedAfter(m.name, finished[p])));
                live.forEach((m, i) => s.check(`${p}: ${m.name} renews its Lease through HAProxy after the up (${renewed[i]})`, renewed[i].startsWith("renewed"), renewed[i]));
            }
            const answers = await oldCredentialAnswers(lbPort, machines, old, ports.etcdClient);
            s.check("after distrust: the old admin.conf is refused (401)", answers.admin === 401, String(answers.admin));
            s.check("after distrust: the old front-proxy-client is refused (401)", answers.frontProxy === 401, String(answers.frontProxy));
            s.check("after distrust: a token signed with the old sa.key is refused (401)", answers.token === 401, String(answers.token));
            s.check("after distrust: every etcd member refuses the old healthcheck-client", answers.etcd.every((ok) => !ok), JSON.stringify(answers.etcd));
        } else {
            s.info("rollout-lib's kube-pki:rollout is not in the program: the gate failure and the CA phases need its reloads and are not run");
        }

        // --- the pool machines still heartbeat through the load balancer with their own credentials
        for (const m of pool.machines.filter((x) => x.kubelet)) {
            const renewed = await leaseRenewedAfter(m.name, Date.now());
            s.check(`${m.name}: its kubelet still renews its Lease through HAProxy (${renewed})`, renewed.startsWith("renewed"), renewed);
        }

        // --- the clients' verdict
        await prober.stop();
        await quorum.stop();
        await tokens.stop();
        const perLabel = [...prober.perLabel].map(([l, n]) => `${l} ${n}`).join(", ");
        s.info(`prober: ${prober.total} requests in ${secs(prober.stoppedAt - prober.startedAt)} s (${prober.rate.toFixed(1)}/s) through HAProxy: ${perLabel}`);
        s.check(`prober: 0 failed of ${prober.total} requests (${prober.rate.toFixed(1)}/s), never paused`, prober.failed === 0 && prober.total > 0, prober.failures.map((f) => `[${new Date(f.t).toISOString()}] ${f.label}: ${f.why}`).join("\n"));
        // control: the same prober counts a request that does not authenticate as expected
        const admin = sources(machines, tokens)[0];
        const control = new Prober(lbPort, [{ ...admin, user: "someone-else" }], 1);
        control.start();
        await sleep(1500);
        await control.stop();
        s.check(`control: the prober counts an answer for the wrong user as failed (${control.failed} of ${control.total})`, control.total > 0 && control.failed === control.total, control.failures[0]?.why ?? "");
        s.check(`etcd: never lost quorum (${quorum.polls} polls, at least ${quorum.minHealthy} of 3 healthy; ${quorum.leaderChanges} polls met a leader election and asked again)`, quorum.lost.length === 0 && quorum.polls > 0, JSON.stringify(quorum.lost.slice(0, 5)));
        s.check(`token refreshes: ${tokens.refreshes}, none failed`, tokens.failures.length === 0, tokens.failures.join("\n"));
        s.info(`HAProxy server transitions: ${lb.transitions().join(", ") || "none"}`);
        for (const t of timings) {
            s.info(`phase ${t.phase}: preview ${t.previewS.toFixed(1)} s, up ${t.upS.toFixed(1)} s (${t.result}); rolling ${t.rollS.toFixed(1)} s over ${t.restarts} restarts; engine and delivery ${(t.upS - t.rollS).toFixed(1)} s`);
        }
        await pulumiOp(`${STACK}-destroy`, signal, (o) => stack!.destroy(o));
        ctx.stacks.splice(ctx.stacks.indexOf(stack), 1);
        await ws.removeStack(STACK);
    } finally {
        if (prober && !prober.stoppedAt) {
            // the step failed before the verdict: say what the clients saw until then
            await prober.stop();
            s.info(`prober until the failure: ${prober.total} requests, ${prober.failed} failed${prober.failures.length ? `: ${prober.failures.slice(0, 5).map((f) => `[${new Date(f.t).toISOString()}] ${f.label}: ${f.why}`).join(" | ")}` : ""}; etcd min healthy ${quorum?.minHealthy}`);
        }
        await quorum?.stop();
        await tokens.stop();
        if (pool) {
            const { left } = await pool.stop();
            s.check("pool machines stopped: kubelets and containerd, no mount left under their dirs", left.length === 0, left.join("\n"));
        }
        if (stack && ctx.stacks.includes(stack)) {
            const st = stack;
            // an early failure may leave the cluster unreachable: the Secrets sink's objects go with it
            st.workspace.envVars!.PULUMI_K8S_DELETE_UNREACHABLE = "true";
            // while the machines still answer (teardown could not reach them)
            await pulumiOp(`${STACK}-destroy-after-failure`, signal, (o) => st.destroy(o)).then(
                async () => {
                    ctx.stacks.splice(ctx.stacks.indexOf(st), 1);
                    await st.workspace.removeStack(STACK);
                },
                () => undefined,
            );
        }
        const logDir = lb.daemon ? path.dirname(lb.daemon.log) : undefined;
        await lb.stop();
        for (const m of machines) await m.stop();
        // the machines' component logs and supervisor events live in the work dir (removed): keep them with the logs
        for (const m of machines) {
            const from = path.dirname(m.events);
            if (logDir && fs.existsSync(from)) fs.cpSync(from, path.join(logDir, `machine-${m.name}`), { recursive: true });
        }
    }
}

