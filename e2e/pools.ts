/**
 * Step "pools": a worker pool joins by TLS bootstrap, live (own stack e2e-pools, own control plane on 127.0.0.1).
 *
 *  1. `pulumi up` with `workerPools: [{name: general}]`: the pool's tree (bootstrap-kubelet.conf, pki/ca.crt), its
 *     join command; then with the Secrets sink: the bootstrap-token Secret, kubeadm's bootstrap RBAC and cluster-info;
 *  2. `kubeadm token list` (super-admin.conf) lists the pool's token with kubeadm's usages and groups; the
 *     controller-manager's bootstrapsigner signs cluster-info (jws-kubeconfig-<id>); `kubeadm join --dry-run`
 *     discovery with the emitted hash accepts cluster-info, and refuses a wrong hash;
 *  3. the real kubelet with rotateCertificates: true against containerd (Debian package `containerd`, started by the
 *     step in its work dir), started with only the pool's bootstrap-kubelet.conf, bootstraps in the background: a CSR
 *     (user system:bootstrap:<id>) that the real kube-controller-manager auto-approves and signs with the tree's ca.key;
 *     the certificate verifies against ca.crt and its kubelet.conf authenticates as system:node:<name> in system:nodes;
 *  4. the kubelet rotates its own client certificate: the controller-manager signs for 4 min only
 *     (--cluster-signing-duration), so the kubelet's certificate manager sends a CSR as system:node:<name> after
 *     70-90 % of the lifetime; it is auto-approved (kubeadm:node-autoapprove-certificate-rotation → selfnodeclient),
 *     signed, and kubelet-client-current.pem points at a certificate with a new serial;
 *  5. token rotation with the clock (KUBE_PKI_NOW): in the renewal window a new token is handed out and the old
 *     one still authenticates; after the old one's expiration it is dropped, its Secret deleted, and refused (401).
 */
import { ALLOW_WHAT_IF_UP_ENV, HOUR_MS } from "../components/time";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { ControlPlane } from "./cluster";
import { cleanupKubeletHost, kubepodsCgroups, requireContainerd, startContainerd } from "./containerd";
import { plainOutputs, pulumiOp } from "./pulumi";
import { Daemon, freePort, run, sleep, waitFor } from "./procs";
import { CLUSTER_DOMAIN, Ctx, SERVICE_CIDR, upStack, writeScenarioTrees } from "./steps";

const HOUR = HOUR_MS;
const NODE = "pool-node-1";
/** The controller-manager's --cluster-signing-duration here: short, so that the kubelet rotates within the step. */
const SIGNING_DURATION = "4m";

