/** Step "ca-rotation": the requests clients make with the credentials they hold, and the background prober. */
import * as https from "node:https";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { run, sleep } from "../procs";
import { at, read, sha } from "./fixture";

// ------------------------------------------------------------------------------------------------ requests

/** A credential a client holds: how it authenticates, what it trusts for the serving cert, whom it must be. */
export interface Cred {
    label: string;
    user: string;
    /** The CA data the client verifies the apiserver with (read at request time). */
    ca: () => string;
    cert?: string;
    key?: string;
    token?: string;
    headers?: Record<string, string>;
}

export function kubeconfigCred(label: string, file: string, user: string): Cred {
    const kc = parseYaml(read(file));
    const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");
    const ca = b64(kc.clusters[0].cluster["certificate-authority-data"]);
    return { label, user, ca: () => ca, cert: b64(kc.users[0].user["client-certificate-data"]), key: b64(kc.users[0].user["client-key-data"]) };
}

/** A SelfSubjectReview over a fresh TLS connection (no keep-alive: every request re-verifies both certificates). */
export function selfSubjectReview(port: number, cred: Cred): Promise<{ status: number; user?: string; body: string }> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            {
                host: "127.0.0.1",
                port,
                method: "POST",
                path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                ca: cred.ca(),
                cert: cred.cert,
                key: cred.key,
                agent: false,
                headers: {
                    "Content-Type": "application/json",
                    ...(cred.token ? { Authorization: `Bearer ${cred.token}` } : {}),
                    ...(cred.headers ?? {}),
                },
                timeout: 20_000,
            },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => {
                    let user: string | undefined;
                    try {
                        user = JSON.parse(body).status?.userInfo?.username;
                    } catch {
                        // not JSON (e.g. a 401 body)
                    }
                    resolve({ status: res.statusCode ?? 0, user, body });
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error("request timed out after 20 s")));
        req.on("error", reject);
        req.end(JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }));
    });
}

/** GET on etcd's peer port (rafthttp's /members) with a peer cert: peer mTLS as another member would use it. */
export function etcdPeerMembers(port: number, ca: string, cert: string, key: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = https.request(
            { host: "127.0.0.1", port, path: "/members", ca, cert, key, agent: false, timeout: 10_000 },
            (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode} ${body.slice(0, 200)}`))));
            },
        );
        req.on("timeout", () => req.destroy(new Error("request timed out")));
        req.on("error", reject);
        req.end();
    });
}

/**
 * The background prober: round-robin SelfSubjectReviews with the credentials currently held, one at a time,
 * only while resumed (it is paused around the deliberate restarts). Every request counts; a failure is any
 * answer other than 201 with the expected user.
 */
export class Prober {
    total = 0;
    failed = 0;
    readonly failures: string[] = [];
    readonly perWindow: { window: string; requests: number; failed: number; creds: number }[] = [];
    private creds: Cred[] = [];
    private next = 0;
    private paused = true;
    private stopped = false;
    private inflight: Promise<void> = Promise.resolve();
    private loop: Promise<void> = Promise.resolve();

    constructor(private readonly port: number, private readonly intervalMs: number) {}

    start() {
        this.loop = this.run();
    }

    /** Replaces the held credentials (duplicates by content are probed once) and opens a new counting window. */
    hold(window: string, creds: Cred[]) {
        const seen = new Set<string>();
        this.creds = creds.filter((c) => {
            const id = sha(`${c.cert ?? ""}|${c.token ?? ""}|${JSON.stringify(c.headers ?? {})}|${c.ca()}`);
            if (seen.has(id)) return false;
            seen.add(id);
            return true;
        });
        this.perWindow.push({ window, requests: 0, failed: 0, creds: this.creds.length });
    }

    get held(): string[] {
        return this.creds.map((c) => c.label);
    }

    private async run() {
        while (!this.stopped) {
            if (this.paused || this.creds.length === 0) {
                await sleep(50);
                continue;
            }
            const cred = this.creds[this.next++ % this.creds.length];
            this.inflight = this.once(cred);
            await this.inflight;
            await sleep(this.intervalMs);
        }
    }

    private async once(cred: Cred) {
        const window = this.perWindow[this.perWindow.length - 1];
        this.total++;
        window.requests++;
        let why: string | undefined;
        try {
            const r = await selfSubjectReview(this.port, cred);
            if (r.status !== 201 || r.user !== cred.user) why = `HTTP ${r.status}, user ${r.user} (expected ${cred.user}) ${r.body.slice(0, 160)}`;
        } catch (e) {
            why = (e as Error).message;
        }
        if (why) {
            this.failed++;
            window.failed++;
            if (this.failures.length < 20) this.failures.push(`[${new Date().toISOString()}] ${window.window}: ${cred.label}: ${why}`);
        }
    }

    /** Stops sending and waits for the request in flight. */
    async pause() {
        this.paused = true;
        await this.inflight;
    }

    resume() {
        this.paused = false;
    }

    /** Waits (at most `timeoutMs`) until every held credential has been probed at least once in the current window. */
    async fullRound(timeoutMs: number) {
        const window = this.perWindow[this.perWindow.length - 1];
        const deadline = Date.now() + timeoutMs;
        while (window && window.requests < this.creds.length && Date.now() < deadline) await sleep(100);
    }

    async stop() {
        this.stopped = true;
        await this.inflight;
        await this.loop;
    }
}

