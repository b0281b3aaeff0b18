/**
 * Real OpenSSH servers for the e2e step `delivery`: each "machine" is Debian's sshd on its own loopback address
 * and port, with its own host key and its own remote root, started and stopped by the step.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Daemon, descendants, run, runOk, sleep } from "./procs";

export const SSHD = "/usr/sbin/sshd";
export const SUDO_USER = "kpki-deliver";

export interface Machine {
    name: string;
    address: string;
    port: number;
    dir: string;
    /** the remote root the sink writes under */
    root: string;
    hostKeyFile: string;
    daemon?: Daemon;
}

export async function keygen(file: string, comment: string): Promise<void> {
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { log: "ssh-keygen", timeoutMs: 30_000 });
}

/** "SHA256:..." of a public key file, as ssh-keygen prints it. */
export async function fingerprintOfFile(pub: string): Promise<string> {
    const r = await runOk("ssh-keygen", ["-l", "-E", "sha256", "-f", pub], { log: "ssh-keygen-l", timeoutMs: 30_000 });
    return r.stdout.split(/\s+/)[1];
}

/** The non-root user with passwordless sudo (created once; '*' is a password that cannot match, not a lock). */
export async function ensureSudoUser(): Promise<void> {
    const id = await run("id", ["-u", SUDO_USER], { log: "id", timeoutMs: 10_000 });
    if (id.code !== 0) await runOk("useradd", ["-m", "-s", "/bin/sh", SUDO_USER], { log: "useradd", timeoutMs: 30_000 });
    await runOk("usermod", ["-p", "*", SUDO_USER], { log: "usermod", timeoutMs: 30_000 });
    fs.writeFileSync(`/etc/sudoers.d/${SUDO_USER}`, `${SUDO_USER} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440 });
}

/**
 * Removes the sudo user, its home, its group and its sudoers entry: the delivery step's end, also after a failure
 * or an abort (its finally); a no-op when the user is gone. A run killed before its finally leaves the user, and
 * the next ensureSudoUser takes it over as it is (idempotent), and removes it at the end.
 */
export async function removeSudoUser(): Promise<void> {
    fs.rmSync(`/etc/sudoers.d/${SUDO_USER}`, { force: true });
    if ((await run("id", ["-u", SUDO_USER], { log: "id", timeoutMs: 10_000 })).code !== 0) return;
    // -f: also when a session of it is still alive (the machines' sshd are stopped first); no mail spool is fine
    await run("userdel", ["-f", "-r", SUDO_USER], { log: "userdel", timeoutMs: 30_000 });
}

/** Whether the sudo user (or its group) still exists on this machine. */
export async function sudoUserExists(): Promise<boolean> {
    const user = await run("getent", ["passwd", SUDO_USER], { log: "getent", timeoutMs: 10_000 });
    const group = await run("getent", ["group", SUDO_USER], { log: "getent", timeoutMs: 10_000 });
    return user.code === 0 || group.code === 0;
}

/** Writes the machine's sshd_config: key auth only, authorized keys from the machine dir (per user). */
export async function prepareMachine(m: Machine, clientPub: string): Promise<void> {
    fs.mkdirSync(m.dir, { recursive: true, mode: 0o755 });
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    if (!fs.existsSync(m.hostKeyFile)) await keygen(m.hostKeyFile, `host-${m.name}`);
    for (const user of ["root", SUDO_USER]) fs.writeFileSync(path.join(m.dir, `authorized_keys.${user}`), fs.readFileSync(clientPub), { mode: 0o644 });
    fs.writeFileSync(
        path.join(m.dir, "sshd_config"),
        [
            `Port ${m.port}`,
            `ListenAddress ${m.address}`,
            `HostKey ${m.hostKeyFile}`,
            `PidFile ${path.join(m.dir, "sshd.pid")}`,
            `AuthorizedKeysFile ${path.join(m.dir, "authorized_keys.%u")}`,
            "StrictModes no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "LogLevel VERBOSE",
            "",
        ].join("\n"),
    );
}

export async function startSshd(m: Machine): Promise<void> {
    m.daemon = new Daemon(`sshd-${m.name}`, SSHD, ["-D", "-e", "-f", path.join(m.dir, "sshd_config")], process.env);
    for (let i = 0; i < 100; i++) {
        if (fs.readFileSync(m.daemon.log, "utf8").includes("Server listening")) return;
        if (m.daemon.exit) break;
        await sleep(100);
    }
    throw new Error(`sshd of ${m.name} did not start: ${fs.readFileSync(m.daemon.log, "utf8").slice(-1500)}`);
}

/** Stops the machine's sshd: with `sessions`, every connection's process (and what runs in it) too, kill -9. */
export async function stopSshd(m: Machine, sessions = true): Promise<void> {
    if (!m.daemon) return;
    const pids = sessions ? descendants(m.daemon.pgid) : [];
    await m.daemon.stop();
    for (const p of pids) {
        try {
            process.kill(p, "SIGKILL");
        } catch {
            // gone
        }
    }
    m.daemon = undefined;
}

/** Pids of the sessions (per-connection sshd and their children) of a machine's sshd. */
export function sessionPids(m: Machine): number[] {
    return m.daemon ? descendants(m.daemon.pgid) : [];
}
