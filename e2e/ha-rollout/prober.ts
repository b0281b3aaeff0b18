/**
 * Step `rollout`: the clients. A prober that never pauses sends SelfSubjectReviews through HAProxy, round-robin,
 * with every credential in use, each read from the machines' delivered files at request time (a client holds what
 * was last delivered to it); an etcd poller asks every member's /health with the healthcheck-client and records
 * how many answered healthy (quorum: 2 of 3).
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as tls from "node:tls";
import { parse as parseYaml } from "yaml";
import { sleep } from "../procs";
import { Cred, selfSubjectReview } from "../rotation/probes";

const b64 = (v: string) => Buffer.from(v, "base64").toString("utf8");

/** A credential source: reads the files afresh, until the cert and key it read belong together (a write between two reads). */
export interface Source {
    label: string;
    user: string;
    get: () => Cred;
}

function matched(read: () => Cred): Cred {
    for (let i = 0; ; i++) {
        const c = read();
        if (!c.cert || !c.key) return c;
        try {
            if (new X509Certificate(c.cert).checkPrivateKey(createPrivateKey(c.key))) return c;
        } catch {
            // a file read mid-rename: read again
        }
        if (i >= 5) return c;
    }
}

export function kubeconfigSource(label: string, file: string, user: string): Source {
    return {
        label,
        user,
        get: () =>
            matched(() => {
                const kc = parseYaml(fs.readFileSync(file, "utf8"));
                const ca = b64(kc.clusters[0].cluster["certificate-authority-data"]);
                return { label, user, ca: () => ca, cert: b64(kc.users[0].user["client-certificate-data"]), key: b64(kc.users[0].user["client-key-data"]) };
            }),
    };
}

export function certSource(label: string, user: string, files: { ca: string; cert: string; key: string }, headers?: Record<string, string>): Source {
    return {
        label,
        user,
        get: () =>
            matched(() => {
                const ca = fs.readFileSync(files.ca, "utf8");
                return { label, user, ca: () => ca, cert: fs.readFileSync(files.cert, "utf8"), key: fs.readFileSync(files.key, "utf8"), headers };
            }),
    };
}

export function tokenSource(label: string, user: string, caFile: string, token: () => string): Source {
    return { label, user, get: () => ({ label, user, ca: () => fs.readFileSync(caFile, "utf8"), token: token() }) };
}

export interface Failure {
    t: number;
    label: string;
    why: string;
}

/** Round-robin SelfSubjectReviews through the load balancer, from start() to stop(), never paused. */
export class Prober {
    total = 0;
    failed = 0;
    readonly failures: Failure[] = [];
    readonly perLabel = new Map<string, number>();
    startedAt = 0;
    stoppedAt = 0;
    private stopped = false;
    private loops: Promise<void>[] = [];

    constructor(private readonly port: number, private readonly sources: Source[], private readonly workers = 2) {}

    start() {
        this.startedAt = Date.now();
        for (let w = 0; w < this.workers; w++) this.loops.push(this.loop(w));
    }

    private async loop(w: number) {
        for (let i = w; !this.stopped; i += this.workers) {
            const src = this.sources[i % this.sources.length];
            let why: string | undefined;
            try {
                const r = await selfSubjectReview(this.port, src.get());
                if (r.status !== 201 || r.user !== src.user) why = `HTTP ${r.status}, user ${r.user} (expected ${src.user}) ${r.body.slice(0, 160)}`;
            } catch (e) {
                why = (e as Error).message;
            }
            this.total++;
            this.perLabel.set(src.label, (this.perLabel.get(src.label) ?? 0) + 1);
            if (why) {
                this.failed++;
                if (this.failures.length < 30) this.failures.push({ t: Date.now(), label: src.label, why });
            }
            await sleep(20);
        }
    }

    /** Requests per second over the prober's life. */
    get rate(): number {
        const end = this.stoppedAt || Date.now();
        return this.total / Math.max(1, (end - this.startedAt) / 1000);
    }

    async stop() {
        this.stopped = true;
        await Promise.all(this.loops);
        this.stoppedAt = Date.now();
    }
}

/** GET /health of one etcd member with a client cert: true when it answers {"health":"true"} (it has a leader). */
export async function etcdHealth(host: string, port: number, tls: { ca: string; cert: string; key: string }): Promise<boolean> {
    return (await etcdHealthAnswer(host, port, tls)).ok;
}

