/**
 * Step `rollout`: pool machines — real kubelets that join by TLS bootstrap with only what kube-pki hands a pool
 * (bootstrap-kubelet.conf + pki/ca.crt from the pool's file map, the kubelet config fragment), through HAProxy,
 * against one containerd (Debian's, started in the work dir). Two kubelets share the host, so neither makes QoS
 * cgroups (`cgroupsPerQOS: false`). A kubelet is alive when it keeps renewing its Lease in kube-node-lease (every
 * 10 s, with its own client certificate, through the load balancer).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { cleanupKubeletHost, kubepodsCgroups, requireContainerd, startContainerd } from "../containerd";
import { Daemon, freePort, waitFor } from "../procs";

export interface PoolFiles {
    bootstrapConf: string;
    caCrt: string;
    kubeletConfig: string;
}

export class PoolMachine {
    kubelet?: Daemon;
    /** when it was provisioned (its files are the pool's files of that moment) */
    readonly joinedAt = Date.now();
    constructor(readonly name: string, readonly dir: string) {}

    get kubeconfig() {
        return path.join(this.dir, "kubelet.conf");
    }

    get certFile() {
        return path.join(this.dir, "pki", "kubelet-client-current.pem");
    }
}

export class Pool {
    private containerd?: Daemon;
    private endpoint = "";
    readonly machines: PoolMachine[] = [];
    private readonly cgroupsBefore = kubepodsCgroups();

    constructor(readonly dir: string, readonly env: NodeJS.ProcessEnv, readonly signal: AbortSignal) {
        requireContainerd(env);
    }

    /** A new pool machine, provisioned with the pool's files as they are now, its kubelet started (bootstrapping). */
    async join(name: string, files: PoolFiles): Promise<PoolMachine> {
        if (!this.containerd) {
            const runtime = await startContainerd(path.join(this.dir, "containerd"), this.env, this.signal);
            this.containerd = runtime.daemon;
            this.endpoint = runtime.endpoint;
        }
        const m = new PoolMachine(name, path.join(this.dir, name));
        fs.mkdirSync(path.join(m.dir, "pki"), { recursive: true, mode: 0o700 });
        const bootstrap = path.join(m.dir, "bootstrap-kubelet.conf");
        const ca = path.join(m.dir, "ca.crt");
        fs.writeFileSync(bootstrap, files.bootstrapConf, { mode: 0o600 });
        fs.writeFileSync(ca, files.caCrt, { mode: 0o644 });
        const fragment = parseYaml(files.kubeletConfig);
        const config = path.join(m.dir, "config.yaml");
        fs.writeFileSync(
            config,
            JSON.stringify({
                ...fragment,
                rotateCertificates: true,
                containerRuntimeEndpoint: this.endpoint,
                cgroupDriver: "cgroupfs",
                cgroupsPerQOS: false,
                enforceNodeAllocatable: [],
                authentication: { ...fragment.authentication, x509: { clientCAFile: ca } },
                failSwapOn: false,
                address: "127.0.0.1",
                port: await freePort(),
                healthzPort: 0,
                readOnlyPort: 0,
            }),
        );
        m.kubelet = new Daemon(`kubelet-${name}`, "kubelet", [
            `--bootstrap-kubeconfig=${bootstrap}`,
            `--kubeconfig=${m.kubeconfig}`,
            `--config=${config}`,
            `--cert-dir=${path.join(m.dir, "pki")}`,
            `--root-dir=${path.join(m.dir, "root")}`,
            `--hostname-override=${name}`,
            "-v=2",
        ], this.env);
        this.machines.push(m);
        await waitFor(`${name}: the kubelet's client certificate (TLS bootstrap through HAProxy)`, async () => (fs.existsSync(m.certFile) && fs.existsSync(m.kubeconfig)) || "not yet", {
            timeoutMs: 180_000,
            daemon: m.kubelet,
            signal: this.signal,
        });
        return m;
    }

    /** Removes a machine from the pool (its kubelet stopped): a pool is rolled by replacing its machines. */
    async retire(m: PoolMachine): Promise<void> {
        await m.kubelet?.stop();
        m.kubelet = undefined;
    }

    async stop(): Promise<{ removed: string[]; left: string[] }> {
        for (const m of this.machines) await m.kubelet?.stop();
        await this.containerd?.stop();
        return cleanupKubeletHost(this.dir, this.cgroupsBefore, this.env);
    }
}
