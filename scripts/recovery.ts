/**
 * Crash recovery before each run, only where it can prove what it does (scripts/backend.ts, components/process.ts):
 *  - plugin processes orphaned by a killed run of THIS checkout are stopped: their KUBE_PKI_RUN_OWNER_ID names an
 *    owner process that is provably dead (same PID namespace and boot, pid gone or reused);
 *  - a lock of a local file backend is removed only when a run record of this checkout proves that the run which
 *    took it is dead, and the lock's own pid is gone;
 *  - pending creates that are safe to repeat are dropped from the checkpoint, edited as stored (secrets stay
 *    ciphertext: nothing is decrypted, nothing is written outside the backend), under the stack's lock, and only
 *    when no other lock exists and the checkpoint did not change since it was read.
 * On any other backend (postgres://, s3://, azblob://, gs://, Pulumi Cloud) nothing is removed or rewritten: the
 * operator is told what to run (`pulumi cancel`, `pulumi refresh`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeIdentity, encodeIdentity, environOf, identityOf, killIdentified, liveness, listPids, pidLivenessIn, ProcessIdentity, selfIdentity } from "../components/process";
import {
    backendLabel,
    checkpointFile,
    engineLocks,
    fileBackendRoot,
    PROJECT_DIR,
    readCheckpoint,
    removeLock,
    runRecords,
    takeLock,
    writeCheckpoint,
} from "./backend";
import { urnName } from "./plan";

/**
 * Marks every process a run starts (the CLI, the language host, providers): RUN_MARKER holds the owner's pid (what
 * earlier versions wrote and read: a live pid keeps their reaper away), RUN_OWNER_ID the owner's identity and
 * checkout, which is what this version needs to prove anything.
 */
export const RUN_MARKER = "KUBE_PKI_RUN_OWNER";
export const RUN_OWNER_ID = "KUBE_PKI_RUN_OWNER_ID";

/** The marker variables for the processes this run starts. */
export function runMarkers(): Record<string, string> {
    const self = selfIdentity();
    return { [RUN_MARKER]: String(process.pid), ...(self ? { [RUN_OWNER_ID]: encodeIdentity(self, PROJECT_DIR) } : {}) };
}

/** A process a run started: its pid, the owner's pid (and identity when recorded), executable name, command line. */
export interface MarkedProcess {
    pid: number;
    owner: number;
    /** undefined: the marker is not a full identity (an older wrapper), nothing can be proved about it */
    ownerId?: ProcessIdentity;
    /** the checkout of the run that started it */
    checkout?: string;
    /** the process itself, as seen when listed (for a kill that spares a reused pid) */
    self?: ProcessIdentity;
    exe: string;
    args: string;
}

/** Processes (other than this one) whose environment carries RUN_MARKER. */
export function markedProcesses(): MarkedProcess[] {
    const out: MarkedProcess[] = [];
    for (const pid of listPids()) {
        if (pid === process.pid) continue;
        const marker = environOf(pid, RUN_MARKER);
        if (marker === undefined) continue;
        try {
            const decoded = decodeIdentity(environOf(pid, RUN_OWNER_ID));
            const args = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
            out.push({
                pid,
                owner: Number(marker),
                ownerId: decoded?.id,
                checkout: decoded?.tag,
                self: identityOf(pid),
                exe: path.basename(fs.readlinkSync(`/proc/${pid}/exe`)),
                args,
            });
        } catch {
            /* gone, or not ours to read */
        }
    }
    return out;
}

/** Whether a marked process is an orphan this process may stop: see the file comment. */
export function provablyOrphaned(p: MarkedProcess, self: ProcessIdentity | undefined = selfIdentity(), checkout = PROJECT_DIR): boolean {
    if (!self || !p.ownerId || !p.self || p.checkout !== checkout || p.ownerId.pid !== p.owner) return false;
    if (p.self.pidNs !== self.pidNs || p.ownerId.pidNs !== self.pidNs) return false;
    return liveness(p.ownerId, self) === "dead";
}

/** At exit: nothing this run started (the CLI, its language host, providers, the node-file provider) outlives it. */
export function stopOwnProcesses(): void {
    const self = selfIdentity();
    if (!self) return;
    for (const p of markedProcesses()) {
        if (p.self && p.ownerId && p.ownerId.pid === self.pid && p.ownerId.start === self.start && p.ownerId.pidNs === self.pidNs) killIdentified(p.self);
    }
}

