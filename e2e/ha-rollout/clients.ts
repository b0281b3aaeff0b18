/**
 * Step `rollout`: what the clients hold. The credential sources the prober uses (each read from a machine's
 * delivered files at request time), the service-account token (minted through the load balancer with TokenRequest
 * and refreshed), and the requests that must be refused once a CA is distrusted.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { sleep } from "../procs";
import { Cred, selfSubjectReview } from "../rotation/probes";
import { CpMachine } from "./machines";
import { certSource, etcdHealth, kubeconfigSource, Source, tokenSource } from "./prober";

export const SA = { namespace: "default", name: "rollout-prober" };
export const SA_USER = `system:serviceaccount:${SA.namespace}:${SA.name}`;

const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");

/** The admin identity from a kubeconfig's text (for the token requests). */
export function kubeconfigTls(text: string): { ca: string; cert: string; key: string } {
    const kc = parseYaml(text);
    return {
        ca: b64(kc.clusters[0].cluster["certificate-authority-data"]),
        cert: b64(kc.users[0].user["client-certificate-data"]),
        key: b64(kc.users[0].user["client-key-data"]),
    };
}

/** TokenRequest for the prober's service account through the load balancer, authenticated with admin.conf. */
export function requestToken(lbPort: number, admin: { ca: string; cert: string; key: string }): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: "127.0.0.1",
                port: lbPort,
                method: "POST",
                path: `/api/v1/namespaces/${SA.namespace}/serviceaccounts/${SA.name}/token`,
                ...admin,
                agent: false,
                headers: { "Content-Type": "application/json" },
                timeout: 20_000,
            },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => {
                    const token = res.statusCode === 201 ? JSON.parse(body).status?.token : undefined;
                    if (token) resolve(token);
                    else reject(new Error(`TokenRequest: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error("TokenRequest timed out")));
        req.on("error", reject);
        req.end(JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } }));
    });
}

/** The service-account token the prober holds: minted now, refreshed every `everyMs` and on demand. */
export class TokenHolder {
    token = "";
    refreshes = 0;
    readonly failures: string[] = [];
    private stopped = false;
    private loop: Promise<void> = Promise.resolve();

    constructor(private readonly lbPort: number, private readonly adminConf: string) {}

    async refresh(): Promise<void> {
        try {
            this.token = await requestToken(this.lbPort, kubeconfigTls(fs.readFileSync(this.adminConf, "utf8")));
            this.refreshes++;
        } catch (e) {
            this.failures.push(`[${new Date().toISOString()}] ${(e as Error).message}`);
        }
    }

    start(everyMs: number) {
        this.loop = (async () => {
            while (!this.stopped) {
                for (let i = 0; i < everyMs / 200 && !this.stopped; i++) await sleep(200);
                if (!this.stopped) await this.refresh();
            }
        })();
    }

    async stop() {
        this.stopped = true;
        await this.loop;
    }
}

/** Every credential in use, each from the machine that holds it. */
export function sources(m: CpMachine[], tokens: TokenHolder): Source[] {
    const conf = (i: number, f: string) => path.join(m[i].cp.kubeconfigDir, f);
    const pki = (i: number, f: string) => m[i].cp.pkiFile(f);
    return [
        kubeconfigSource("admin.conf (cp-1)", conf(0, "admin.conf"), "kubernetes-admin"),
        kubeconfigSource("controller-manager.conf (cp-2)", conf(1, "controller-manager.conf"), "system:kube-controller-manager"),
        kubeconfigSource("scheduler.conf (cp-3)", conf(2, "scheduler.conf"), "system:kube-scheduler"),
        kubeconfigSource("kubelet.conf (cp-3)", conf(2, "kubelet.conf"), "system:node:cp-3"),
        certSource(
            "front-proxy-client (cp-2) + X-Remote-User",
            "proxied-user",
            { ca: pki(1, "ca.crt"), cert: pki(1, "front-proxy-client.crt"), key: pki(1, "front-proxy-client.key") },
            { "X-Remote-User": "proxied-user", "X-Remote-Group": "proxied" },
        ),
        tokenSource("service-account token", SA_USER, pki(0, "ca.crt"), () => tokens.token),
    ];
}

/** What a client held before the CA rotation, kept to show it is refused after distrust. */
export interface OldCredentials {
    admin: Cred;
    frontProxy: Cred;
    token: string;
    etcdClient: { cert: string; key: string };
}

export function keepOld(m: CpMachine[], tokens: TokenHolder): OldCredentials {
    const admin = kubeconfigSource("old admin.conf", path.join(m[0].cp.kubeconfigDir, "admin.conf"), "kubernetes-admin").get();
    const pki = (f: string) => fs.readFileSync(m[0].cp.pkiFile(f), "utf8");
    return {
        admin: { ...admin, ca: () => "" },
        frontProxy: { label: "old front-proxy-client", user: "proxied-user", ca: () => "", cert: pki("front-proxy-client.crt"), key: pki("front-proxy-client.key"), headers: { "X-Remote-User": "proxied-user" } },
        token: tokens.token,
        etcdClient: { cert: pki("etcd/healthcheck-client.crt"), key: pki("etcd/healthcheck-client.key") },
    };
}

/** Each old credential against the distrusted cluster (the server verified with the current CA): what it got. */
export async function oldCredentialAnswers(lbPort: number, m: CpMachine[], old: OldCredentials, etcdPort: number) {
    const ca = fs.readFileSync(m[0].cp.pkiFile("ca.crt"), "utf8");
    const status = async (c: Cred) => {
        try {
            return (await selfSubjectReview(lbPort, { ...c, ca: () => ca })).status;
        } catch (e) {
            return (e as Error).message;
        }
    };
    const etcdCa = fs.readFileSync(m[0].cp.pkiFile("etcd/ca.crt"), "utf8");
    return {
        admin: await status(old.admin),
        frontProxy: await status(old.frontProxy),
        token: await status({ label: "old token", user: SA_USER, ca: () => ca, token: old.token }),
        etcd: await Promise.all(m.map((x) => etcdHealth(x.address, etcdPort, { ca: etcdCa, ...old.etcdClient }))),
    };
}
