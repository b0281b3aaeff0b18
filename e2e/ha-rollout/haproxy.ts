/**
 * Step `rollout`: the load balancer in front of the three kube-apiservers — Debian's HAProxy, on loopback, in TCP
 * mode (TLS passes through: clients verify the apiservers and authenticate to them end to end).
 *  - health: `option httpchk GET /readyz` over TLS (`check-ssl`), every second; one failed check takes a server out
 *    (`fall 1`), two good ones put it back. /readyz is readable anonymously (system:public-info-viewer). The check
 *    does not verify the serving certificate (`verify none`): its signer changes during the rotation and HAProxy
 *    reads a ca-file once; the prober verifies every connection it makes against the trust its credential holds.
 *  - a kube-apiserver that is told to stop reports /readyz failed for `--shutdown-delay-duration` while it keeps
 *    serving, so HAProxy drains it before its listener closes; connection failures are retried on another server
 *    (`retries`, `option redispatch 1`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Daemon, sleep } from "../procs";

export const HAPROXY = "/usr/sbin/haproxy";

export interface Backend {
    name: string;
    address: string;
    port: number;
}

export function haproxyConfig(dir: string, bind: { address: string; port: number }, backends: Backend[]): string {
    return [
        "global",
        "    log stderr format raw local0",
        `    stats socket ${path.join(dir, "haproxy.sock")} mode 600 level admin`,
        "defaults",
        "    mode tcp",
        "    log global",
        "    option tcplog",
        "    option log-health-checks",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout check 2s",
        "    retries 3",
        "    option redispatch 1",
        "frontend kube-apiserver",
        `    bind ${bind.address}:${bind.port}`,
        "    default_backend kube-apiservers",
        "backend kube-apiservers",
        "    balance roundrobin",
        "    option httpchk GET /readyz",
        "    http-check expect status 200",
        "    default-server inter 1s fastinter 500ms fall 1 rise 2 check check-ssl verify none",
        ...backends.map((b) => `    server ${b.name} ${b.address}:${b.port}`),
        "",
    ].join("\n");
}

export class HaProxy {
    daemon?: Daemon;
    readonly config: string;

    constructor(readonly dir: string, readonly bind: { address: string; port: number }, readonly backends: Backend[]) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        this.config = path.join(dir, "haproxy.cfg");
        fs.writeFileSync(this.config, haproxyConfig(dir, bind, backends));
    }

    static binary(): string {
        if (!fs.existsSync(HAPROXY)) throw new Error(`${HAPROXY} not found: install Debian's haproxy (apt-get install -y haproxy)`);
        return HAPROXY;
    }

    async start(env: NodeJS.ProcessEnv): Promise<void> {
        const bin = HaProxy.binary();
        this.daemon = new Daemon("haproxy", bin, ["-db", "-f", this.config], env);
        for (let i = 0; i < 100; i++) {
            if (this.daemon.exit) throw new Error(`haproxy ${this.daemon.exit}: ${fs.readFileSync(this.daemon.log, "utf8").slice(-1500)}`);
            if (fs.existsSync(path.join(this.dir, "haproxy.sock"))) return;
            await sleep(100);
        }
        throw new Error(`haproxy did not start: ${fs.readFileSync(this.daemon.log, "utf8").slice(-1500)}`);
    }

    /** Server state transitions HAProxy logged ("Health check for server kube-apiservers/cp-2 failed ..."), in order. */
    transitions(): string[] {
        if (!this.daemon) return [];
        return fs
            .readFileSync(this.daemon.log, "utf8")
            .split("\n")
            .filter((l) => /Server kube-apiservers\/\S+ is (UP|DOWN)/.test(l))
            .map((l) => /Server kube-apiservers\/(\S+ is (UP|DOWN))/.exec(l)![1]);
    }

    async stop(): Promise<void> {
        await this.daemon?.stop();
    }
}

