/**
 * A control plane booted from a kube-pki node tree, on loopback only (127.0.0.1 unless `host` says otherwise): etcd
 * with the tree's etcd certs (client and peer mTLS), then kube-apiserver with kubeadm's flags pointing into the tree,
 * optionally kube-controller-manager and kube-scheduler. Plus kubectl / etcdctl helpers.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { Daemon, run, RunResult, waitFor } from "./procs";

export interface ControlPlaneOptions {
    label: string;
    /** The node's root (…/cp-1): files are read from <nodeDir>/etc/kubernetes. */
    nodeDir: string;
    /** Scratch dir for etcd data and the apiserver's cert dir. */
    workDir: string;
    env: NodeJS.ProcessEnv;
    nodeName: string;
    ports: { apiserver: number; etcdClient: number; etcdPeer: number };
    serviceCidr: string;
    clusterDomain: string;
    /** kube-apiserver --advertise-address (it binds `host` whatever this is). */
    advertiseAddress: string;
    /** The loopback address etcd and the apiserver listen on; default 127.0.0.1 (127.0.0.2… for more members). */
    host?: string;
    /** etcd --initial-cluster for a multi-member cluster (`name=https://host:peerPort,...`); default: this member only. */
    etcdInitialCluster?: string;
    /** kube-apiserver --etcd-servers; default: this member's etcd only. */
    etcdServers?: string[];
    signal: AbortSignal;
}

export class ControlPlane {
    etcd?: Daemon;
    apiserver?: Daemon;
    controllerManager?: Daemon;
    scheduler?: Daemon;
    readonly pki: string;
    readonly kubeconfigDir: string;
    /** Time to etcd health and to apiserver /readyz, ms. */
    readonly timings: Record<string, number> = {};

    constructor(readonly o: ControlPlaneOptions) {
        this.kubeconfigDir = path.join(o.nodeDir, "etc/kubernetes");
        this.pki = path.join(this.kubeconfigDir, "pki");
    }

    get etcdEndpoint() {
        return `https://${this.host}:${this.o.ports.etcdClient}`;
    }

    get apiserverUrl() {
        return `https://${this.host}:${this.o.ports.apiserver}`;
    }

    get host() {
        return this.o.host ?? "127.0.0.1";
    }

    get etcdPeerUrl() {
        return `https://${this.host}:${this.o.ports.etcdPeer}`;
    }

    pkiFile(rel: string) {
        return path.join(this.pki, rel);
    }

    /** etcd's flags (kubeadm's static pod), every file from the tree; data in `<workDir>/<label>-etcd-data`. */
    etcdArgs(): string[] {
        const { o } = this;
        const data = path.join(o.workDir, `${o.label}-etcd-data`);
        const peer = this.etcdPeerUrl;
        return [
            `--name=${o.nodeName}`,
            `--data-dir=${data}`,
            `--listen-client-urls=${this.etcdEndpoint}`,
            `--advertise-client-urls=${this.etcdEndpoint}`,
            `--listen-peer-urls=${peer}`,
            `--initial-advertise-peer-urls=${peer}`,
            `--initial-cluster=${o.etcdInitialCluster ?? `${o.nodeName}=${peer}`}`,
            "--initial-cluster-state=new",
            `--cert-file=${this.pkiFile("etcd/server.crt")}`,
            `--key-file=${this.pkiFile("etcd/server.key")}`,
            `--trusted-ca-file=${this.pkiFile("etcd/ca.crt")}`,
            "--client-cert-auth=true",
            `--peer-cert-file=${this.pkiFile("etcd/peer.crt")}`,
            `--peer-key-file=${this.pkiFile("etcd/peer.key")}`,
            `--peer-trusted-ca-file=${this.pkiFile("etcd/ca.crt")}`,
            "--peer-client-cert-auth=true",
            "--snapshot-count=10000",
        ];
    }

    /** Starts etcd and (unless waitHealthy is false: a member of a cluster without quorum yet) waits for its health. */
    async startEtcd(timeoutMs = 60_000, waitHealthy = true): Promise<void> {
        const { o } = this;
        // reused when it exists: a restart from a new tree (CA rotation) keeps etcd's data
        fs.mkdirSync(path.join(o.workDir, `${o.label}-etcd-data`), { recursive: true, mode: 0o700 });
        this.etcd = new Daemon(`etcd-${o.label}`, "etcd", this.etcdArgs(), o.env);
        if (waitHealthy) await this.waitEtcdHealthy(timeoutMs);
    }

    async waitEtcdHealthy(timeoutMs = 60_000): Promise<void> {
        const { o } = this;
        this.timings.etcd = await waitFor(
            `etcd (${o.label}) health with the healthcheck-client certificate`,
            async () => {
                const r = await this.etcdctl("etcd/healthcheck-client", ["endpoint", "health"]);
                return r.code === 0 || r.output;
            },
            { timeoutMs, intervalMs: 500, daemon: this.etcd, signal: o.signal },
        );
    }