/** Before a run: stops plugin processes left by an earlier run of this checkout that was killed. */
export function reapOrphans(checkout = PROJECT_DIR): string[] {
    const self = selfIdentity();
    const names: string[] = [];
    for (const p of markedProcesses()) {
        if (provablyOrphaned(p, self, checkout) && killIdentified(p.self!)) names.push(`${p.exe} (pid ${p.pid})`);
    }
    return names;
}

export interface LockVerdict {
    removed: string[];
    /** locks left in place, with the reason */
    kept: string[];
}

/**
 * Removes the stack's locks that provably belong to a dead run of this checkout (see the file comment); a lock of
 * any other backend, host, namespace, checkout, or of a run that may still be going is kept and reported.
 */
export function clearStaleLocks(backendUrl: string, stackName: string, checkout = PROJECT_DIR): LockVerdict {
    const verdict: LockVerdict = { removed: [], kept: [] };
    if (!fileBackendRoot(backendUrl)) return verdict;
    const self = selfIdentity();
    const records = runRecords(backendUrl, stackName);
    const deadRecords = records.filter((r) => r.hostname === os.hostname() && r.checkout === checkout && !!self && liveness(r.owner, self) === "dead");
    for (const lock of engineLocks(backendUrl, stackName)) {
        const taken = lock.timestamp ? Date.parse(lock.timestamp) : NaN;
        const what = `pid ${lock.pid ?? "?"} on ${lock.hostname ?? "?"}, taken ${lock.timestamp ?? "?"}`;
        const proof =
            lock.hostname === os.hostname() && typeof lock.pid === "number" && !Number.isNaN(taken)
                ? deadRecords.find((r) => Date.parse(r.startedAt) <= taken && pidLivenessIn(lock.pid!, r.owner, self) === "dead")
                : undefined;
        if (proof) {
            removeLock(lock);
            verdict.removed.push(what);
        } else {
            verdict.kept.push(what);
        }
    }
    // records of runs that are provably over have served their purpose
    for (const r of deadRecords) fs.rmSync(r.file, { force: true });
    return verdict;
}

interface PendingOp {
    type: string;
    resource: { urn: string; type: string; custom?: boolean };
}

/**
 * Creates that an interrupted run left pending, of resources whose create has no effect outside the state or is
 * repeated safely: tls keys/CSRs/certs and random values are computed in the provider; provider resources are
 * configuration only; kube-pki's node files (`pulumi-nodejs:dynamic:NodeFiles`; `...:Resource` for dynamic
 * resources without a type name) are written again, atomically, by the next create. A pending read changes
 * nothing anywhere, and neither does any operation on a component resource (`custom: false`: kube-pki:index:*,
 * which the engine also records as pending). Everything else (kubernetes, vault, ...) is kept for the operator.
 */
export const REPEATABLE_CREATE = /^(tls:|random:|pulumi:providers:|pulumi-nodejs:dynamic:(Resource|NodeFiles)$)/;

function repeatable(op: PendingOp): boolean {
    if (op.resource?.custom !== true) return true; // a component: state only
    return op.type === "reading" || (op.type === "creating" && REPEATABLE_CREATE.test(op.resource.type ?? ""));
}

export interface PendingPlan {
    file: string;
    bytes: Buffer;
    doc: any;
    drop: PendingOp[];
    keep: PendingOp[];
}

/** Reads a file backend checkpoint's pending operations, as stored (no decryption). */
export function planPendingCleanup(backendUrl: string, stackName: string): PendingPlan | undefined {
    const file = checkpointFile(backendUrl, stackName);
    if (!file) return undefined;
    const { bytes, doc } = readCheckpoint(file);
    const pending = (doc?.checkpoint?.latest?.pending_operations ?? []) as PendingOp[];
    if (!pending.length) return undefined;
    const drop = pending.filter(repeatable);
    return { file, bytes, doc, drop, keep: pending.filter((op) => !drop.includes(op)) };
}

export type CleanupResult = "dropped" | "nothing-to-drop" | "locked" | "changed";

/**
 * Writes `plan` back without the dropped operations, under the stack's lock; does nothing (and says why) when
 * any lock exists or the checkpoint changed since planPendingCleanup read it.
 */
