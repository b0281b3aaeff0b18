/**
 * The state backend: whatever PULUMI_BACKEND_URL says (file://, postgres://, s3://, azblob://, gs://, Pulumi Cloud),
 * default the local file backend .pulumi-state/ in the checkout. Only a local file backend is ever inspected or
 * edited here (its locks, checkpoints and the wrapper's run records); every other backend is left to the engine.
 *
 * Run records: before the engine starts, the wrapper writes <file backend>/.kube-pki/runs/<stack>/<pid>-<start>.json
 * (0600 in 0700 dirs) with its own process identity (components/process.ts), hostname and checkout, and removes it
 * when it exits. The engine's lock (.pulumi/locks/organization/<project>/<stack>/<uuid>.json) holds only the CLI's
 * pid, user, host and time; the record is what later proves that the run which took the lock is dead.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { ProcessIdentity, selfIdentity } from "../components/process";

export const PROJECT_DIR = path.resolve(__dirname, "..");
export const PROJECT_NAME = "kube-pki";
export const STATE_DIR = path.join(PROJECT_DIR, ".pulumi-state");

/** The backend URL of a run: explicit, else PULUMI_BACKEND_URL, else the checkout's .pulumi-state/. */
export function backendUrlOf(explicit?: string): string {
    return explicit ?? process.env.PULUMI_BACKEND_URL ?? `file://${STATE_DIR}`;
}

/** The URL for messages: a password in it (postgres://user:pass@host) is replaced by "***". */
export function backendLabel(url: string): string {
    return url.replace(/^([a-z0-9+.-]+:\/\/[^/:@]+):[^@/]*@/i, "$1:***@");
}

/** The directory of a local file backend (file:///abs or file://~/x), or undefined for any other backend. */
export function fileBackendRoot(url: string): string | undefined {
    if (!url.startsWith("file://")) return undefined;
    const rest = url.slice("file://".length).replace(/\?.*$/, "");
    if (rest === "~" || rest.startsWith("~/")) return path.join(os.homedir(), rest.slice(1));
    return path.resolve(rest);
}

function pulumiDir(url: string): string | undefined {
    const root = fileBackendRoot(url);
    return root && path.join(root, ".pulumi");
}

/** The checkpoint file of a stack in a file backend (plain or gzipped), or undefined (none, other backend). */
export function checkpointFile(url: string, stackName: string): string | undefined {
    const dir = pulumiDir(url);
    if (!dir) return undefined;
    const base = path.join(dir, "stacks", PROJECT_NAME, stackName);
    return [`${base}.json`, `${base}.json.gz`].find((f) => fs.existsSync(f));
}

/** Whether the stack exists in a file backend (undefined: another backend, unknown). */
export function stackExists(url: string, stackName: string): boolean | undefined {
    if (!pulumiDir(url)) return undefined;
    return checkpointFile(url, stackName) !== undefined;
}

export function readCheckpoint(file: string): { bytes: Buffer; doc: any } {
    const bytes = fs.readFileSync(file);
    const text = file.endsWith(".gz") ? zlib.gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
    return { bytes, doc: JSON.parse(text) };
}

/** Replaces a checkpoint file atomically (temp file 0600 in the same dir, fsync, rename). */
export function writeCheckpoint(file: string, doc: unknown): void {
    const text = JSON.stringify(doc, null, 4);
    const data = file.endsWith(".gz") ? zlib.gzipSync(text) : Buffer.from(text);
    const tmp = `${file}.kube-pki-tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    try {
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}

// --- the engine's locks -------------------------------------------------------------------------------------

/** A lock file of the DIY backend (pkg/backend/diy/lock.go: pid, username, hostname, timestamp). */
export interface EngineLock {
    file: string;
    pid?: number;
    username?: string;
    hostname?: string;
    timestamp?: string;
}

export function lockDir(url: string, stackName: string): string | undefined {
    const dir = pulumiDir(url);
    return dir && path.join(dir, "locks", "organization", PROJECT_NAME, stackName);
}

/** The stack's lock files in a file backend (unreadable ones too, with no fields). */
export function engineLocks(url: string, stackName: string): EngineLock[] {
    const dir = lockDir(url, stackName);
    if (!dir || !fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => {
            const file = path.join(dir, f);
            try {
                return { file, ...(JSON.parse(fs.readFileSync(file, "utf8")) as Omit<EngineLock, "file">) };
            } catch {
                return { file };
            }
        });
}

export function removeLock(lock: EngineLock): void {
    fs.rmSync(lock.file, { force: true });
    fs.rmSync(`${lock.file}.attrs`, { force: true });
}

/**
 * Takes the stack's lock the way the engine does (write our lock file, then look for others), so that no engine
 * run can start while the wrapper edits the checkpoint. Returns the release function, or undefined when another
 * lock exists (ours is then removed again).
 */
export function takeLock(url: string, stackName: string): (() => void) | undefined {
    const dir = lockDir(url, stackName);
    if (!dir) return undefined;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${crypto.randomUUID()}.json`);
    const content = { pid: process.pid, username: os.userInfo().username, hostname: os.hostname(), timestamp: new Date().toISOString() };
    fs.writeFileSync(file, JSON.stringify(content), { mode: 0o600, flag: "wx" });
    const release = () => removeLock({ file });
    if (engineLocks(url, stackName).some((l) => l.file !== file)) {
        release();
        return undefined;
    }
    return release;
}

// --- run records --------------------------------------------------------------------------------------------

export interface RunRecord {
    file: string;
    owner: ProcessIdentity;
    hostname: string;
    checkout: string;
    stack: string;
    /** RFC 3339, written before the engine starts. */
    startedAt: string;
}

function runsDir(url: string, stackName: string): string | undefined {
    const root = fileBackendRoot(url);
    return root && path.join(root, ".kube-pki", "runs", stackName);
}

/**
 * Records this process as a run of `stackName` on a file backend; returns the record's path (undefined: another
 * backend, or no /proc to identify this process with). The record goes when this process exits normally.
 */
export function recordRun(url: string, stackName: string): string | undefined {
    const dir = runsDir(url, stackName);
    const owner = selfIdentity();
    if (!dir || !owner) return undefined;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${owner.pid}-${owner.start}.json`);
    const record: Omit<RunRecord, "file"> = { owner, hostname: os.hostname(), checkout: PROJECT_DIR, stack: stackName, startedAt: new Date().toISOString() };
    fs.writeFileSync(file, JSON.stringify(record), { mode: 0o600 });
    process.once("exit", () => fs.rmSync(file, { force: true }));
    return file;
}

export function runRecords(url: string, stackName: string): RunRecord[] {
    const dir = runsDir(url, stackName);
    if (!dir || !fs.existsSync(dir)) return [];
    const out: RunRecord[] = [];
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".json"))) {
        const file = path.join(dir, f);
        try {
            const r = JSON.parse(fs.readFileSync(file, "utf8")) as Omit<RunRecord, "file">;
            if (r.owner && typeof r.owner.pid === "number" && typeof r.startedAt === "string") out.push({ ...r, file });
        } catch {
            /* unreadable: proves nothing */
        }
    }
    return out;
}

/** stacks/Pulumi.<stack>.yaml of this checkout. */
export function stackFile(stackName: string): string {
    return path.join(PROJECT_DIR, "stacks", `Pulumi.${stackName}.yaml`);
}
