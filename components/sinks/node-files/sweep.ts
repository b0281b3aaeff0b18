/**
 * NodeFiles: what an interrupted write leaves behind, and how the next write removes exactly that
 * (docs/delivery.md, "Interrupted writes").
 *
 * Every write records, in `<node>/.kube-pki-journal` (an append-only list of JSON lines, fsync'ed before the
 * step it announces), who writes (pid, process start time, PID namespace, boot id), the run's nonce, every temp
 * file name it may create (`.<name>.kube-pki-tmp-<pid>-<nonce>`) and every directory it creates. A successful or
 * failed-but-handled write removes the journal; a killed one leaves it. The next write of that node removes the
 * temp files and then-empty directories the journal lists, and nothing else: another writer's temp file, or one
 * that merely looks like ours, survives. The first write of a process under a root also clears the journals of
 * other nodes whose writer is provably gone (a node removed from the config after its write was killed); a
 * writer that may still run (alive, or in another PID namespace) is left alone.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pidAlive } from "../../process";
import { isInside, JOURNAL_NAME, lstatOrUndefined, TMP_MARKER } from "./paths";

/** `.<name>.kube-pki-tmp-<pid>-<hex>`: a temp file of an atomic write. */
export const TMP_NAME = /^\..+\.kube-pki-tmp-(\d+)-([0-9a-f]+)$/;

/** The temp file name for `base` in a write with this nonce. */
export function tempName(base: string, nonce: string): string {
    return `.${base}${TMP_MARKER}${process.pid}-${nonce}`;
}

/** Who writes: enough to tell later whether that process is gone, even after its pid was reused. */
export interface Writer {
    pid: number;
    /** clock ticks since boot at which the process started (/proc/<pid>/stat field 22) */
    start: string;
    /** the PID namespace it ran in (readlink /proc/self/ns/pid) */
    pidns: string;
    boot: string;
}

function readOr(file: string, fallback: string, link = false): string {
    try {
        return link ? fs.readlinkSync(file) : fs.readFileSync(file, "utf8").trim();
    } catch {
        return fallback;
    }
}

function startOf(pid: number): string | undefined {
    const stat = readOr(`/proc/${pid}/stat`, "");
    if (!stat) return undefined;
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

export function thisWriter(): Writer {
    return {
        pid: process.pid,
        start: startOf(process.pid) ?? "?",
        pidns: readOr("/proc/self/ns/pid", "?", true),
        boot: readOr("/proc/sys/kernel/random/boot_id", "?"),
    };
}

/** "gone" only when provable: rebooted since, or same PID namespace and the pid is free or another process now. */
export function writerStatus(w: Writer | undefined): "gone" | "running" | "unknown" {
    if (!w || typeof w.pid !== "number") return "unknown";
    const me = thisWriter();
    if (w.boot !== me.boot && w.boot !== "?" && me.boot !== "?") return "gone";
    if (w.pidns !== me.pidns || w.pidns === "?") return "unknown";
    // this process writes synchronously: a journal of its own is never of a write in flight
    if (w.pid === me.pid && w.start === me.start) return "gone";
    if (!pidAlive(w.pid)) return "gone";
    const start = startOf(w.pid);
    return start !== undefined && start !== w.start ? "gone" : "running";
}

export interface Journal {
    writer?: Writer;
    nonce?: string;
    /** relative to the node dir */
    temps: string[];
    /** relative to the node dir, in creation order */
    dirs: string[];
    createdNode: boolean;
}

/** The journal in a node dir (`nodeDir` may be a /proc/self/fd path), or undefined. A torn last line is ignored. */
export function readJournal(nodeDir: string): Journal | undefined {
    const file = path.join(nodeDir, JOURNAL_NAME);
    const st = lstatOrUndefined(file);
    if (!st?.isFile()) return undefined;
    const j: Journal = { temps: [], dirs: [], createdNode: false };
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        let rec: Record<string, unknown>;
        try {
            rec = JSON.parse(line);
        } catch {
            continue;
        }
        if (rec.writer && typeof rec.nonce === "string") {
            j.writer = rec.writer as Writer;
            j.nonce = rec.nonce;
            j.createdNode = rec.createdNode === true;
            j.temps = (Array.isArray(rec.temps) ? rec.temps : []).filter((t): t is string => typeof t === "string");
        } else if (typeof rec.dir === "string") {
            j.dirs.push(rec.dir);
        }
    }
    return j;
}