    /** etcdctl against our etcd with a client cert/key pair from the tree (path without .crt/.key). */
    etcdctl(clientPair: string, args: string[]): Promise<RunResult> {
        return run(
            "etcdctl",
            [
                `--endpoints=${this.etcdEndpoint}`,
                `--cacert=${this.pkiFile("etcd/ca.crt")}`,
                `--cert=${this.pkiFile(`${clientPair}.crt`)}`,
                `--key=${this.pkiFile(`${clientPair}.key`)}`,
                "--dial-timeout=3s",
                "--command-timeout=5s",
                ...args,
            ],
            { env: this.o.env, log: `etcdctl-${this.o.label}`, timeoutMs: 30_000, signal: this.o.signal },
        );
    }

    /** kube-apiserver's flags: kubeadm's static pod flags (controlplane/manifests.go), every file from the tree. */
    apiserverArgs(): string[] {
        const { o } = this;
        const certDir = path.join(o.workDir, `${o.label}-apiserver-certs`);
        const f = (rel: string) => this.pkiFile(rel);
        return [
            `--advertise-address=${o.advertiseAddress}`,
            `--bind-address=${this.host}`,
            `--secure-port=${o.ports.apiserver}`,
            "--allow-privileged=true",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--enable-bootstrap-token-auth=true",
            `--client-ca-file=${f("ca.crt")}`,
            `--tls-cert-file=${f("apiserver.crt")}`,
            `--tls-private-key-file=${f("apiserver.key")}`,
            `--kubelet-client-certificate=${f("apiserver-kubelet-client.crt")}`,
            `--kubelet-client-key=${f("apiserver-kubelet-client.key")}`,
            "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
            `--etcd-servers=${(o.etcdServers ?? [this.etcdEndpoint]).join(",")}`,
            `--etcd-cafile=${f("etcd/ca.crt")}`,
            `--etcd-certfile=${f("apiserver-etcd-client.crt")}`,
            `--etcd-keyfile=${f("apiserver-etcd-client.key")}`,
            `--service-account-issuer=https://kubernetes.default.svc.${o.clusterDomain}`,
            `--service-account-key-file=${f("sa.pub")}`,
            `--service-account-signing-key-file=${f("sa.key")}`,
            `--service-cluster-ip-range=${o.serviceCidr}`,
            `--proxy-client-cert-file=${f("front-proxy-client.crt")}`,
            `--proxy-client-key-file=${f("front-proxy-client.key")}`,
            `--requestheader-client-ca-file=${f("front-proxy-ca.crt")}`,
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-username-headers=X-Remote-User",
            `--cert-dir=${certDir}`,
        ];
    }

    /**
     * Starts kube-apiserver and waits for its /readyz, asked of this apiserver (--server=apiserverUrl) with
     * `readyKubeconfig` (default: this node's super-admin.conf; kubeadm writes it on the first control plane only).
     */
    async startApiserver(timeoutMs = 120_000, readyKubeconfig?: string): Promise<void> {
        const { o } = this;
        fs.mkdirSync(path.join(o.workDir, `${o.label}-apiserver-certs`), { recursive: true, mode: 0o700 });
        this.apiserver = new Daemon(`kube-apiserver-${o.label}`, "kube-apiserver", this.apiserverArgs(), o.env);
        const superAdmin = readyKubeconfig ?? path.join(this.kubeconfigDir, "super-admin.conf");
        this.timings.apiserver = await waitFor(
            `kube-apiserver (${o.label}) /readyz with ${path.basename(superAdmin)}`,
            async () => {
                const r = await this.kubectl(superAdmin, [`--server=${this.apiserverUrl}`, "get", "--raw", "/readyz"], 15_000);
                return (r.code === 0 && r.stdout.trim() === "ok") || r.output;
            },
            { timeoutMs, intervalMs: 1000, daemon: this.apiserver, signal: o.signal },
        );
    }

