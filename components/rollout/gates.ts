/**
 * Health gates (docs/rollout.md#gates), run from the operator's side (the process that runs `pulumi up`) after a
 * node's reloads and before the next node:
 *  - kube-apiserver: `GET https://<advertiseAddress>:<bindPort>/readyz` verified against the node's delivered
 *    trust bundle (pki/ca.crt: the cluster's current one), authenticated with the node's delivered
 *    apiserver-kubelet-client certificate, and the served certificate must be the delivered pki/apiserver.crt;
 *  - etcd: `GET /health` with the delivered healthcheck-client certificate against pki/etcd/ca.crt, the served
 *    certificate = the delivered etcd/server.crt, and quorum: a leader (`/v3/maintenance/status`) and every
 *    expected member listed (`/v3/cluster/member/list`).
 * Each gate is retried until it passes or the gate timeout ends; then it fails naming the node, the check and the
 * last response.
 */
import * as https from "node:https";
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";

export interface HttpsProbe {
    host: string;
    port: number;
    path: string;
    method?: "GET" | "POST";
    body?: string;
    ca: string;
    cert?: string;
    key?: string;
    timeoutMs?: number;
}

export interface ProbeResult {
    status?: number;
    body: string;
    /** DER of the served leaf certificate */
    served?: Buffer;
    error?: string;
}

/** One HTTPS request, the server verified against `ca` (no fallback to the system store). */
export function probe(p: HttpsProbe): Promise<ProbeResult> {
    return new Promise((resolve) => {
        let served: Buffer | undefined;
        const req = https.request(
            {
                host: p.host,
                port: p.port,
                path: p.path,
                method: p.method ?? "GET",
                ca: p.ca,
                cert: p.cert,
                key: p.key,
                agent: false,
                timeout: p.timeoutMs ?? 5000,
                headers: p.body !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(p.body) } : {},
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (d: string) => {
                    if (body.length < 65536) body += d;
                });
                res.on("end", () => resolve({ status: res.statusCode, body, served }));
            },
        );
        req.on("socket", (s) => s.once("secureConnect", () => (served = (s as TLSSocket).getPeerCertificate()?.raw)));
        req.on("timeout", () => req.destroy(new Error(`no answer within ${p.timeoutMs ?? 5000} ms`)));
        req.on("error", (e: Error & { code?: string }) => resolve({ body: "", served, error: e.code ? `${e.code}: ${e.message}` : e.message }));
        req.end(p.body);
    });
}

/** DER of the first certificate of a PEM (a delivered leaf file). */
export function derOf(pem: string): Buffer {
    return new X509Certificate(pem).raw;
}

export type CheckOutcome = { ok: true; detail: string } | { ok: false; detail: string };

/** A check to retry: its name (for the error) and one attempt. */
export interface Gate {
    node: string;
    check: string;
    attempt: () => Promise<CheckOutcome>;
}

export const gateHooks: { sleep: (ms: number) => Promise<void> } = { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** Retries a gate until it passes or `timeoutSeconds` ran out; throws naming the node, the check and the last answer. */
export async function runGate(g: Gate, timeoutSeconds: number, intervalMs = 1000): Promise<string> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = "";
    for (;;) {
        const r = await g.attempt();
        if (r.ok) return `${g.check}: ${r.detail}`;
        last = r.detail;
        if (Date.now() + intervalMs > deadline) break;
        await gateHooks.sleep(intervalMs);
    }
    throw new Error(
        `kube-pki rollout: node ${g.node}: gate "${g.check}" did not pass within ${timeoutSeconds}s (kube-pki:rollout.gateTimeout); last: ${last}. ` +
            `The nodes after ${g.node} were not touched; fix the node and run \`pulumi up\` again: it re-runs this node's reloads and gates, then goes on.`,
    );
}

const answer = (r: ProbeResult) => (r.error ? r.error : `HTTP ${r.status} ${JSON.stringify(r.body.slice(0, 200))}`);

/** The served certificate is the delivered one. */
function servedProblem(r: ProbeResult, deliveredPem: string, file: string): string | undefined {
    if (!r.served) return undefined;
    if (r.served.equals(derOf(deliveredPem))) return undefined;
    let what = "another certificate";
    try {
        const x = new X509Certificate(r.served);
        what = `serial ${x.serialNumber}, not after ${x.validTo}`;
    } catch {
        // keep the generic text
    }
    return `serves ${what}, not the delivered ${file} (not reloaded yet)`;
}

export interface ApiserverGateArgs {
    node: string;
    address: string;
    port: number;
    bundle: string;
    servingCert: string;
    clientCert?: string;
    clientKey?: string;
}

export function apiserverGate(a: ApiserverGateArgs): Gate {
    return {
        node: a.node,
        check: `kube-apiserver /readyz at ${a.address}:${a.port}`,
        attempt: async () => {
            const r = await probe({ host: a.address, port: a.port, path: "/readyz", ca: a.bundle, cert: a.clientCert, key: a.clientKey });
            const sp = servedProblem(r, a.servingCert, "pki/apiserver.crt");
            if (sp) return { ok: false, detail: sp };
            if (r.status === 200) return { ok: true, detail: `ready, serving the delivered pki/apiserver.crt` };
            return { ok: false, detail: answer(r) };
        },
    };
}

export interface EtcdGateArgs {
    node: string;
    address: string;
    port: number;
    ca: string;
    servingCert: string;
    clientCert: string;
    clientKey: string;
    /** the member names that must be listed (the cluster's etcd members) */
    members: string[];
}

export function etcdGates(a: EtcdGateArgs): Gate[] {
    const base = { host: a.address, port: a.port, ca: a.ca, cert: a.clientCert, key: a.clientKey };
    return [
        {
            node: a.node,
            check: `etcd member health at ${a.address}:${a.port}`,
            attempt: async () => {
                const r = await probe({ ...base, path: "/health" });
                const sp = servedProblem(r, a.servingCert, "pki/etcd/server.crt");
                if (sp) return { ok: false, detail: sp };
                if (r.status === 200 && /"health"\s*:\s*"true"/.test(r.body)) return { ok: true, detail: "healthy, serving the delivered pki/etcd/server.crt" };
                return { ok: false, detail: answer(r) };
            },
        },
        {
            node: a.node,
            check: `etcd quorum via ${a.address}:${a.port}`,
            attempt: async () => {
                const st = await probe({ ...base, path: "/v3/maintenance/status", method: "POST", body: "{}" });
                let leader = "";
                try {
                    leader = String(JSON.parse(st.body).leader ?? "");
                } catch {
                    return { ok: false, detail: `status: ${answer(st)}` };
                }
                if (!leader || leader === "0") return { ok: false, detail: `no leader (status: ${answer(st)})` };
                const ml = await probe({ ...base, path: "/v3/cluster/member/list", method: "POST", body: "{}" });
                let names: string[] = [];
                try {
                    names = (JSON.parse(ml.body).members ?? []).map((m: { name?: string }) => m.name ?? "");
                } catch {
                    return { ok: false, detail: `member list: ${answer(ml)}` };
                }
                const missing = a.members.filter((m) => !names.includes(m));
                if (missing.length > 0) return { ok: false, detail: `members not listed: ${missing.join(", ")} (listed: ${names.join(", ") || "none"})` };
                return { ok: true, detail: `leader ${leader}, ${names.length} member(s) listed` };
            },
        },
    ];
}
