/**
 * The steps of the live suite. Each takes the shared context and the step's AbortSignal, records checks on the
 * suite, and throws only when it cannot go on.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { ControlPlane } from "./cluster";
import { compareFidelity, emulate } from "./fidelity";
import { Suite } from "./harness";
import { checkExpiration, compareWithKubeadmTree, initPhasesOnCopy, KubeadmParams } from "./kubeadm";
import { freePort, run, runOk, sleep } from "./procs";
import { createStack, exportEncrypted, isSelfRead, NodeFiles, Op, plainOutputs, pulumiOp, recordOps, StackConfig } from "./pulumi";
import { checkExportedState } from "./secrets";
import { checkModes, writeTrees } from "./tree";

export interface Ctx {
    suite: Suite;
    /** Scratch dir (trees, copies, etcd data, keys); removed at the end unless --keep. */
    work: string;
    /** The project snapshot the engine runs (also holds the emulator script). */
    projectDir: string;
    env: NodeJS.ProcessEnv;
    ws: LocalWorkspace;
    kubernetesVersion: string;
    /** Stacks created, in creation order (teardown destroys them in reverse). */
    stacks: Stack[];
    main?: Scenario;
    cp?: ControlPlane;
}

/** One cluster stack: its config, outputs and node trees on disk. */
export interface Scenario {
    stack: Stack;
    config: StackConfig & { controlPlanes: { name: string; advertiseAddress: string }[] };
    outputs: Record<string, any>;
    treeRoot: string;
    apiPort: number;
}

export const LEAF_HOURS = 8760;
export const CA_HOURS = 87600;
export const SERVICE_CIDR = "10.96.0.0/12";
export const CLUSTER_DOMAIN = "cluster.local";

export async function upStack(ctx: Ctx, name: string, config: StackConfig, signal: AbortSignal) {
    const stack = await createStack(ctx.ws, name, config);
    ctx.stacks.push(stack);
    const res = await pulumiOp(`up-${name}`, signal, (o) => stack.up(o));
    const changes = res.summary.resourceChanges ?? {};
    ctx.suite.check(
        `pulumi up ${name}: succeeded, ${changes.create ?? 0} resources created`,
        res.summary.result === "succeeded" && (changes.create ?? 0) > 0,
        `result ${res.summary.result}, changes ${JSON.stringify(changes)}`,
    );
    return { stack, outputs: plainOutputs(res.outputs) };
}

/** Writes a scenario's node trees and checks their modes. */
export function writeScenarioTrees(ctx: Ctx, label: string, nodeFiles: NodeFiles): string {
    const root = path.join(ctx.work, `trees-${label}`);
    fs.mkdirSync(root, { mode: 0o700 });
    writeTrees(root, nodeFiles);
    const problems = checkModes(root, nodeFiles);
    const count = Object.values(nodeFiles).reduce((n, m) => n + Object.keys(m).length, 0);
    ctx.suite.check(`${label}: ${count} files written with their modes (keys/kubeconfigs 0600, certs 0644)`, problems.length === 0, problems.join("\n"));
    return root;
}

// ---------------------------------------------------------------------------------------------------- 1

export async function stepUp(ctx: Ctx, signal: AbortSignal) {
    const apiPort = await freePort();
    const config = {
        clusterName: "e2e",
        controlPlaneEndpoint: `127.0.0.1:${apiPort}`,
        apiServerBindPort: apiPort,
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        // kubelet serving certs need node IPs: loopback addresses, nothing binds to them
        workers: [
            { name: "worker-1", addresses: ["127.0.0.2"] },
            { name: "worker-2", addresses: ["127.0.0.3"] },
        ],
        users: [{ name: "alice", group: "dev-team" }],
        kubeletServingCerts: true,
        kubeProxy: true,
    };
    ctx.suite.info(`stack e2e: endpoint ${config.controlPlaneEndpoint}, cp-1 + worker-1 + worker-2, user alice, kubelet serving certs, kube-proxy`);
    const { stack, outputs } = await upStack(ctx, "e2e", config, signal);
    const s = ctx.suite;
    s.equal("outputs: role", outputs.role, "cluster");
    s.equal("outputs: nodeFiles for every node", Object.keys(outputs.nodeFiles ?? {}).sort(), ["cp-1", "worker-1", "worker-2"]);
    s.check("outputs: kubeconfigs include users/alice.conf", typeof outputs.kubeconfigs?.["users/alice.conf"] === "string");
    s.check("outputs: inventory lists certificates", Array.isArray(outputs.inventory) && outputs.inventory.length > 20, `${outputs.inventory?.length}`);
    const treeRoot = writeScenarioTrees(ctx, "e2e", outputs.nodeFiles);
    ctx.main = { stack, config, outputs, treeRoot, apiPort };
}