export async function stepPools(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    requireContainerd(ctx.env); // fail before anything starts when the runtime is missing
    const [apiPort, etcdClient, etcdPeer] = [await freePort(), await freePort(), await freePort()];
    const config = {
        clusterName: "e2e-pools",
        controlPlaneEndpoint: `127.0.0.1:${apiPort}`,
        apiServerBindPort: apiPort,
        keyAlgorithm: "ECDSA-P256",
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workerPools: [{ name: "general", tokenTtl: "24h", tokenRenewBefore: "8h" }],
    };
    const { stack, outputs } = await upStack(ctx, "e2e-pools", config, signal);
    const treeRoot = writeScenarioTrees(ctx, "e2e-pools", outputs.nodeFiles);
    const poolDir = path.join(treeRoot, "general");
    const bootstrapConf = path.join(poolDir, "etc/kubernetes/bootstrap-kubelet.conf");
    const token0 = parseYaml(fs.readFileSync(bootstrapConf, "utf8")).users[0].user.token as string;
    s.check("the pool's tree is bootstrap-kubelet.conf + pki/ca.crt, with a [a-z0-9]{6}.[a-z0-9]{16} token", /^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token0) &&
        Object.keys(outputs.nodeFiles.general).sort().join(",") === "etc/kubernetes/bootstrap-kubelet.conf,etc/kubernetes/pki/ca.crt", Object.keys(outputs.nodeFiles.general).join(","));
    const [id0] = token0.split(".");

    const cp = new ControlPlane({
        label: "pools",
        nodeDir: path.join(treeRoot, "cp-1"),
        workDir: ctx.work,
        env: ctx.env,
        nodeName: "cp-1",
        ports: { apiserver: apiPort, etcdClient, etcdPeer },
        serviceCidr: SERVICE_CIDR,
        clusterDomain: CLUSTER_DOMAIN,
        advertiseAddress: "127.0.0.1",
        signal,
    });
    let kubelet: Daemon | undefined;
    let containerd: Daemon | undefined;
    const kdir = path.join(ctx.work, "pool-kubelet");
    const cgroupsBefore = kubepodsCgroups();
    try {
        await cp.startEtcd();
        await cp.startApiserver();
        await cp.startControllersAndScheduler({ controllerManager: await freePort(), scheduler: await freePort() }, undefined,
            [`--cluster-signing-duration=${SIGNING_DURATION}`]);
        s.check(`control plane up (etcd, kube-apiserver --enable-bootstrap-token-auth, kube-controller-manager --controllers=*,bootstrapsigner,tokencleaner --cluster-signing-duration=${SIGNING_DURATION})`, true);
        const superAdmin = path.join(cp.kubeconfigDir, "super-admin.conf");
        const kubectl = (args: string[]) => cp.kubectl(superAdmin, args);

        // --- 1. cluster side through the Secrets sink
        await stack.setConfig("kube-pki:secretsSink", { value: JSON.stringify({ kubeconfig: "super-admin.conf", trustBundle: false }) });
        const up = await pulumiOp("up-e2e-pools-sink", signal, (o) => stack.up(o));
        const out = plainOutputs(up.outputs);
        s.check("pulumi up with the Secrets sink: bootstrap-token Secret, bootstrap RBAC and cluster-info created", up.summary.result === "succeeded", JSON.stringify(up.summary.resourceChanges));
        const sec = await kubectl(["get", "secret", "-n", "kube-system", `bootstrap-token-${id0}`, "-o", "json"]);
        const secret = sec.code === 0 ? JSON.parse(sec.stdout) : {};
        const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), "base64").toString()]));
        s.check(
            `Secret kube-system/bootstrap-token-${id0}: type bootstrap.kubernetes.io/token, both usages, groups default-node-token + the pool's`,
            secret.type === "bootstrap.kubernetes.io/token" && data["token-id"] === id0 && data["token-secret"] === token0.split(".")[1] &&
                data["usage-bootstrap-authentication"] === "true" && data["usage-bootstrap-signing"] === "true" &&
                data["auth-extra-groups"] === "system:bootstrappers:kubeadm:default-node-token,system:bootstrappers:kube-pki:general" &&
                !Number.isNaN(Date.parse(data.expiration)),
            sec.output.slice(0, 400),
        );
        for (const crb of ["kubeadm:kubelet-bootstrap", "kubeadm:node-autoapprove-bootstrap", "kubeadm:node-autoapprove-certificate-rotation", "kubeadm:get-nodes"]) {
            const r = await kubectl(["get", "clusterrolebinding", crb, "-o", "jsonpath={.roleRef.name}:{.subjects[0].name}"]);
            s.check(`ClusterRoleBinding ${crb} exists (${r.stdout.trim()})`, r.code === 0 && r.stdout.includes(":system:"), r.output);
        }

        // --- 2. kubeadm token list, the bootstrapsigner, kubeadm join discovery
        const list = await run("kubeadm", ["token", "list", `--kubeconfig=${superAdmin}`, "-o", "json"], { env: ctx.env, log: "kubeadm-token-list" });
        s.check(
            `kubeadm token list (super-admin.conf) lists the pool token ${id0} with authentication,signing and the pool's group`,
            list.code === 0 && list.stdout.includes(`"${id0}.`) && list.stdout.includes("system:bootstrappers:kube-pki:general") && list.stdout.includes('"signing"'),
            list.output.slice(0, 600),
        );
        await waitFor(
            `cluster-info signed for ${id0} by the bootstrapsigner`,
            async () => {
                const r = await kubectl(["get", "configmap", "-n", "kube-public", "cluster-info", "-o", `jsonpath={.data.jws-kubeconfig-${id0}}`]);
                return (r.code === 0 && r.stdout.trim() !== "") || r.output || "not signed yet";
            },
            { timeoutMs: 60_000, daemon: cp.controllerManager, signal },
        );
        s.check(`the controller-manager's bootstrapsigner added jws-kubeconfig-${id0} to kube-public/cluster-info`, true);
        const join = out.workerPools.general.joinCommand as string;
        const hash = /--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})/.exec(join)?.[1] ?? "";
        const dryRunDir = path.join(ctx.work, "kubeadm-join-dryrun");
        fs.mkdirSync(dryRunDir, { mode: 0o700 });
        const discovery = async (h: string) =>
            run(
                "kubeadm",
                ["join", `127.0.0.1:${apiPort}`, "--token", token0, "--discovery-token-ca-cert-hash", h, "--dry-run", "--node-name", "pool-dry-run",
                    "--skip-phases=preflight", "-v=5"],
                // the dry-run directory inside the suite's work dir (default: /etc/kubernetes/tmp on the host)
                { env: { ...ctx.env, KUBEADM_JOIN_DRYRUN_DIR: dryRunDir }, log: "kubeadm-join-dry-run", timeoutMs: 120_000 },
            );
        const good = await discovery(hash);
        s.check(
            "kubeadm join --dry-run with the emitted token and --discovery-token-ca-cert-hash: discovery validates cluster-info against the pinned CA",
            /Cluster info signature and contents are valid and TLS certificate validates against pinned roots/.test(good.output),
            good.output.split("\n").filter((l) => /discovery|cluster-info|pinned|error/i.test(l)).slice(-8).join("\n"),
        );
        const bad = await discovery(`sha256:${"0".repeat(64)}`);
        s.check(
            "control: the same discovery with a wrong CA hash is refused",
            !/validates against pinned roots/.test(bad.output) && /none of the public keys|pinned/i.test(bad.output),
            bad.output.split("\n").slice(-5).join("\n"),
        );

        // --- 3. the real kubelet with the pool's bootstrap-kubelet.conf, rotateCertificates on, against containerd
        fs.mkdirSync(path.join(kdir, "pki"), { recursive: true, mode: 0o700 });
        const runtime = await startContainerd(path.join(kdir, "containerd"), ctx.env, signal);
        containerd = runtime.daemon;
        const kubeconfig = path.join(kdir, "kubelet.conf");
        const kubeletConfig = path.join(kdir, "config.yaml");
        const fragment = parseYaml(out.workerPools.general.kubeletConfig);
        fs.writeFileSync(
            kubeletConfig,
            JSON.stringify({
                ...fragment,
                rotateCertificates: true,
                containerRuntimeEndpoint: runtime.endpoint,
                cgroupDriver: "cgroupfs",
                authentication: { ...fragment.authentication, x509: { clientCAFile: path.join(poolDir, "etc/kubernetes/pki/ca.crt") } },
                failSwapOn: false,
                address: "127.0.0.1",
                port: await freePort(),
                healthzPort: 0,
                readOnlyPort: 0,
            }),
        );
        kubelet = new Daemon("kubelet-pool", "kubelet", [
            `--bootstrap-kubeconfig=${bootstrapConf}`,
            `--kubeconfig=${kubeconfig}`,
            `--config=${kubeletConfig}`,
            `--cert-dir=${path.join(kdir, "pki")}`,
            `--root-dir=${path.join(kdir, "root")}`,
            `--hostname-override=${NODE}`,
            "-v=2",
        ], ctx.env);
        const certFile = path.join(kdir, "pki", "kubelet-client-current.pem");
        const readCert = () => {
            const pem = fs.readFileSync(certFile, "utf8");
            return new crypto.X509Certificate(pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]);
        };
        await waitFor(`the kubelet's client certificate ${certFile}`, async () => (fs.existsSync(certFile) && fs.existsSync(kubeconfig)) || "not yet",
            { timeoutMs: 120_000, daemon: kubelet, signal });
        const cert = readCert();
        const verify = await run("openssl", ["verify", "-CAfile", cp.pkiFile("ca.crt"), certFile], { env: ctx.env, log: "openssl-verify" });
        s.check(
            `the kubelet bootstrapped: its client cert (${cert.subject.replace(/\n/g, ", ")}, serial ${cert.serialNumber}) verifies against the tree's ca.crt (signed by the controller-manager with ca.key)`,
            verify.code === 0 && /CN=system:node:pool-node-1/.test(cert.subject) && /O=system:nodes/.test(cert.subject),
            verify.output,
        );
        const kubeletCsrs = async (username: string) => {
            const r = await kubectl(["get", "csr", "-o", "json"]);
            return (r.code === 0 ? JSON.parse(r.stdout).items : []).filter((c: any) => c.spec.username === username) as any[];
        };
        const [csr] = await kubeletCsrs(`system:bootstrap:${id0}`);
        const approved = csr?.status?.conditions?.find((c: any) => c.type === "Approved");
        s.check(
            `its bootstrap CSR ${csr?.metadata?.name} (user system:bootstrap:${id0}, signer ${csr?.spec?.signerName}) was auto-approved by the controller-manager (${approved?.reason}) and issued`,
            csr?.spec?.signerName === "kubernetes.io/kube-apiserver-client-kubelet" && approved?.reason === "AutoApproved" && !!csr?.status?.certificate,
            JSON.stringify(csr?.status ?? "no CSR").slice(0, 400),
        );
        const who = await cp.whoami(kubeconfig);
        s.check(
            `the kubelet.conf the kubelet wrote authenticates as system:node:${NODE} (${who.username} [${(who.groups ?? []).join(", ")}])`,
            who.username === `system:node:${NODE}` && (who.groups ?? []).includes("system:nodes"),
            who.error ?? "",
        );
        // the client-certificate lines of the kubelet's log (klog: "I1202 03:55:13.414467 7819 server.go:956] msg ..."), time + message
        const certLog = () =>
            fs.readFileSync(kubelet!.log, "utf8").split("\n")
                .filter((l) => /Client rotation is on|"(Rotating certificates|Certificate rotation deadline determined|Certificate signing request is [^"]+)"/.test(l) && !/kubelet-serving/.test(l))
                .map((l) => l.replace(/^[IWE]\d{4} (\S+)\s+\d+ \S+\] /, "$1 ").replace(/ logger="kubernetes.io\/kube-apiserver-client-kubelet"/, "").slice(0, 200));
        const bootLog = certLog();
        s.info(`kubelet log, bootstrap: ${bootLog.join(" | ")}`);

        // --- 4. the kubelet rotates its own client certificate (SIGNING_DURATION)
        const issued = Date.now();
        const firstTarget = fs.realpathSync(certFile);
        let rotated: any;
        let newCert: crypto.X509Certificate | undefined;
        await waitFor(
            `the kubelet rotates its client certificate (a CSR as system:node:${NODE}, a new kubelet-client-current.pem)`,
            async () => {
                [rotated] = (await kubeletCsrs(`system:node:${NODE}`)).filter((c) => c.status?.certificate);
                if (!rotated) return "no signed CSR from the node yet";
                if (fs.realpathSync(certFile) === firstTarget) return `CSR ${rotated.metadata.name} signed, kubelet-client-current.pem not moved yet`;
                newCert = readCert();
                return true;
            },
            // 70-90 % of a lifetime of 4 min + the signer's 5 min backdating: 1.3-3.1 min after issue
            { timeoutMs: 360_000, intervalMs: 5000, daemon: kubelet, signal },
        );
        const rotApproved = rotated?.status?.conditions?.find((c: any) => c.type === "Approved");
        const verify2 = await run("openssl", ["verify", "-CAfile", cp.pkiFile("ca.crt"), certFile], { env: ctx.env, log: "openssl-verify" });
        s.check(
            `the kubelet rotated by itself ${((Date.now() - issued) / 1000).toFixed(0)} s after its first certificate: CSR ${rotated?.metadata?.name} (user system:node:${NODE}) ${rotApproved?.reason} and issued; ` +
                `kubelet-client-current.pem → ${path.basename(fs.realpathSync(certFile))}, serial ${newCert?.serialNumber} (was ${cert.serialNumber}), ${newCert?.subject.replace(/\n/g, ", ")}, verifies against ca.crt`,
            rotated?.spec?.signerName === "kubernetes.io/kube-apiserver-client-kubelet" && rotApproved?.reason === "AutoApproved" &&
                !!newCert && newCert.serialNumber !== cert.serialNumber && newCert.subject === cert.subject && verify2.code === 0,
            verify2.output,
        );
        const who2 = await cp.whoami(kubeconfig);
        s.check(`kubelet.conf with the rotated certificate still authenticates as system:node:${NODE}`, who2.username === `system:node:${NODE}`, who2.error ?? "");
        s.info(`kubelet log, rotation: ${certLog().slice(bootLog.length).join(" | ")}`);
        await kubelet.stop();
        await containerd.stop();

        // --- 5. token rotation with the clock: new token in the window, old one valid until it expires, then refused
        const tokenWho = (token: string) =>
            run("kubectl", [`--server=https://127.0.0.1:${apiPort}`, `--certificate-authority=${cp.pkiFile("ca.crt")}`, `--token=${token}`, "auth", "whoami", "-o", "json"],
                { env: ctx.env, log: "kubectl-token" });
        const now0 = Date.parse(out.nextRotation.clock);
        // `up` with a what-if clock is refused (what up writes follows the real clock) unless the test-only opt-in is
        // set; every such run says so (components/time.ts whatIfClock, docs/rotation.md).
        ctx.ws.envVars[ALLOW_WHAT_IF_UP_ENV] = "1";
        await stack.setConfig("kube-pki:now", { value: new Date(now0 + 17 * HOUR).toISOString() });
        const r1 = await pulumiOp("up-e2e-pools-rotate", signal, (o) => stack.up(o));
        s.check(`the what-if up says it writes dates from the moved clock (${ALLOW_WHAT_IF_UP_ENV}=1, test only)`, r1.stdout.includes(`${ALLOW_WHAT_IF_UP_ENV}=1 (test only)`), r1.stdout.slice(-2000));
        const o1 = plainOutputs(r1.outputs);
        const toks1 = o1.workerPools.general.tokens as { id: string; generation: number }[];
        const token1 = parseYaml(o1.nodeFiles.general["etc/kubernetes/bootstrap-kubelet.conf"].content).users[0].user.token as string;
        const [w0, w1] = [await tokenWho(token0), await tokenWho(token1)];
        s.check(
            `clock +17h (inside expiration − 8h): generation 1 (${toks1.map((t) => `${t.id}/g${t.generation}`).join(", ")}) in the pool's files; both tokens authenticate`,
            toks1.map((t) => t.generation).join(",") === "1,0" && !token1.startsWith(`${id0}.`) && token1.startsWith(`${toks1[0].id}.`) &&
                w0.stdout.includes(`system:bootstrap:${id0}`) && w1.stdout.includes(`system:bootstrap:${toks1[0].id}`),
            `${w0.output}\n${w1.output}`,
        );
        await stack.setConfig("kube-pki:now", { value: new Date(now0 + 25 * HOUR).toISOString() });
        const r2 = await pulumiOp("up-e2e-pools-expire", signal, (o) => stack.up(o));
        const o2 = plainOutputs(r2.outputs);
        const gone = await kubectl(["get", "secret", "-n", "kube-system", `bootstrap-token-${id0}`]);
        // kube-apiserver caches a successful token authentication for 10 s (TokenSuccessCacheTTL): wait that out
        const deletedAt = Date.now();
        let x0 = await tokenWho(token0);
        while (x0.code === 0 && Date.now() - deletedAt < 60_000) {
            await sleep(2000);
            x0 = await tokenWho(token0);
        }
        s.info(`the deleted token was refused ${((Date.now() - deletedAt) / 1000).toFixed(0)} s after its Secret was deleted (the apiserver's 10 s token cache)`);
        const x1 = await tokenWho(token1);
        s.check(
            `clock +25h (past the first token's expiration): generation 0 dropped (${(o2.workerPools.general.tokens as any[]).map((t) => `g${t.generation}`).join(",")}), its Secret deleted, the token refused (401); generation 1 still authenticates`,
            gone.code !== 0 && /NotFound/.test(gone.output) && x0.code !== 0 && /Unauthorized|401/.test(x0.output) && x1.code === 0,
            `${gone.output}\n${x0.output}\n${x1.output}`,
        );
    } finally {
        await kubelet?.stop();
        await containerd?.stop();
        const { removed, left } = await cleanupKubeletHost(kdir, cgroupsBefore, ctx.env);
        s.check(`teardown: kubelet and containerd stopped, no mount left under the kubelet's dir, its kubepods cgroups removed (removed: ${removed.filter((r) => r.startsWith("mount ")).map((r) => r.replace(kdir, "<kubelet dir>")).join(", ") || "no mount"}; ` +
                `${removed.filter((r) => r.startsWith("cgroup ")).length} kubepods cgroups in ${[...new Set(removed.flatMap((r) => /^cgroup \/sys\/fs\/cgroup\/([^/]+)\/kubepods/.exec(r)?.[1] ?? []))].join(",") || "no controller"})`,
            left.length === 0, left.join("\n"));
        try {
            await stack.removeConfig("kube-pki:secretsSink");
            await pulumiOp("up-e2e-pools-unsink", signal, (o) => stack.up(o));
        } catch (e) {
            s.info(`removing the sink did not complete: ${(e as Error).message.split("\n")[0]}`);
        }
        delete ctx.ws.envVars[ALLOW_WHAT_IF_UP_ENV];
        await cp.stop();
    }
}
