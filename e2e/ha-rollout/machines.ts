/**
 * Step `rollout`: the three control-plane "machines". Machine cp-n is 127.0.0.n: its own OpenSSH server (the only
 * way kube-pki reaches it), its own root directory (the node tree kube-pki delivers lives in `<root>/cp-n`), and its
 * init — the supervisor (supervisor.ts), which runs the static pods of `<tree>/etc/kubernetes/manifests`. The step
 * writes those manifests once, as a machine's provisioning does (kubeadm writes them at `init`/`join`); from then
 * on only kube-pki's reload commands (over SSH) make a component stop and start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify as toYaml } from "yaml";
import { ControlPlane } from "../cluster";
import { Daemon, sleep, which } from "../procs";
import { Machine, prepareMachine, startSshd, stopSshd } from "../sshd";

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface Ports {
    apiserver: number;
    etcdClient: number;
    etcdPeer: number;
    controllerManager: number;
    scheduler: number;
}

export interface SupervisorEvent {
    t: number;
    component: string;
    event: "start" | "stop" | "stopped" | "exited" | "invalid-manifest";
    pid?: number;
    why?: string;
}

/**
 * How long a kube-apiserver told to stop keeps serving while its /readyz fails: HAProxy (1 s checks, fall 1) takes
 * it out of rotation first, so no request reaches a closing listener.
 */
export const SHUTDOWN_DELAY_S = 3;

export class CpMachine {
    readonly ssh: Machine;
    readonly tree: string;
    readonly cp: ControlPlane;
    supervisor?: Daemon;

    constructor(
        readonly name: string,
        readonly address: string,
        base: string,
        sshPort: number,
        readonly ports: Ports,
        all: { name: string; address: string }[],
        env: NodeJS.ProcessEnv,
        signal: AbortSignal,
        serviceCidr: string,
        clusterDomain: string,
    ) {
        const dir = path.join(base, name);
        this.ssh = { name, address, port: sshPort, dir, root: path.join(dir, "root"), hostKeyFile: path.join(dir, "host_ed25519") };
        this.tree = path.join(this.ssh.root, name);
        this.cp = new ControlPlane({
            label: name,
            nodeDir: this.tree,
            workDir: path.join(this.tree, "var/lib"),
            env,
            nodeName: name,
            ports,
            serviceCidr,
            clusterDomain,
            advertiseAddress: address,
            host: address,
            etcdInitialCluster: all.map((m) => `${m.name}=https://${m.address}:${ports.etcdPeer}`).join(","),
            // every member: a restart of the local etcd does not take this apiserver's storage away
            etcdServers: all.map((m) => `https://${m.address}:${ports.etcdClient}`),
            signal,
        });
    }

    get manifests() {
        return path.join(this.tree, "etc/kubernetes/manifests");
    }

    get events() {
        return path.join(this.ssh.dir, "supervisor", "events.jsonl");
    }

    async prepare(clientPub: string): Promise<void> {
        await prepareMachine(this.ssh, clientPub);
        fs.mkdirSync(this.ssh.root, { mode: 0o755 });
    }

    async startSshd(): Promise<void> {
        await startSshd(this.ssh);
    }

    /** Provisioning: one Pod manifest per component (command from kubeadm's flags, files from this machine's tree). */
    writeManifests(env: NodeJS.ProcessEnv): void {
        fs.mkdirSync(this.manifests, { recursive: true, mode: 0o700 });
        for (const d of ["var/lib/" + `${this.name}-etcd-data`, `var/lib/${this.name}-apiserver-certs`]) fs.mkdirSync(path.join(this.tree, d), { recursive: true, mode: 0o700 });
        const ctl = this.cp.controllerArgs({ controllerManager: this.ports.controllerManager, scheduler: this.ports.scheduler });
        // the CSR signer reads ca.key's certificate alone (kube-pki's workerPoolControlPlaneConfig): kubeadm's ca.crt
        // is the two-CA trust bundle from stage to distrust, which the signer refuses ("expected 1 certificate")
        ctl.controllerManager = ctl.controllerManager.map((a) => (a.startsWith("--cluster-signing-cert-file=") ? `--cluster-signing-cert-file=${this.cp.pkiFile("ca-signer.crt")}` : a));
        const commands: Record<Component, string[]> = {
            etcd: [which("etcd", env), ...this.cp.etcdArgs()],
            "kube-apiserver": [which("kube-apiserver", env), ...this.cp.apiserverArgs(), `--shutdown-delay-duration=${SHUTDOWN_DELAY_S}s`],
            "kube-controller-manager": [which("kube-controller-manager", env), ...ctl.controllerManager],
            "kube-scheduler": [which("kube-scheduler", env), ...ctl.scheduler],
        };
        for (const c of COMPONENTS) fs.writeFileSync(path.join(this.manifests, `${c}.yaml`), toYaml(pod(c, commands[c])), { mode: 0o600 });
    }

    /** The machine's init: the supervisor, polling the manifests every `pollMs`. */
    startSupervisor(projectDir: string, env: NodeJS.ProcessEnv, pollMs: number): void {
        fs.mkdirSync(path.dirname(this.events), { recursive: true, mode: 0o700 });
        this.supervisor = new Daemon(
            `supervisor-${this.name}`,
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(projectDir, "e2e/ha-rollout/supervisor.ts"), this.manifests, this.events, String(pollMs)],
            { ...env, TS_NODE_PROJECT: path.join(projectDir, "tsconfig.json") },
        );
    }

    /** Every event the supervisor logged so far. */
    readEvents(): SupervisorEvent[] {
        if (!fs.existsSync(this.events)) return [];
        return fs
            .readFileSync(this.events, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
    }

    /** Components started (restarts included) in [from, to). */
    startsBetween(from: number, to: number): Component[] {
        return this.readEvents()
            .filter((e) => e.event === "start" && e.t >= from && e.t < to && e.component !== "supervisor")
            .map((e) => e.component as Component);
    }

    componentLog(c: Component): string {
        return path.join(path.dirname(this.events), `${c}.log`);
    }

    async stop(): Promise<void> {
        // the supervisor stops its components (SIGTERM, graceful) and exits; its group is killed after 5 s anyway
        if (this.supervisor) {
            try {
                process.kill(this.supervisor.pgid, "SIGTERM");
            } catch {
                // gone
            }
            for (let i = 0; i < 150 && !this.supervisor.exit; i++) await sleep(100);
            await this.supervisor.stop();
        }
        await stopSshd(this.ssh);
    }
}

function pod(component: Component, command: string[]) {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: component, namespace: "kube-system", labels: { component, tier: "control-plane" } },
        spec: {
            hostNetwork: true,
            priorityClassName: "system-node-critical",
            terminationGracePeriodSeconds: 30,
            containers: [{ name: component, image: `registry.k8s.io/${component}`, command }],
        },
    };
}