// ---------------------------------------------------------------------------------------------------- 2

export async function stepPreview(ctx: Ctx, signal: AbortSignal) {
    const { stack } = ctx.main!;
    const ops: Op[] = [];
    const res = await pulumiOp("preview-e2e", signal, (o) => stack.preview({ ...o, onEvent: recordOps(ops) }));
    const summary = res.changeSummary;
    ctx.suite.info(`changeSummary ${JSON.stringify(summary)}`);
    const changed = ops.filter((o) => o.op !== "same" && !isSelfRead(o));
    ctx.suite.check(
        "second preview: every resource is \"same\" (the only other op is the program's read of its own StackReference)",
        changed.length === 0 && (summary.same ?? 0) > 0,
        changed.map((c) => `${c.op} ${c.urn}`).join("\n") || JSON.stringify(summary),
    );
    const keys = Object.keys(summary).filter((k) => (summary as any)[k] > 0);
    ctx.suite.check(
        "second preview: changeSummary has only same (+ read)",
        keys.every((k) => k === "same" || k === "read") && (summary.read ?? 0) <= 1,
        JSON.stringify(summary),
    );
    ctx.suite.check("second preview: the program reports that no leaf certificate rotates", res.stdout.includes("no leaf certificate rotates"), res.stdout.slice(-800));
}

// ---------------------------------------------------------------------------------------------------- 3

export async function stepSecrets(ctx: Ctx) {
    const exported = await exportEncrypted(ctx.ws, "e2e");
    checkExportedState(ctx.suite, "pulumi stack export e2e", exported);
    // control: the same scan does see the keys once the state is decrypted (Automation API exportStack())
    const decrypted = JSON.stringify(await ctx.main!.stack.exportStack());
    const seen = decrypted.split("PRIVATE KEY").length - 1;
    ctx.suite.check(`control: the decrypted export (--show-secrets) does contain the keys (${seen} "PRIVATE KEY")`, seen > 0);
}

// ---------------------------------------------------------------------------------------------------- 4

export function kubeadmParams(ctx: Ctx, config: StackConfig & { controlPlanes: { name: string; advertiseAddress: string }[] }): KubeadmParams {
    const endpoint = String(config.controlPlaneEndpoint);
    return {
        clusterName: String(config.clusterName),
        nodeName: config.controlPlanes[0].name,
        advertiseAddress: config.controlPlanes[0].advertiseAddress,
        bindPort: Number(config.apiServerBindPort ?? 6443),
        controlPlaneEndpoint: endpoint.includes(":") ? endpoint : `${endpoint}:6443`,
        serviceSubnet: SERVICE_CIDR,
        dnsDomain: CLUSTER_DOMAIN,
        certSANs: config.apiServerExtraSans as string[] | undefined,
        kubernetesVersion: ctx.kubernetesVersion,
    };
}

export async function stepKubeadm(ctx: Ctx, signal: AbortSignal) {
    const main = ctx.main!;
    const validity = { leafHours: LEAF_HOURS, caHours: CA_HOURS };
    // (a) the loopback tree of stack e2e, read in place
    await checkExpiration(ctx.suite, "e2e cp-1", path.join(main.treeRoot, "cp-1"), kubeadmParams(ctx, main.config), validity, ctx.env);

    // (b) kubeadm's init phases cannot take a loopback advertise address (see kubeadm.ts): a node-like stack
    ctx.suite.info(
        "kubeadm init phases refuse advertiseAddress 127.0.0.1 (\"unable to select an IP from lo network interface\"): " +
            "they run on stack e2e-kubeadm, the same cluster shape with advertiseAddress 10.0.0.11, a DNS endpoint and extra SANs",
    );
    const config = {
        clusterName: "e2e-kubeadm",
        controlPlaneEndpoint: "api.e2e-kubeadm.internal:6443",
        apiServerExtraSans: ["e2e-kubeadm.example.com", "203.0.113.10"],
        controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
        workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
        users: [{ name: "alice", group: "dev-team" }],
        kubeletServingCerts: true,
        kubeProxy: true,
    };
    const { outputs } = await upStack(ctx, "e2e-kubeadm", config, signal);
    const root = writeScenarioTrees(ctx, "e2e-kubeadm", outputs.nodeFiles);
    const nodeDir = path.join(root, "cp-1");
    const params = kubeadmParams(ctx, config);
    await checkExpiration(ctx.suite, "e2e-kubeadm cp-1", nodeDir, params, validity, ctx.env);
    await initPhasesOnCopy(ctx.suite, "e2e-kubeadm cp-1", nodeDir, ctx.work, params, ctx.env);
    await compareWithKubeadmTree(ctx.suite, "e2e-kubeadm cp-1", nodeDir, ctx.work, params, ctx.env);
}