/** A journal entry names a temp file of that journal's run, below the node dir, through real directories only. */
function ownTemp(nodeDir: string, rel: string, nonce: string): string | undefined {
    const segs = rel.split("/");
    const m = TMP_NAME.exec(segs[segs.length - 1] ?? "");
    if (!m || m[2] !== nonce || segs.some((s) => s === "" || s === "." || s === "..")) return undefined;
    let cur = nodeDir;
    for (const seg of segs.slice(0, -1)) {
        cur = path.join(cur, seg);
        const st = lstatOrUndefined(cur);
        if (!st?.isDirectory()) return undefined; // gone, or a symlink: never followed
    }
    const file = path.join(cur, segs[segs.length - 1]);
    const st = lstatOrUndefined(file);
    return st && (st.isFile() || st.isSymbolicLink()) ? file : undefined;
}

/** The temp files of the node's journal that still exist, relative to the node dir (when its writer is gone). */
export function journalTemps(nodeDir: string): string[] {
    const j = readJournal(nodeDir);
    if (!j?.nonce || writerStatus(j.writer) !== "gone") return [];
    return j.temps.filter((t) => ownTemp(nodeDir, t, j.nonce!) !== undefined).sort();
}

/**
 * Removes what the journal in `nodeDir` lists: its existing temp files, then the directories it created when
 * empty (deepest first), the node dir itself with `removeNodeDir` when the run created it, then the journal.
 * Refuses (throws) when the writer may still be running. Returns the removed temp files (relative).
 */
export function sweepJournal(nodeDir: string, node: string, opts: { removeNodeDir?: boolean } = {}): string[] {
    const j = readJournal(nodeDir);
    if (!j) return [];
    const status = writerStatus(j.writer);
    if (status !== "gone") {
        const who = j.writer ? `pid ${j.writer.pid}` : "an unreadable journal";
        throw new Error(
            `kube-pki NodeFiles: node ${node}: another write of this node may still be running (${who}, ${status}); ` +
                `if it is gone, remove ${path.join(nodeDir, JOURNAL_NAME)} and run again`,
        );
    }
    const removed: string[] = [];
    for (const rel of j.temps) {
        const file = j.nonce ? ownTemp(nodeDir, rel, j.nonce) : undefined;
        if (!file) continue;
        try {
            fs.unlinkSync(file);
            removed.push(rel);
        } catch {
            // gone already: the next write tries again
        }
    }
    for (const rel of [...j.dirs].reverse()) {
        const d = path.join(nodeDir, rel);
        if (!isInside(nodeDir, d) || !lstatOrUndefined(d)?.isDirectory()) continue;
        try {
            fs.rmdirSync(d);
        } catch {
            // not empty: someone else's files (or ours from an earlier run) stay
        }
    }
    fs.rmSync(path.join(nodeDir, JOURNAL_NAME), { force: true });
    if (opts.removeNodeDir && j.createdNode) {
        try {
            fs.rmdirSync(nodeDir);
        } catch {
            // not empty
        }
    }
    return removed.sort();
}

/** Roots whose other nodes' journals this process cleared already (once per process and root). */
const sweptRoots = new Set<string>();

/**
 * Clears the journals of other nodes under the root whose writer is provably gone, with what they list (the
 * node's directories too when that run created them). Never walks into a tree without a journal.
 */
export function sweepOtherNodes(realRoot: string, node: string): void {
    if (sweptRoots.has(realRoot)) return;
    sweptRoots.add(realRoot);
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(realRoot, { withFileTypes: true });
    } catch {
        return;
    }
    for (const e of entries) {
        if (!e.isDirectory() || e.name === node) continue;
        const nodeDir = path.join(realRoot, e.name);
        const j = readJournal(nodeDir);
        if (!j || writerStatus(j.writer) !== "gone") continue;
        try {
            sweepJournal(nodeDir, e.name, { removeNodeDir: true });
        } catch {
            // best effort: that node's own next write retries
        }
    }
}

/** Appends to the journal of a write in progress; every record is on disk before the step it announces. */
export class JournalWriter {
    private fd: number;
    constructor(file: string, header: { nonce: string; temps: string[]; createdNode: boolean }) {
        const c = fs.constants;
        this.fd = fs.openSync(file, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_APPEND | c.O_NOFOLLOW, 0o600);
        this.append({ writer: thisWriter(), ...header });
    }
    append(rec: object): void {
        fs.writeSync(this.fd, `${JSON.stringify(rec)}\n`);
        fs.fsyncSync(this.fd);
    }
    dir(rel: string): void {
        this.append({ dir: rel });
    }
    close(): void {
        fs.closeSync(this.fd);
    }
}

/** Every file named like a temp file of an atomic write under `dir`, recursively, never following a symlink. */
export function tempFilesUnder(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(d, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries) {
            const full = path.join(d, e.name);
            if (e.isDirectory()) walk(full);
            else if (TMP_NAME.test(e.name) && (e.isFile() || e.isSymbolicLink())) out.push(full);
        }
    };
    walk(dir);
    return out.sort();
}
