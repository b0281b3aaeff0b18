/**
 * RemoteNodeFiles: one SSH session per operation on a node, through the `ssh2` library (no `ssh` binary, no
 * shell string on this side). The host key is pinned (a public key line or its SHA256 fingerprint): an unknown
 * or changed key is refused before authentication, naming the node and both fingerprints. Authentication by a
 * private key (a Pulumi secret) or an ssh-agent socket. A program (plan.ts) runs under /bin/sh, through
 * `sudo -n` for a non-root user; file contents go on its stdin.
 */
import * as crypto from "node:crypto";
import { Client, ConnectConfig } from "ssh2";
import { shQuote } from "./plan";

export interface SshTarget {
    node: string;
    host: string;
    port: number;
    user: string;
    /** "ssh-ed25519 AAAA…" (a known_hosts / .pub line) or "SHA256:…" */
    hostKey: string;
    privateKey?: string;
    /** path of an ssh-agent socket */
    agent?: string;
    /** run the programs through `sudo -n` (default: when user is not root) */
    sudo?: boolean;
    /** connection timeout (default 15 s) */
    timeoutMs?: number;
}

/**
 * Seams for tests (docs/delivery.md): `afterSend` runs after each file's line was handed to the channel, and
 * may return a promise (the e2e step `delivery` pauses there to cut the connection mid-write).
 */
export const remoteFilesHooks: { afterSend?: (node: string, path: string) => void | Promise<void> } = {};

/** "SHA256:<base64, unpadded>" of a host key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOf(blob: Buffer): string {
    return `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The pinned fingerprint of a hostKey setting, or a problem with it. */
export function pinnedFingerprint(hostKey: unknown): { fingerprint?: string; problem?: string } {
    if (typeof hostKey !== "string" || hostKey.trim() === "") {
        return { problem: "is required: pin the node's host key (a line of ssh-keyscan, or `ssh-keygen -lf` of it: SHA256:...); there is no trust on first use" };
    }
    const v = hostKey.trim();
    if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(v)) return { fingerprint: v };
    const parts = v.split(/\s+/);
    const i = parts.findIndex((p) => /^(ssh-|ecdsa-|sk-)/.test(p));
    if (i >= 0 && parts[i + 1] && /^[A-Za-z0-9+/]+=*$/.test(parts[i + 1])) {
        const blob = Buffer.from(parts[i + 1], "base64");
        if (blob.length > 16) return { fingerprint: fingerprintOf(blob) };
    }
    return { problem: `${JSON.stringify(v.slice(0, 40))} is neither a public key line ("ssh-ed25519 AAAA...") nor a fingerprint ("SHA256:" + 43 base64 characters)` };
}

export interface RunResult {
    stdout: string;
    stderr: string;
    code: number | null;
    signal?: string;
    /** the channel closed without an exit status: the connection was cut */
    cut: boolean;
}

function describeConnectError(t: SshTarget, e: Error & { level?: string; code?: string }, presented?: string, expected?: string): Error {
    const where = `node ${t.node} (${t.user}@${t.host}:${t.port})`;
    if (presented && presented !== expected) {
        return new Error(
            `kube-pki RemoteNodeFiles: ${where}: the host key is ${presented}, but ${expected} is pinned (remoteNodes.${t.node}.hostKey); ` +
                `refusing to connect. If the machine's key really changed, pin the new key after checking it out of band.`,
        );
    }
    if (e.level === "client-authentication") {
        return new Error(`kube-pki RemoteNodeFiles: ${where}: authentication refused (check that the key is in ~${t.user}/.ssh/authorized_keys on the node, or the agent holds it)`);
    }
    if (e.level === "client-timeout" || /Timed out/i.test(e.message)) {
        return new Error(`kube-pki RemoteNodeFiles: ${where}: no SSH handshake within ${Math.round((t.timeoutMs ?? 15_000) / 1000)} s (is the host reachable and sshd running?)`);
    }
    if (e.code && /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|ECONNRESET|EAI_AGAIN)$/.test(e.code)) {
        return new Error(`kube-pki RemoteNodeFiles: ${where}: unreachable (${e.code}); check remoteNodes.${t.node}.host/port and that sshd runs`);
    }
    return new Error(`kube-pki RemoteNodeFiles: ${where}: SSH connection failed: ${e.message}`);
}

/** Connects (pinned host key), runs `program` under /bin/sh (sudo -n when asked), feeds `lines` on stdin. */
export async function runProgram(t: SshTarget, program: string, lines: { path: string; line: string }[] = []): Promise<RunResult> {
    const pinned = pinnedFingerprint(t.hostKey);
    if (!pinned.fingerprint) throw new Error(`kube-pki RemoteNodeFiles: node ${t.node}: hostKey ${pinned.problem}`);
    let presented: string | undefined;
    const conn = new Client();
    const cfg: ConnectConfig = {
        host: t.host,
        port: t.port,
        username: t.user,
        readyTimeout: t.timeoutMs ?? 15_000,
        hostVerifier: (key: Buffer) => {
            presented = fingerprintOf(key);
            return presented === pinned.fingerprint;
        },
        keepaliveInterval: 5_000,
        keepaliveCountMax: 3,
    };
    if (t.privateKey) cfg.privateKey = t.privateKey;
    if (t.agent) cfg.agent = t.agent;
    const sudo = t.sudo ?? t.user !== "root";
    const command = sudo ? `sudo -n /bin/sh -c ${shQuote(program)}` : `/bin/sh -c ${shQuote(program)}`;
    try {
        await new Promise<void>((resolve, reject) => {
            conn.once("ready", () => resolve());
            conn.once("error", (e: Error) => reject(describeConnectError(t, e, presented, pinned.fingerprint)));
            conn.connect(cfg);
        });
        return await new Promise<RunResult>((resolve, reject) => {
            conn.exec(command, (err, stream) => {
                if (err) return reject(new Error(`kube-pki RemoteNodeFiles: node ${t.node}: cannot start the remote program: ${err.message}`));
                let stdout = "";
                let stderr = "";
                let code: number | null = null;
                let signal: string | undefined;
                stream.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
                stream.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
                stream.on("exit", (c: number | null, s?: string) => {
                    code = c;
                    signal = s;
                });
                stream.on("close", () => resolve({ stdout, stderr, code, signal, cut: code === null && signal === undefined }));
                conn.on("error", () => resolve({ stdout, stderr, code, signal, cut: true }));
                conn.on("close", () => resolve({ stdout, stderr, code, signal, cut: code === null && signal === undefined }));
                void (async () => {
                    for (const l of lines) {
                        stream.write(`${l.line}\n`);
                        await remoteFilesHooks.afterSend?.(t.node, l.path);
                    }
                    stream.end();
                })().catch(() => undefined);
            });
        });
    } finally {
        conn.end();
    }
}