// ---------------------------------------------------------------------------------------------------- 5

export async function bootControlPlane(
    ctx: Ctx,
    label: string,
    scenario: Pick<Scenario, "config" | "treeRoot" | "apiPort"> & Partial<Scenario>,
    signal: AbortSignal,
): Promise<ControlPlane> {
    const cp = new ControlPlane({
        label,
        nodeDir: path.join(scenario.treeRoot, "cp-1"),
        workDir: ctx.work,
        env: ctx.env,
        nodeName: "cp-1",
        ports: { apiserver: scenario.apiPort, etcdClient: await freePort(), etcdPeer: await freePort() },
        serviceCidr: SERVICE_CIDR,
        clusterDomain: CLUSTER_DOMAIN,
        advertiseAddress: scenario.config.controlPlanes[0].advertiseAddress,
        signal,
    });
    try {
        await cp.startEtcd();
        ctx.suite.check(`${label}: etcd healthy over mTLS (server/peer certs, healthcheck-client) after ${(cp.timings.etcd / 1000).toFixed(1)} s`, true);
        await cp.startApiserver();
        ctx.suite.check(`${label}: kube-apiserver /readyz ok with super-admin.conf after ${(cp.timings.apiserver / 1000).toFixed(1)} s`, true);
    } catch (e) {
        await cp.stop(); // its logs stay for the failure report
        throw e;
    }
    return cp;
}

export async function stepBoot(ctx: Ctx, signal: AbortSignal) {
    ctx.cp = await bootControlPlane(ctx, "e2e", ctx.main!, signal);
}

// ---------------------------------------------------------------------------------------------------- 6

export async function checkWhoami(suite: Suite, cp: ControlPlane, label: string, kubeconfig: string, username: string, groups: string[]) {
    const who = await cp.whoami(kubeconfig);
    const expectedGroups = [...groups, "system:authenticated"].sort();
    suite.check(
        `${label} → ${username} [${groups.join(", ") || "no group"}]`,
        who.username === username && JSON.stringify([...(who.groups ?? [])].sort()) === JSON.stringify(expectedGroups),
        who.error ?? `got ${who.username} [${(who.groups ?? []).join(", ")}]`,
    );
}