    /** kube-controller-manager's and kube-scheduler's flags (kubeadm's, controlplane/manifests.go), files from the tree. */
    controllerArgs(ports: { controllerManager: number; scheduler: number }, controllerManagerArgs: string[] = []): { controllerManager: string[]; scheduler: string[] } {
        const { o } = this;
        const f = (rel: string) => this.pkiFile(rel);
        const cm = path.join(this.kubeconfigDir, "controller-manager.conf");
        const sched = path.join(this.kubeconfigDir, "scheduler.conf");
        // what both components get from kubeadm: their kubeconfig for everything, a loopback secure port, leader election
        const common = (kubeconfig: string, port: number, certDir: string) => [
            `--authentication-kubeconfig=${kubeconfig}`,
            `--authorization-kubeconfig=${kubeconfig}`,
            `--kubeconfig=${kubeconfig}`,
            `--bind-address=${this.host}`,
            `--secure-port=${port}`,
            "--leader-elect=true",
            `--cert-dir=${path.join(o.workDir, `${o.label}-${certDir}-certs`)}`,
        ];
        return {
            controllerManager: [
                ...common(cm, ports.controllerManager, "kcm"),
                `--client-ca-file=${f("ca.crt")}`,
                "--cluster-name=kubernetes",
                `--cluster-signing-cert-file=${f("ca.crt")}`,
                `--cluster-signing-key-file=${f("ca.key")}`,
                "--controllers=*,bootstrapsigner,tokencleaner",
                `--requestheader-client-ca-file=${f("front-proxy-ca.crt")}`,
                `--root-ca-file=${f("ca.crt")}`,
                `--service-account-private-key-file=${f("sa.key")}`,
                "--use-service-account-credentials=true",
                ...controllerManagerArgs,
            ],
            scheduler: common(sched, ports.scheduler, "scheduler"),
        };
    }

    /**
     * kube-controller-manager and kube-scheduler with kubeadm's flags (controlplane/manifests.go), on `host`,
     * authenticated by the tree's controller-manager.conf / scheduler.conf; each is up once it holds its leader
     * Lease (which it can only take with a working kubeconfig and its bootstrap RBAC); the ms to each are in timings.
     * `controllerManagerArgs` are appended to the controller-manager's flags (e.g. a short --cluster-signing-duration).
     */
    async startControllersAndScheduler(ports: { controllerManager: number; scheduler: number }, timeoutMs = 120_000, controllerManagerArgs: string[] = []) {
        const { o } = this;
        const args = this.controllerArgs(ports, controllerManagerArgs);
        this.controllerManager = new Daemon(`kube-controller-manager-${o.label}`, "kube-controller-manager", args.controllerManager, o.env);
        this.scheduler = new Daemon(`kube-scheduler-${o.label}`, "kube-scheduler", args.scheduler, o.env);
        const superAdmin = path.join(this.kubeconfigDir, "super-admin.conf");
        const holder = (lease: string, daemon: Daemon) =>
            waitFor(
                `${lease} holds its leader Lease (${o.label})`,
                async () => {
                    const r = await this.kubectl(superAdmin, ["get", "lease", "-n", "kube-system", lease, "-o", "jsonpath={.spec.holderIdentity}"], 15_000);
                    return (r.code === 0 && r.stdout.trim() !== "") || r.output;
                },
                { timeoutMs, intervalMs: 1000, daemon, signal: o.signal },
            );
        this.timings.controllerManager = await holder("kube-controller-manager", this.controllerManager);
        this.timings.scheduler = await holder("kube-scheduler", this.scheduler);
    }

    kubectl(kubeconfig: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
        return run("kubectl", [`--kubeconfig=${kubeconfig}`, "--request-timeout=20s", ...args], {
            env: { ...this.o.env, KUBECONFIG: "" },
            log: `kubectl-${this.o.label}`,
            timeoutMs,
            signal: this.o.signal,
        });
    }

    /** `kubectl auth whoami -o json`: the user name and groups the apiserver authenticated. */
    async whoami(kubeconfig: string): Promise<{ username?: string; groups?: string[]; error?: string }> {
        const r = await this.kubectl(kubeconfig, ["auth", "whoami", "-o", "json"]);
        if (r.code !== 0) return { error: r.output.trim() };
        const info = JSON.parse(r.stdout).status?.userInfo ?? {};
        return { username: info.username, groups: info.groups ?? [] };
    }

    /**
     * A raw HTTPS request to the apiserver with an explicit client cert (e.g. a foreign CA's, or the front-proxy
     * client with X-Remote-* headers): returns the status code and body.
     */
    request(
        opts: { method?: string; path: string; ca: string; cert?: string; key?: string; headers?: Record<string, string>; body?: string },
    ): Promise<{ status: number; body: string }> {
        return new Promise((resolve, reject) => {
            const req = https.request(
                {
                    host: this.host,
                    port: this.o.ports.apiserver,
                    method: opts.method ?? "GET",
                    path: opts.path,
                    ca: fs.readFileSync(opts.ca),
                    cert: opts.cert ? fs.readFileSync(opts.cert) : undefined,
                    key: opts.key ? fs.readFileSync(opts.key) : undefined,
                    servername: "kubernetes",
                    headers: { "Content-Type": "application/json", ...(opts.headers ?? {}) },
                    timeout: 20_000,
                },
                (res) => {
                    let body = "";
                    res.on("data", (d) => (body += d));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
                },
            );
            req.on("timeout", () => req.destroy(new Error("request timed out")));
            req.on("error", reject);
            req.end(opts.body);
        });
    }

    async stop(): Promise<void> {
        await this.scheduler?.stop();
        await this.controllerManager?.stop();
        await this.apiserver?.stop();
        await this.etcd?.stop();
    }
}