/** GET /health: ok, or why not (etcd's `reason`, the HTTP status, the client error). */
export function etcdHealthAnswer(host: string, port: number, tls: { ca: string; cert: string; key: string }): Promise<{ ok: boolean; reason: string }> {
    return new Promise((resolve) => {
        let req: ReturnType<typeof https.request>;
        try {
            req = https.request({ host, port, path: "/health", ...tls, agent: false, timeout: 3000 }, (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => {
                    try {
                        const j = JSON.parse(body);
                        resolve({ ok: res.statusCode === 200 && j.health === "true", reason: String(j.reason ?? `HTTP ${res.statusCode}`) });
                    } catch {
                        resolve({ ok: false, reason: `HTTP ${res.statusCode} ${body.slice(0, 80)}` });
                    }
                });
            });
        } catch (e) {
            // a context that cannot be built (never a pair read mid-rename: the poller reads matched pairs)
            return resolve({ ok: false, reason: (e as Error).message });
        }
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => resolve({ ok: false, reason: e.message }));
        req.end();
    });
}

/** An etcd client's files read until the cert and key belong together (a delivery renamed the dir between two reads). */
export function matchedTls(read: () => { ca: string; cert: string; key: string }) {
    const c = matched(() => {
        const t = read();
        return { label: "", user: "", ca: () => t.ca, cert: t.cert, key: t.key };
    });
    return { ca: c.ca(), cert: c.cert!, key: c.key! };
}

/** Polls every member's /health (each with its own machine's healthcheck-client and etcd CA) until stopped. */
export class QuorumPoller {
    polls = 0;
    minHealthy = Infinity;
    /** polls that met a leader election (answers "leader changed", asked again) */
    leaderChanges = 0;
    readonly lost: { t: number; healthy: string[]; why: string }[] = [];
    private stopped = false;
    private loop: Promise<void> = Promise.resolve();

    constructor(private readonly members: { name: string; host: string; port: number; tls: () => { ca: string; cert: string; key: string } }[], private readonly intervalMs = 1000) {}

    start() {
        this.loop = (async () => {
            while (!this.stopped) {
                const ask = (m: (typeof this.members)[number]) => etcdHealthAnswer(m.host, m.port, matchedTls(m.tls));
                const answers = await Promise.all(this.members.map(ask));
                // A stopped leader hands its leadership over (etcd's graceful stop); the members answer /health
                // "leader changed" or "RAFT NO LEADER" while that election runs (one election timeout, 1 s by
                // default, randomized up to 2 s). That is not a lost quorum: such a member is asked again every
                // 500 ms for up to 2 s, and only what it then answers counts (still no leader: counted lost).
                const electing = (a: { ok: boolean; reason: string }) => !a.ok && /leader changed|no leader/i.test(a.reason);
                if (answers.some(electing)) {
                    this.leaderChanges++;
                    for (let tries = 0; tries < 4 && answers.some(electing); tries++) {
                        await sleep(500);
                        await Promise.all(this.members.map(async (m, i) => electing(answers[i]) && (answers[i] = await ask(m))));
                    }
                }
                const names = this.members.filter((_, i) => answers[i].ok).map((m) => m.name);
                this.polls++;
                this.minHealthy = Math.min(this.minHealthy, names.length);
                if (names.length <= this.members.length / 2) this.lost.push({ t: Date.now(), healthy: names, why: answers.map((a, i) => `${this.members[i].name}: ${a.ok ? "ok" : a.reason}`).join("; ") });
                await sleep(this.intervalMs);
            }
        })();
    }

    async stop() {
        this.stopped = true;
        await this.loop;
    }
}

/** SHA-256 fingerprint of the certificate a TLS server presents (not verified: compared with a file instead). */
export function presentedFingerprint(host: string, port: number, client?: { cert: string; key: string }): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host, port, rejectUnauthorized: false, timeout: 5000, ...client }, () => {
            const fp = socket.getPeerCertificate().fingerprint256 ?? "";
            socket.end();
            resolve(fp);
        });
        socket.on("timeout", () => socket.destroy(new Error("timeout")));
        socket.on("error", reject);
    });
}

/** The fingerprint of the first certificate of a PEM file, as presentedFingerprint() prints it. */
export function fileFingerprint(file: string): string {
    return new X509Certificate(fs.readFileSync(file)).fingerprint256;
}