export async function stepIdentities(ctx: Ctx) {
    const s = ctx.suite;
    const cp = ctx.cp!;
    const main = ctx.main!;
    const kc = (node: string, file: string) => path.join(main.treeRoot, node, "etc/kubernetes", file);
    const superAdmin = kc("cp-1", "super-admin.conf");
    const admin = kc("cp-1", "admin.conf");
    const users = path.join(ctx.work, "users");
    fs.mkdirSync(users, { mode: 0o700 });
    const alice = path.join(users, "alice.conf");
    fs.writeFileSync(alice, main.outputs.kubeconfigs["users/alice.conf"], { mode: 0o600 });

    // who the apiserver says each kubeconfig is
    await checkWhoami(s, cp, "cp-1 super-admin.conf", superAdmin, "kubernetes-super-admin", ["system:masters"]);
    await checkWhoami(s, cp, "cp-1 admin.conf", admin, "kubernetes-admin", ["kubeadm:cluster-admins"]);
    await checkWhoami(s, cp, "cp-1 controller-manager.conf", kc("cp-1", "controller-manager.conf"), "system:kube-controller-manager", []);
    await checkWhoami(s, cp, "cp-1 scheduler.conf", kc("cp-1", "scheduler.conf"), "system:kube-scheduler", []);
    for (const node of ["cp-1", "worker-1", "worker-2"]) {
        await checkWhoami(s, cp, `${node} kubelet.conf`, kc(node, "kubelet.conf"), `system:node:${node}`, ["system:nodes"]);
        await checkWhoami(s, cp, `${node} kube-proxy.conf`, kc(node, "kube-proxy.conf"), "system:kube-proxy", []);
    }
    await checkWhoami(s, cp, "users/alice.conf", alice, "alice", ["dev-team"]);

    // admin.conf is powerless until kubeadm's ClusterRoleBinding exists (kubeadm ≥ 1.29)
    const before = await cp.kubectl(admin, ["get", "ns"]);
    s.check("admin.conf: `get ns` is forbidden before the kubeadm:cluster-admins binding", before.code !== 0 && /forbidden/i.test(before.output), before.output);
    const crb = await cp.kubectl(superAdmin, ["create", "clusterrolebinding", "kubeadm:cluster-admins", "--clusterrole=cluster-admin", "--group=kubeadm:cluster-admins"]);
    s.check("super-admin.conf: create ClusterRoleBinding kubeadm:cluster-admins → cluster-admin", crb.code === 0, crb.output);
    let after = await cp.kubectl(admin, ["get", "ns", "-o", "name"]);
    for (let i = 0; i < 15 && after.code !== 0; i++) {
        await sleep(1000); // RBAC informer catching up
        after = await cp.kubectl(admin, ["get", "ns", "-o", "name"]);
    }
    s.check("admin.conf: `get ns` works after the binding", after.code === 0 && after.stdout.includes("namespace/kube-system"), after.output);
    const can = await cp.kubectl(kc("cp-1", "scheduler.conf"), ["auth", "can-i", "list", "pods", "--all-namespaces"]);
    s.check("scheduler.conf: RBAC bootstrap role applies (can list pods)", can.code === 0 && can.stdout.trim() === "yes", can.output);

    // sa.key signs, sa.pub verifies
    const empty = path.join(ctx.work, "empty.kubeconfig");
    fs.writeFileSync(empty, "apiVersion: v1\nkind: Config\n", { mode: 0o600 });
    await cp.kubectl(superAdmin, ["create", "serviceaccount", "e2e", "-n", "default"]);
    const token = await cp.kubectl(superAdmin, ["create", "token", "e2e", "-n", "default", "--duration=10m"]);
    if (s.check("super-admin.conf: create a service-account token (signed with sa.key)", token.code === 0, token.output)) {
        const r = await cp.kubectl(empty, [`--server=${cp.apiserverUrl}`, `--certificate-authority=${cp.pkiFile("ca.crt")}`, `--token=${token.stdout.trim()}`, "auth", "whoami", "-o", "json"]);
        const user = r.code === 0 ? JSON.parse(r.stdout).status?.userInfo?.username : r.output;
        s.equal("the token authenticates (verified with sa.pub) as system:serviceaccount:default:e2e", user, "system:serviceaccount:default:e2e");
    }

    // front proxy: the front-proxy-client cert may assert X-Remote-User; a cluster-CA client may not
    const review = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
    const reviewPath = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    const proxied = await cp.request({
        method: "POST",
        path: reviewPath,
        ca: cp.pkiFile("ca.crt"),
        cert: cp.pkiFile("front-proxy-client.crt"),
        key: cp.pkiFile("front-proxy-client.key"),
        headers: { "X-Remote-User": "bob", "X-Remote-Group": "front-proxied" },
        body: review,
    });
    const proxiedUser = proxied.status === 201 ? JSON.parse(proxied.body).status?.userInfo : undefined;
    s.check(
        "front-proxy-client (front-proxy-ca, allowed name) asserts X-Remote-User bob / X-Remote-Group front-proxied",
        proxiedUser?.username === "bob" && proxiedUser?.groups?.includes("front-proxied"),
        `${proxied.status} ${proxied.body.slice(0, 300)}`,
    );
    const aliceCert = extractClientPair(main.outputs.kubeconfigs["users/alice.conf"], path.join(users, "alice"));
    const spoof = await cp.request({
        method: "POST",
        path: reviewPath,
        ca: cp.pkiFile("ca.crt"),
        ...aliceCert,
        headers: { "X-Remote-User": "bob" },
        body: review,
    });
    const spoofUser = spoof.status === 201 ? JSON.parse(spoof.body).status?.userInfo?.username : `${spoof.status}`;
    s.equal("X-Remote-User from a cluster-CA client cert is ignored (user stays alice)", spoofUser, "alice");

    // negatives: a foreign CA's client cert, and the apiserver's cert under the wrong CA
    const foreign = await foreignClientCert(ctx.work, ctx.env);
    const refused = await cp.request({ path: "/api", ca: cp.pkiFile("ca.crt"), cert: foreign.cert, key: foreign.key });
    s.check("a client cert from a foreign CA (CN=mallory, O=system:masters) is refused: 401", refused.status === 401, `${refused.status} ${refused.body.slice(0, 200)}`);
    const wrongCa = await cp.request({ path: "/healthz", ca: cp.pkiFile("front-proxy-ca.crt") }).then(
        (r) => `HTTP ${r.status}`,
        (e: Error) => e.message,
    );
    s.check("the apiserver's serving cert does not verify against front-proxy-ca (TLS error)", /self[- ]signed|unable to (get|verify)|certificate/i.test(wrongCa), wrongCa);

    // etcd: only etcd-ca clients
    const etcdOk = await cp.etcdctl("apiserver-etcd-client", ["get", "/registry/namespaces/default", "--keys-only"]);
    s.check("etcd accepts apiserver-etcd-client and holds the apiserver's data", etcdOk.code === 0 && etcdOk.stdout.includes("/registry/namespaces/default"), etcdOk.output);
    // the client sees a failed handshake (its wording varies); etcd's log says why it rejected the connection
    const rejections = () => (fs.readFileSync(cp.etcd!.log, "utf8").match(/rejected connection[^\n]*signed by unknown authority/g) ?? []).length;
    const rejectedBefore = rejections();
    const etcdBad = await cp.etcdctl("apiserver-kubelet-client", ["endpoint", "health"]);
    await sleep(500);
    s.check(
        "etcd refuses a client cert from the cluster CA (apiserver-kubelet-client): handshake fails, etcd logs \"certificate signed by unknown authority\"",
        etcdBad.code !== 0 && rejections() > rejectedBefore,
        `etcdctl exit ${etcdBad.code}; etcd rejections logged: ${rejections() - rejectedBefore}\n${etcdBad.output.slice(-300)}`,
    );
}

