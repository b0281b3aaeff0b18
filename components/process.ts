/**
 * Processes, and when one is provably gone. Shared by the wrapper (scripts/), the live suite (e2e/) and the
 * node-file sink; imports nothing of ours.
 *
 * A pid alone proves nothing: as root, /proc shows the processes of other PID namespaces (containers) under
 * their host pids while a pid recorded inside a container means another process here, and pids are reused. So
 * whoever may later need to prove "that process is gone" records a ProcessIdentity when it starts: the pid, the
 * PID namespace (/proc/<pid>/ns/pid), the start time in clock ticks since boot (/proc/<pid>/stat field 22) and the
 * boot id. A recorded process is then
 *   - "dead" only when it was recorded in this boot and this PID namespace, and its pid is gone (or a zombie) or
 *     now belongs to a process that started at another time;
 *   - "alive" when the same pid with the same start time still runs;
 *   - "unknown" in every other case (another namespace or boot, or /proc unreadable): never treat it as dead.
 */
import * as fs from "node:fs";

export interface ProcessIdentity {
    pid: number;
    /** /proc/<pid>/stat field 22: start time in clock ticks since boot, as written there. */
    start: string;
    /** /proc/<pid>/ns/pid, e.g. "pid:[4026531836]". */
    pidNs: string;
    /** /proc/sys/kernel/random/boot_id. */
    boot: string;
}

export type Liveness = "alive" | "dead" | "unknown";

/** Whether a process with this pid exists here (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

function readOrUndefined(file: string): string | undefined {
    try {
        return fs.readFileSync(file, "latin1");
    } catch {
        return undefined;
    }
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
    const stat = readOrUndefined(`/proc/${pid}/stat`);
    if (stat === undefined) return undefined;
    // field 1 is the pid, field 2 "(comm)"; fields[0] below is field 3 (state)
    return stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
}

/** Field 22 of /proc/<pid>/stat (start time, clock ticks since boot), or undefined when the process is gone. */
export function processStartTime(pid: number): string | undefined {
    return statFields(pid)?.[22 - 3];
}

/** The process's state letter (R, S, Z, ...), or undefined when it is gone. */
export function processState(pid: number): string | undefined {
    return statFields(pid)?.[0];
}

/** /proc/<pid>/ns/pid ("pid:[inode]"), or undefined when the process is gone or not ours to inspect. */
export function pidNamespace(pid: number | "self" = "self"): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
        return undefined;
    }
}

export function bootId(): string | undefined {
    return readOrUndefined("/proc/sys/kernel/random/boot_id")?.trim();
}

/** The identity of a running process, or undefined when it is gone or cannot be inspected. */
export function identityOf(pid: number): ProcessIdentity | undefined {
    const start = processStartTime(pid);
    const pidNs = pidNamespace(pid);
    const boot = bootId();
    if (start === undefined || pidNs === undefined || boot === undefined) return undefined;
    return { pid, start, pidNs, boot };
}

/** This process's identity (undefined off Linux: nothing can be proved there). */
export function selfIdentity(): ProcessIdentity | undefined {
    return identityOf(process.pid);
}

/**
 * Whether a pid that was recorded in this process's own namespace and boot is gone now: no /proc entry, or a
 * zombie. Only meaningful after the caller proved namespace and boot (see liveness).
 */
function pidGoneHere(pid: number): boolean {
    if (fs.existsSync(`/proc/${pid}`)) return processState(pid) === "Z";
    return !pidAlive(pid);
}

/** See the file comment. */
export function liveness(recorded: ProcessIdentity, self: ProcessIdentity | undefined = selfIdentity()): Liveness {
    if (!self || !Number.isInteger(recorded.pid) || recorded.pid <= 0) return "unknown";
    if (recorded.boot !== self.boot || recorded.pidNs !== self.pidNs) return "unknown";
    if (pidGoneHere(recorded.pid)) return "dead";
    const now = identityOf(recorded.pid);
    if (!now) return fs.existsSync(`/proc/${recorded.pid}`) ? "unknown" : "dead";
    if (now.pidNs !== recorded.pidNs) return "unknown";
    return now.start === recorded.start ? "alive" : "dead";
}

/**
 * A pid the caller did not record an identity for, but that was taken inside the namespace and boot of
 * `recordedIn` (e.g. the pid in a lock file written by a child of a recorded process): dead only when that
 * namespace and boot are this process's and the pid is gone (or a zombie). A live process with that pid could be
 * the writer or a reuse: "unknown".
 */
export function pidLivenessIn(pid: number, recordedIn: ProcessIdentity, self: ProcessIdentity | undefined = selfIdentity()): Liveness {
    if (!self || !Number.isInteger(pid) || pid <= 0) return "unknown";
    if (recordedIn.boot !== self.boot || recordedIn.pidNs !== self.pidNs) return "unknown";
    return pidGoneHere(pid) ? "dead" : "unknown";
}

/** The value of one environment variable of a process, or undefined (gone, not readable, not set). */
export function environOf(pid: number, name: string): string | undefined {
    const environ = readOrUndefined(`/proc/${pid}/environ`);
    const hit = environ?.split("\0").find((v) => v.startsWith(`${name}=`));
    return hit?.slice(name.length + 1);
}

/** The pids in /proc (Linux; empty elsewhere). */
export function listPids(): number[] {
    if (process.platform !== "linux") return [];
    return fs
        .readdirSync("/proc")
        .map(Number)
        .filter((n) => Number.isInteger(n) && n > 0);
}

/** `pid;start;pidNs;boot;tag` (the tag last, so it may hold anything but a newline). */
export function encodeIdentity(id: ProcessIdentity, tag = ""): string {
    return [id.pid, id.start, id.pidNs, id.boot, tag].join(";");
}

/** The inverse of encodeIdentity; undefined for anything else (e.g. the bare pid older versions wrote). */
export function decodeIdentity(value: string | undefined): { id: ProcessIdentity; tag: string } | undefined {
    const parts = value?.split(";");
    if (!parts || parts.length < 5) return undefined;
    const [pid, start, pidNs, boot] = parts;
    if (!/^\d+$/.test(pid) || !/^\d+$/.test(start) || !/^pid:\[\d+\]$/.test(pidNs) || !boot) return undefined;
    return { id: { pid: Number(pid), start, pidNs, boot }, tag: parts.slice(4).join(";") };
}

/**
 * SIGKILL for a process only while it is still the one identified (same start time), so that a pid reused since
 * it was looked at is left alone. Returns whether the signal was sent.
 */
export function killIdentified(id: ProcessIdentity): boolean {
    if (processStartTime(id.pid) !== id.start || pidNamespace(id.pid) !== id.pidNs) return false;
    try {
        process.kill(id.pid, "SIGKILL");
        return true;
    } catch {
        return false;
    }
}