export function applyPendingCleanup(backendUrl: string, stackName: string, plan: PendingPlan): CleanupResult {
    if (!plan.drop.length) return "nothing-to-drop";
    if (engineLocks(backendUrl, stackName).length) return "locked";
    const release = takeLock(backendUrl, stackName);
    if (!release) return "locked";
    try {
        if (!fs.existsSync(plan.file) || !fs.readFileSync(plan.file).equals(plan.bytes)) return "changed";
        plan.doc.checkpoint.latest.pending_operations = plan.keep;
        writeCheckpoint(plan.file, plan.doc);
        return "dropped";
    } finally {
        release();
    }
}

/**
 * The file backend's blob store (gocloud fileblob) keeps each file's metadata (content type, MD5) in
 * `<file>.attrs`, which it rewrites in place (create, then encode) at every checkpoint: a kill -9 in between leaves
 * it empty or cut, and every later run of the stack fails with "failed to load checkpoint: EOF" although the
 * checkpoint itself (written to a temp file, then renamed) is whole. A missing `.attrs` reads as the defaults, so
 * the unreadable ones of the stack's checkpoint and its `.bak` are removed. Returns the files removed.
 */
export function clearTornAttrs(backendUrl: string, stackName: string): string[] {
    const file = checkpointFile(backendUrl, stackName);
    if (!file) return [];
    const removed: string[] = [];
    for (const attrs of [`${file}.attrs`, `${file}.bak.attrs`]) {
        let text: string;
        try {
            text = fs.readFileSync(attrs, "utf8");
        } catch {
            continue; // none: read as the defaults
        }
        try {
            JSON.parse(text);
        } catch {
            fs.rmSync(attrs, { force: true });
            removed.push(attrs);
        }
    }
    return removed;
}

const names = (ops: PendingOp[]) => `${ops.slice(0, 3).map((op) => urnName(op.resource.urn)).join(", ")}${ops.length > 3 ? ", ..." : ""}`;

/**
 * After a crash (kill -9 of the engine), the state lists the creates that were in flight. The engine keeps them
 * (and warns) until someone edits the state; on a local file backend the ones that are safe to forget are
 * dropped, saying so. Prints what it did or why not.
 */
export function clearPendingCreates(stack: { name: string }, backendUrl: string, log: (line: string) => void = console.error): CleanupResult | undefined {
    const name = stack.name;
    if (!fileBackendRoot(backendUrl)) return undefined; // sharedBackendAdvice, from the encrypted export
    const plan = planPendingCleanup(backendUrl, name);
    if (!plan) return undefined;
    const result = applyPendingCleanup(backendUrl, name, plan);
    if (result === "dropped") {
        log(`kube-pki: an earlier run of stack "${name}" was interrupted: dropped ${plan.drop.length} pending operation(s) that this run repeats or that touched only the state (${names(plan.drop)})`);
    } else if (result !== "nothing-to-drop") {
        log(
            `kube-pki: stack "${name}" has ${plan.drop.length + plan.keep.length} pending operation(s) of an interrupted run, and ` +
                (result === "locked" ? "a lock: a run may still be going" : "its state changed while it was read") +
                `: left the state as it is. When no run is going: npm run pulumi -- cancel --stack ${name}, then run again ` +
                `(or npm run pulumi -- refresh --stack ${name})`,
        );
        return result;
    }
    if (plan.keep.length) {
        log(
            `kube-pki: ${plan.keep.length} operation(s) of an interrupted run may have happened outside the state ` +
                `(${plan.keep.map((op) => `${op.type} ${urnName(op.resource.urn)}`).join(", ")}); check them, then: npm run pulumi -- refresh --stack ${name}`,
        );
    }
    return result;
}

/**
 * On a backend the wrapper does not edit: from the stack's encrypted export, what an interrupted run left and what
 * to run about it. Nothing is changed.
 */
export function sharedBackendAdvice(exported: unknown, stackName: string, backendUrl: string): string | undefined {
    const pending = ((exported as { deployment?: { pending_operations?: PendingOp[] } })?.deployment?.pending_operations ?? []) as PendingOp[];
    if (!pending.length) return undefined;
    return (
        `kube-pki: stack "${stackName}" on ${backendLabel(backendUrl)} has ${pending.length} pending operation(s) of an interrupted run (${names(pending)}). ` +
        `kube-pki never edits the state of a shared backend: when no run is going, run npm run pulumi -- refresh --stack ${stackName} ` +
        `(and npm run pulumi -- cancel --stack ${stackName} if it says the stack is locked)`
    );
}