/** Writes the client cert and key of a kubeconfig to `<prefix>.crt/.key`. */
function extractClientPair(kubeconfig: string, prefix: string): { cert: string; key: string } {
    const get = (field: string) => Buffer.from(new RegExp(`${field}: (\\S+)`).exec(kubeconfig)![1], "base64");
    fs.writeFileSync(`${prefix}.crt`, get("client-certificate-data"), { mode: 0o644 });
    fs.writeFileSync(`${prefix}.key`, get("client-key-data"), { mode: 0o600 });
    return { cert: `${prefix}.crt`, key: `${prefix}.key` };
}

/** A CA nobody trusts and a client cert it signs that claims system:masters (openssl CLI). */
async function foreignClientCert(work: string, env: NodeJS.ProcessEnv): Promise<{ cert: string; key: string }> {
    const dir = path.join(work, "foreign-ca");
    fs.mkdirSync(dir, { mode: 0o700 });
    const f = (n: string) => path.join(dir, n);
    const o = { env, log: "openssl", timeoutMs: 60_000 };
    await runOk("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"), "-subj", "/CN=foreign-ca", "-days", "1",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,digitalSignature"], o);
    await runOk("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("mallory.key"), "-out", f("mallory.csr"), "-subj", "/O=system:masters/CN=mallory"], o);
    fs.writeFileSync(f("ext.cnf"), "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
    await runOk("openssl", ["x509", "-req", "-in", f("mallory.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("mallory.crt"), "-days", "1", "-extfile", f("ext.cnf")], o);
    return { cert: f("mallory.crt"), key: f("mallory.key") };
}

// ---------------------------------------------------------------------------------------------------- 7

export async function stepFidelity(ctx: Ctx, signal: AbortSignal) {
    const main = ctx.main!;
    // the program names the component after clusterName and passes the stack config as ClusterPkiArgs
    const emulated = await emulate(ctx.projectDir, ctx.work, "cluster", String(main.config.clusterName), main.config, ctx.env, signal);
    compareFidelity(ctx.suite, { nodeFiles: main.outputs.nodeFiles, kubeconfigs: main.outputs.kubeconfigs }, emulated);
}

// ---------------------------------------------------------------------------------------------------- 8

// ---------------------------------------------------------------------------------------------------- 9

export async function stepTeardown(ctx: Ctx, signal: AbortSignal) {
    // dependents first: the cluster stacks, then the root stack they reference
    for (const stack of [...ctx.stacks].reverse()) {
        try {
            const res = await pulumiOp(`destroy-${stack.name}`, signal, (o) => stack.destroy(o));
            ctx.suite.check(
                `pulumi destroy ${stack.name}: succeeded, ${res.summary.resourceChanges?.delete ?? 0} resources deleted`,
                res.summary.result === "succeeded",
                JSON.stringify(res.summary),
            );
            await ctx.ws.removeStack(stack.name);
        } catch (e) {
            ctx.suite.check(`pulumi destroy ${stack.name}`, false, (e as Error).message);
        }
    }
    const left = await ctx.ws.listStacks({ all: true });
    ctx.suite.check("no stack left in the backend", left.length === 0, left.map((l) => l.name).join(", "));
}
