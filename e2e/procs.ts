/**
 * Process management for the live suite: every child runs in its own process group (spawn detached), its output
 * goes to a log file, and every group still alive is killed at the end (also on failure, timeout or Ctrl-C).
 * Only processes this suite started are ever signalled, by their pid / process-group id.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

/** Process groups started by us and not yet reaped. */
const groups = new Map<number, string>();
/** Log files written during the current step (printed as tails when the step fails). */
export const stepLogs = new Set<string>();

let logDir = "";
export function setLogDir(dir: string) {
    logDir = dir;
}

/** A log file path in the log dir, unique per name (a counter suffix when the name was used before). */
const usedLogNames = new Map<string, number>();
export function logFile(name: string): string {
    const safe = name.replace(/[^A-Za-z0-9._-]+/g, "_");
    const n = (usedLogNames.get(safe) ?? 0) + 1;
    usedLogNames.set(safe, n);
    const file = path.join(logDir, `${safe}${n > 1 ? `.${n}` : ""}.log`);
    stepLogs.add(file);
    return file;
}

function signalGroup(pgid: number, signal: NodeJS.Signals) {
    try {
        process.kill(-pgid, signal);
    } catch {
        // already gone
    }
}

function groupAlive(pgid: number): boolean {
    try {
        process.kill(-pgid, 0);
        return true;
    } catch {
        return false;
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** SIGTERM a group, then SIGKILL it after `graceMs` if anything of it is left. */
export async function killGroup(pgid: number, graceMs = 5000): Promise<void> {
    signalGroup(pgid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
    if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
    groups.delete(pgid);
}

/** Kills every process group we started that is still alive. */
export async function killAll(): Promise<string[]> {
    const names: string[] = [];
    await Promise.all(
        [...groups.entries()].map(async ([pgid, name]) => {
            if (groupAlive(pgid)) names.push(name);
            await killGroup(pgid);
        }),
    );
    return names;
}

/** Last resort on process exit: SIGKILL whatever is left, synchronously. */
export function killAllSync() {
    for (const pgid of groups.keys()) signalGroup(pgid, "SIGKILL");
    groups.clear();
}

/** Last `lines` lines of a file ("" when it does not exist). */
export function tail(file: string, lines = 30): string {
    try {
        const text = fs.readFileSync(file, "utf8");
        return text.split("\n").slice(-lines - 1).join("\n");
    } catch {
        return "";
    }
}

export interface RunOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Kill the command's process group after this long (default 120 s). */
    timeoutMs?: number;
    signal?: AbortSignal;
    input?: string;
    /** Log name (default: the command's basename). */
    log?: string;
}

export interface RunResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    timedOut: boolean;
    /** Combined output (stdout then stderr), for messages. */
    output: string;
    log: string;
}

/** Runs a command to completion in its own process group; never throws for a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const log = logFile(opts.log ?? path.basename(cmd));
    const timeoutMs = opts.timeoutMs ?? 120_000;
    fs.appendFileSync(log, `$ ${[cmd, ...args].join(" ")}\n`);
    return new Promise((resolve, reject) => {
        let child: ChildProcess;
        try {
            child = spawn(cmd, args, {
                env: opts.env ?? process.env,
                cwd: opts.cwd,
                detached: true,
                stdio: ["pipe", "pipe", "pipe"],
            });
        } catch (e) {
            reject(e);
            return;
        }
        const pgid = child.pid!;
        groups.set(pgid, path.basename(cmd));
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d: Buffer) => {
            stdout += d.toString();
            fs.appendFileSync(log, d);
        });
        child.stderr!.on("data", (d: Buffer) => {
            stderr += d.toString();
            fs.appendFileSync(log, d);
        });
        // A command that exits before reading its input closes the pipe: that is not an error of ours.
        child.stdin!.on("error", () => undefined);
        child.stdin!.end(opts.input ?? "");
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            void killGroup(pgid, 2000);
        }, timeoutMs);
        const onAbort = () => void killGroup(pgid, 2000);
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        child.on("error", (e) => {
            clearTimeout(timer);
            groups.delete(pgid);
            reject(new Error(`${cmd}: ${e.message}`));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            opts.signal?.removeEventListener("abort", onAbort);
            // the leader exited; anything it left in its group goes too
            if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
            groups.delete(pgid);
            fs.appendFileSync(log, `[exit ${code ?? signal}${timedOut ? `, killed after ${timeoutMs / 1000} s timeout` : ""}]\n`);
            resolve({ code, signal, stdout, stderr, timedOut, output: `${stdout}${stderr}`, log });
        });
    });
}

/** Like run(), but throws (with the output's tail) unless the command exits 0. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) {
        const why = r.timedOut ? `timed out after ${(opts.timeoutMs ?? 120_000) / 1000} s` : `exit ${r.code ?? r.signal}`;
        throw new Error(`${path.basename(cmd)} ${args.slice(0, 4).join(" ")} …: ${why}\n${lastLines(r.output, 20)}`);
    }
    return r;
}

export function lastLines(text: string, n: number): string {
    return text.trimEnd().split("\n").slice(-n).join("\n");
}

/** A long-running process (etcd, kube-apiserver) in its own process group, logging to a file. */
export class Daemon {
    readonly pgid: number;
    readonly log: string;
    private exitInfo: string | undefined;
    readonly exited: Promise<string>;

    constructor(readonly name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv) {
        this.log = logFile(name);
        fs.writeFileSync(this.log, `$ ${[cmd, ...args].join(" ")}\n`);
        const fd = fs.openSync(this.log, "a");
        const child = spawn(cmd, args, { env, detached: true, stdio: ["ignore", fd, fd] });
        fs.closeSync(fd);
        this.pgid = child.pid!;
        groups.set(this.pgid, name);
        this.exited = new Promise((resolve) => {
            child.on("error", (e) => {
                this.exitInfo = `failed to start: ${e.message}`;
                groups.delete(this.pgid);
                resolve(this.exitInfo);
            });
            child.on("exit", (code, signal) => {
                this.exitInfo = `exited (${code ?? signal})`;
                resolve(this.exitInfo);
            });
        });
    }

    /** undefined while running, else how it ended. */
    get exit(): string | undefined {
        return this.exitInfo;
    }

    async stop(): Promise<void> {
        await killGroup(this.pgid);
    }
}

/**
 * Retries `probe` until it returns true (readiness only). Fails fast when `daemon` exits, and after `timeoutMs`
 * with the last probe error and the daemon's log tail.
 */
export async function waitFor(
    what: string,
    probe: () => Promise<boolean | string>,
    opts: { timeoutMs: number; intervalMs?: number; daemon?: Daemon; signal?: AbortSignal },
): Promise<number> {
    const start = Date.now();
    let last = "";
    while (Date.now() - start < opts.timeoutMs) {
        if (opts.signal?.aborted) throw new Error(`${what}: aborted`);
        if (opts.daemon?.exit) {
            throw new Error(`${what}: ${opts.daemon.name} ${opts.daemon.exit} before it was ready\n${tail(opts.daemon.log, 30)}`);
        }
        try {
            const r = await probe();
            if (r === true) return Date.now() - start;
            last = typeof r === "string" ? r : "not ready";
        } catch (e) {
            last = (e as Error).message;
        }
        await sleep(opts.intervalMs ?? 1000);
    }
    const daemonTail = opts.daemon ? `\n--- ${opts.daemon.log} (tail) ---\n${tail(opts.daemon.log, 30)}` : "";
    throw new Error(`${what}: not ready after ${opts.timeoutMs / 1000} s (last: ${lastLines(last, 5)})${daemonTail}`);
}

const handedOut = new Set<number>();
/** A free TCP port on 127.0.0.1, never the same twice in one run. */
export async function freePort(): Promise<number> {
    for (let i = 0; i < 50; i++) {
        const port = await new Promise<number>((resolve, reject) => {
            const srv = net.createServer();
            srv.once("error", reject);
            srv.listen(0, "127.0.0.1", () => {
                const p = (srv.address() as net.AddressInfo).port;
                srv.close(() => resolve(p));
            });
        });
        if (!handedOut.has(port)) {
            handedOut.add(port);
            return port;
        }
    }
    throw new Error("no free port on 127.0.0.1");
}

/** Pids of every live descendant of `pid` (from /proc), e.g. the plugins of a `pulumi` process. */
export function descendants(pid: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            // pid (comm) state ppid ...: comm may contain spaces and parentheses
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            const list = children.get(ppid) ?? [];
            list.push(Number(entry));
            children.set(ppid, list);
        } catch {
            // exited meanwhile
        }
    }
    const out: number[] = [];
    const todo = [...(children.get(pid) ?? [])];
    while (todo.length) {
        const p = todo.pop()!;
        out.push(p);
        todo.push(...(children.get(p) ?? []));
    }
    return out;
}

/** Resolves a binary on PATH (of `env`) to an absolute path. */
export function which(bin: string, env: NodeJS.ProcessEnv = process.env): string {
    for (const dir of (env.PATH ?? "").split(":")) {
        const candidate = path.join(dir, bin);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            return candidate;
        } catch {
            // next
        }
    }
    throw new Error(`${bin}: not found on PATH (build the tools: bash scripts/tools.sh build)`);
}
