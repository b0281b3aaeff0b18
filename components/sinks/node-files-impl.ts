/**
 * The NodeFiles dynamic provider's implementation: the write / inspect / remove logic and the provider methods.
 * It runs in the engine's dynamic-provider process, which loads it by path (see `nodeFilesProvider` in
 * node-files.ts): the state carries only a small loader, not this code. It imports node built-ins only.
 * (Functions keep their `require()` calls in bodies from the time they were closure-serialized; harmless.)
 */
import type * as pulumi from "@pulumi/pulumi";
// ------------------------------------------------------------------------------------------------ pure logic

/** The engine's sentinel for an unknown value in dynamic provider inputs (rpc.unknownValue). */
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const TMP_MARKER = ".kube-pki-tmp-";
/** sha256 placeholder in inspected / refreshed state for a path that holds no regular file. */
const ABSENT = "absent";

/** One file to write: a path relative to the node dir, its content and octal mode ("0600"). */
export interface TreeFile {
    path: string;
    content: string;
    mode: string;
    /** Secret files make their directory 0700; default: the mode grants nothing to group/other. */
    secret?: boolean;
}

/** What is on disk (or was written) at a path: sha256 hex of the bytes and the octal mode ("0600"). */
export interface FileState {
    /** sha256 hex, or "absent" / "directory" / "symlink" / "other" when no regular file is there */
    sha256: string;
    mode: string;
}

export interface TreeState {
    /** relative path → state, for every file of the map */
    files: Record<string, FileState>;
    /** absolute paths of the directories this sink created (removed on delete when empty) */
    createdDirs: string[];
}

/** sha256 hex of a string's UTF-8 bytes: what NodeFiles writes and reports. */
export function sha256Hex(content: string): string {
    const nodeCrypto: typeof import("crypto") = require("crypto");
    return nodeCrypto.createHash("sha256").update(content, "utf8").digest("hex");
}

/** A problem with a relative file path, or undefined when it is acceptable. */
export function relPathProblem(rel: unknown): string | undefined {
    if (typeof rel !== "string" || rel.length === 0) return "must be a non-empty relative path";
    if (rel.includes("\0")) return "must not contain NUL";
    if (rel.startsWith("/")) return "must be relative to the node root, not absolute";
    if (rel.includes("\\")) return "must use '/' separators";
    for (const seg of rel.split("/")) {
        if (seg === "..") return "must not contain '..' (it would escape the node root)";
        if (seg === "" || seg === ".") return "must not contain empty or '.' segments";
        if (seg.includes(TMP_MARKER)) return `must not contain '${TMP_MARKER}' (reserved for temp files)`;
    }
    return undefined;
}

/** A problem with a node name (one path segment), or undefined. */
export function nodeNameProblem(node: unknown): string | undefined {
    if (typeof node !== "string" || node.length === 0) return "must be a non-empty name";
    if (node === "." || node === ".." || node.includes("/") || node.includes("\\") || node.includes("\0")) {
        return "must be a single path segment (no '/', not '.' or '..')";
    }
    return undefined;
}

/** "0600" → 0o600; undefined unless 3-4 octal digits without setuid/setgid/sticky bits. */
export function parseMode(mode: unknown): number | undefined {
    if (typeof mode !== "string" || !/^0?[0-7]{3}$/.test(mode)) return undefined;
    return parseInt(mode, 8);
}

/** 0o600 → "0600" */
export function formatMode(mode: number): string {
    return (mode & 0o7777).toString(8).padStart(4, "0");
}

function isInside(base: string, candidate: string): boolean {
    const p: typeof import("path") = require("path");
    return candidate === base || candidate.startsWith(base.endsWith(p.sep) ? base : base + p.sep);
}

export function errnoOf(e: unknown): string | undefined {
    return (e as NodeJS.ErrnoException)?.code;
}

function lstatOrUndefined(file: string): import("fs").Stats | undefined {
    const nodeFs: typeof import("fs") = require("fs");
    try {
        return nodeFs.lstatSync(file);
    } catch (e) {
        if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return undefined;
        throw e;
    }
}

/**
 * Creates `dir` and its missing ancestors (mode 0755, set exactly); returns the directories it created, top-down.
 * Throws when an existing ancestor is not a directory.
 */
function mkdirs(dir: string): string[] {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const missing: string[] = [];
    let cur = p.resolve(dir);
    for (;;) {
        const st = lstatOrUndefined(cur);
        if (st) {
            const target = st.isSymbolicLink() ? nodeFs.statSync(cur) : st;
            if (!target.isDirectory()) throw new Error(`${cur} exists and is not a directory`);
            break;
        }
        missing.unshift(cur);
        const parent = p.dirname(cur);
        if (parent === cur) break;
        cur = parent;
    }
    const created: string[] = [];
    for (const d of missing) {
        try {
            nodeFs.mkdirSync(d, { mode: 0o700 });
        } catch (e) {
            if (errnoOf(e) === "EEXIST") continue;
            throw e;
        }
        nodeFs.chmodSync(d, 0o755);
        created.push(d);
    }
    return created;
}

interface WalkCreate {
    /** mode of a directory to create, by its path relative to the root ("cp-1/etc/kubernetes") */
    modeOf(relDir: string): number;
    created: string[];
    /** set when this walk created the root dir itself */
    rootCreated?: boolean;
}

/** An error about a path that would leave its node's tree: never downgraded to "absent", always refused. */
function confinementError(message: string): Error {
    const e = new Error(message);
    (e as Error & { confinement?: boolean }).confinement = true;
    return e;
}

export function isConfinementError(e: unknown): boolean {
    return (e as { confinement?: boolean })?.confinement === true;
}

/**
 * Resolves the directory `<root>/<node>/<segments...>` confined to that node's tree: `<node>` must be a real
 * directory (not a symlink) directly under realpath(root), and a symlink further down is followed only when it
 * resolves inside `<realRoot>/<node>`. A link into another node's tree is refused naming both nodes (one node
 * must never overwrite another's files). Missing segments are created when `create` is given, else the result
 * is undefined (nothing exists there yet). Returns the real path of the directory.
 */
export function resolveDir(root: string, segments: string[], create?: WalkCreate): string | undefined {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    if (!lstatOrUndefined(root)) {
        if (!create) return undefined;
        create.created.push(...mkdirs(root));
        create.rootCreated = true;
    }
    const realRoot = nodeFs.realpathSync(root);
    if (!nodeFs.statSync(realRoot).isDirectory()) throw new Error(`root ${root} is not a directory`);
    const [node, ...rest] = segments;
    const nodeDir = p.join(realRoot, node);
    let cur = realRoot;
    let rel = "";
    for (const seg of [node, ...rest]) {
        const next = p.join(cur, seg);
        rel = rel ? `${rel}/${seg}` : seg;
        let st = lstatOrUndefined(next);
        if (!st) {
            if (!create) return undefined;
            try {
                nodeFs.mkdirSync(next, { mode: 0o700 });
                nodeFs.chmodSync(next, create.modeOf(rel));
                create.created.push(next);
                cur = next;
                continue;
            } catch (e) {
                if (errnoOf(e) !== "EEXIST") throw e;
                st = nodeFs.lstatSync(next);
            }
        }
        if (st.isSymbolicLink()) {
            let target: string;
            try {
                target = nodeFs.realpathSync(next);
            } catch {
                throw confinementError(`${rel} is a dangling symlink (${nodeFs.readlinkSync(next)}); refusing to follow it`);
            }
            if (!isInside(realRoot, target)) {
                throw confinementError(`${rel} is a symlink to ${target}, outside the root ${realRoot}; refusing to write through it`);
            }
            if (!isInside(nodeDir, target) || next === nodeDir) {
                const other = p.relative(realRoot, target).split(p.sep)[0];
                const where = other && other !== node ? `inside ${other}/ (node ${other}'s tree, not node ${node}'s)` : `outside node ${node}'s tree`;
                throw confinementError(
                    `${rel} is a symlink to ${target}, ${where}: node ${node} writes only under ${nodeDir}; refusing to write through it`,
                );
            }
            if (!nodeFs.statSync(target).isDirectory()) throw new Error(`${rel} is not a directory`);
            cur = target;
        } else if (st.isDirectory()) {
            cur = next;
        } else {
            throw new Error(`${rel} exists and is not a directory`);
        }
    }
    return cur;
}

/** The state of one path on disk (no symlink is followed for the file itself). */
function fileStateAt(file: string): FileState {
    const nodeFs: typeof import("fs") = require("fs");
    const nodeCrypto: typeof import("crypto") = require("crypto");
    const st = lstatOrUndefined(file);
    if (!st) return { sha256: ABSENT, mode: ABSENT };
    const mode = formatMode(st.mode);
    if (st.isSymbolicLink()) return { sha256: "symlink", mode };
    if (st.isDirectory()) return { sha256: "directory", mode };
    if (!st.isFile()) return { sha256: "other", mode };
    return { sha256: nodeCrypto.createHash("sha256").update(nodeFs.readFileSync(file)).digest("hex"), mode };
}

/** Checks node name, paths, modes and contents; throws one error listing every problem. */
function validateTree(node: string, files: TreeFile[]): void {
    const problems: string[] = [];
    const np = nodeNameProblem(node);
    if (np) problems.push(`node ${JSON.stringify(node)}: ${np}`);
    const seen = new Set<string>();
    for (const f of files) {
        const pp = relPathProblem(f.path);
        if (pp) problems.push(`path ${JSON.stringify(f.path)}: ${pp}`);
        if (seen.has(f.path)) problems.push(`path ${JSON.stringify(f.path)}: listed twice`);
        seen.add(f.path);
        if (parseMode(f.mode) === undefined) problems.push(`path ${JSON.stringify(f.path)}: mode ${JSON.stringify(f.mode)} is not an octal mode like "0600"`);
        if (typeof f.content !== "string") problems.push(`path ${JSON.stringify(f.path)}: content is not a string`);
    }
    for (const f of files) {
        if (typeof f.path === "string" && [...seen].some((other) => other.startsWith(`${f.path}/`))) {
            problems.push(`path ${JSON.stringify(f.path)}: is both a file and a directory of another path`);
        }
    }
    if (problems.length > 0) throw new Error(`kube-pki NodeFiles: invalid file map:\n  - ${problems.join("\n  - ")}`);
}

/** Directory modes for a node's map: "<node>/<dir>" → 0700 if it directly holds a secret file, else 0755. */
function dirModeFn(node: string, files: TreeFile[]): (relDir: string) => number {
    const secretDirs = new Set<string>();
    for (const f of files) {
        const secret = f.secret ?? ((parseMode(f.mode) ?? 0o600) & 0o077) === 0;
        if (!secret) continue;
        const i = f.path.lastIndexOf("/");
        secretDirs.add(i < 0 ? node : `${node}/${f.path.slice(0, i)}`);
    }
    return (relDir: string) => (secretDirs.has(relDir) ? 0o700 : 0o755);
}

/** `.<name>.kube-pki-tmp-<pid>-<hex>`: a temp file of an atomic write (see writeTree). */
const TMP_NAME = /^\..+\.kube-pki-tmp-(\d+)-[0-9a-f]+$/;
/** In the created root: which directories the sink created for the root (removed with the last node tree). */
export const ROOT_MARKER = ".kube-pki-root";

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return errnoOf(e) === "EPERM";
    }
}

/** Every temp file of an atomic write (TMP_NAME) under `dir`, recursively, never following a symlink. */
export function tempFilesUnder(dir: string): string[] {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const out: string[] = [];
    const walk = (d: string) => {
        let entries: import("fs").Dirent[];
        try {
            entries = nodeFs.readdirSync(d, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries) {
            const full = p.join(d, e.name);
            if (e.isDirectory()) walk(full);
            else if (TMP_NAME.test(e.name) && (e.isFile() || e.isSymbolicLink())) out.push(full);
        }
    };
    walk(dir);
    return out.sort();
}

/**
 * Temp files left by interrupted writes under `dir` (see tempFilesUnder) whose writer is gone: its pid is not
 * alive, or it is this process, whose writes are synchronous and therefore never in flight here.
 */
export function staleTemps(dir: string): string[] {
    const p: typeof import("path") = require("path");
    return tempFilesUnder(dir).filter((t) => {
        const pid = Number(TMP_NAME.exec(p.basename(t))?.[1]);
        return pid === process.pid || !pidAlive(pid);
    });
}

/**
 * Removes stale temp files under `dir` (see staleTemps); returns their paths. Best effort per file. With
 * `pruneEmptyDirs`, the directories that held them and are then empty are removed too, up to (not including)
 * `dir`: what is left of a node whose first write was interrupted and that is no longer configured.
 */
export function sweepStaleTemps(dir: string, opts: { pruneEmptyDirs?: boolean } = {}): string[] {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const removed: string[] = [];
    for (const t of staleTemps(dir)) {
        try {
            nodeFs.unlinkSync(t);
            removed.push(t);
        } catch {
            continue; // gone already, or not ours to remove: the next run tries again
        }
        for (let d = p.dirname(t); opts.pruneEmptyDirs && d !== dir && isInside(dir, d); d = p.dirname(d)) {
            try {
                nodeFs.rmdirSync(d);
            } catch {
                break; // not empty: it and its parents stay
            }
        }
    }
    return removed;
}

/** Roots swept whole by this process (once per process and root: other nodes' and removed nodes' leftovers). */
const sweptRoots = new Set<string>();

/** Sweeps the node's tree, and the whole root the first time this process writes under it. */
function sweepForWrite(realRoot: string, node: string): void {
    const p: typeof import("path") = require("path");
    if (!sweptRoots.has(realRoot)) {
        sweepStaleTemps(realRoot, { pruneEmptyDirs: true });
        sweptRoots.add(realRoot);
    } else {
        sweepStaleTemps(p.join(realRoot, node));
    }
}

/**
 * Exits this process when the process that started it is gone (the engine was killed: this process would be
 * re-parented and keep running with decrypted node contents in memory). The engine may start the provider
 * through a shell script that does not `exec` node: then the shell's parent is watched too.
 */
export function startOrphanWatchdog(intervalMs = 1000): void {
    const nodeFs: typeof import("fs") = require("fs");
    const parentOf = (pid: number): number | undefined => {
        try {
            const stat = nodeFs.readFileSync(`/proc/${pid}/stat`, "utf8");
            return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        } catch {
            return undefined;
        }
    };
    const commOf = (pid: number): string => {
        try {
            return nodeFs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        } catch {
            return "";
        }
    };
    const parent = process.ppid;
    const grandparent = /^(sh|bash|dash)$/.test(commOf(parent)) ? parentOf(parent) : undefined;
    const timer = setInterval(() => {
        const orphaned = process.ppid !== parent || (grandparent !== undefined && parentOf(parent) !== grandparent);
        if (orphaned) {
            console.error(`kube-pki NodeFiles provider: the engine (pid ${grandparent ?? parent}) is gone; exiting`);
            process.exit(1);
        }
    }, intervalMs);
    timer.unref();
}

function fsyncDir(dir: string): void {
    const nodeFs: typeof import("fs") = require("fs");
    let fd: number | undefined;
    try {
        fd = nodeFs.openSync(dir, "r");
        nodeFs.fsyncSync(fd);
    } catch {
        // some filesystems refuse fsync on directories: the renames are still atomic
    } finally {
        if (fd !== undefined) nodeFs.closeSync(fd);
    }
}

function unlinkQuietly(file: string): void {
    const nodeFs: typeof import("fs") = require("fs");
    try {
        nodeFs.unlinkSync(file);
    } catch {
        // already gone
    }
}

/** Records, in a root the sink created, which directories it created for it (see removeRootIfOurs). */
function markCreatedRoot(realRoot: string, created: string[]): void {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const dirs = created.filter((d) => isInside(d, realRoot) || d === realRoot);
    nodeFs.writeFileSync(p.join(realRoot, ROOT_MARKER), `${JSON.stringify({ createdBy: "kube-pki NodeFiles", dirs })}\n`, { mode: 0o644 });
}

/**
 * Writes a node's files under `<root>/<node>/` (see the module comment for modes, atomicity and confinement).
 * `createdDirs`: directories created by earlier writes of the same sink (their modes are re-applied and they
 * stay in the returned list). Returns every file's sha256 + mode and the directories created so far.
 *
 * The unit of atomicity is a directory: every changed file of a directory is staged before any of them is
 * renamed, and a failure while staging a directory's files (unwritable, a directory where a file must go)
 * leaves that directory's files untouched; the other directories are still written (a broken directory does
 * not block the repair of the rest), then the error names what was not written. A confinement violation
 * (a symlink leaving the node's tree) refuses the whole write before anything is renamed.
 */
export function writeTree(root: string, node: string, files: TreeFile[], opts: { createdDirs?: string[] } = {}): TreeState {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const nodeCrypto: typeof import("crypto") = require("crypto");
    validateTree(node, files);
    const absRoot = p.resolve(root);
    const modeOf = dirModeFn(node, files);
    const create: WalkCreate = { modeOf, created: [...(opts.createdDirs ?? [])] };
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const state: Record<string, FileState> = {};
    /** per directory of the map ("etc/kubernetes/pki"): staged temp files, or the error that stopped it */
    const units = new Map<string, { staged: { tmp: string; final: string; dir: string }[]; error?: string; paths: string[] }>();
    let current: string | undefined;
    const removeStaged = () => {
        for (const u of units.values()) for (const t of u.staged) unlinkQuietly(t.tmp);
        if (current) unlinkQuietly(current);
    };

    if (lstatOrUndefined(absRoot)) sweepForWrite(nodeFs.realpathSync(absRoot), node);

    // Phase 1: per directory, stage every changed file as a complete, synced temp file next to its target.
    for (const f of sorted) {
        const segs = f.path.split("/");
        const base = segs.pop() as string;
        const unitKey = segs.join("/");
        const unit = units.get(unitKey) ?? { staged: [], paths: [] };
        units.set(unitKey, unit);
        unit.paths.push(f.path);
        const mode = parseMode(f.mode) as number;
        const bytes = Buffer.from(f.content, "utf8");
        state[f.path] = { sha256: nodeCrypto.createHash("sha256").update(bytes).digest("hex"), mode: formatMode(mode) };
        if (unit.error) continue;
        try {
            const dir = resolveDir(absRoot, [node, ...segs], create) as string;
            if (create.rootCreated) {
                markCreatedRoot(nodeFs.realpathSync(absRoot), create.created);
                create.rootCreated = false;
            }
            const final = p.join(dir, base);
            const have = fileStateAt(final);
            if (have.sha256 === "directory") throw new Error(`${f.path} is a directory on disk; refusing to replace it`);
            if (have.sha256 === state[f.path].sha256 && have.mode === state[f.path].mode) continue;
            current = p.join(dir, `.${base}${TMP_MARKER}${process.pid}-${nodeCrypto.randomBytes(6).toString("hex")}`);
            const c = nodeFs.constants;
            const fd = nodeFs.openSync(current, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, mode);
            try {
                let off = 0;
                while (off < bytes.length) off += nodeFs.writeSync(fd, bytes, off, bytes.length - off);
                nodeFs.fchmodSync(fd, mode);
                nodeFs.fsyncSync(fd);
            } finally {
                nodeFs.closeSync(fd);
            }
            unit.staged.push({ tmp: current, final, dir });
            current = undefined;
            testPause("staged", final);
        } catch (e) {
            if (current) unlinkQuietly(current);
            current = undefined;
            if (isConfinementError(e)) {
                removeStaged();
                throw confinementError(`kube-pki NodeFiles: writing ${node} under ${absRoot} refused, nothing was changed: ${(e as Error).message}`);
            }
            for (const t of unit.staged) unlinkQuietly(t.tmp);
            unit.staged = [];
            unit.error = `${f.path}: ${(e as Error).message}`;
        }
    }

    // Phase 2: rename into place, directory by directory (atomic per file: a reader sees the old or the new file).
    const failed = [...units.entries()].filter(([, u]) => u.error);
    let renamed = 0;
    const staged = [...units.values()].flatMap((u) => u.staged);
    for (let i = 0; i < staged.length; i++) {
        try {
            nodeFs.renameSync(staged[i].tmp, staged[i].final);
            renamed++;
        } catch (e) {
            for (const s of staged.slice(i)) unlinkQuietly(s.tmp);
            throw new Error(
                `kube-pki NodeFiles: renaming ${staged[i].final} failed after ${i} of ${staged.length} files were replaced ` +
                    `(each file is complete, old or new): ${(e as Error).message}`,
            );
        }
    }
    for (const d of new Set(staged.map((s) => s.dir))) fsyncDir(d);

    // Directory modes, on directories we created only.
    const realRoot = nodeFs.realpathSync(absRoot);
    const createdDirs = [...new Set(create.created)];
    for (const d of createdDirs) {
        const rel = p.relative(realRoot, d).split(p.sep).join("/");
        const inTree = rel === node || rel.startsWith(`${node}/`);
        const want = inTree ? modeOf(rel) : 0o755;
        const st = lstatOrUndefined(d);
        if (st && st.isDirectory() && (st.mode & 0o7777) !== want) nodeFs.chmodSync(d, want);
    }
    if (failed.length > 0) {
        const notWritten = failed.flatMap(([, u]) => u.paths);
        throw new Error(
            `kube-pki NodeFiles: writing ${node} under ${absRoot}: ${notWritten.length} file(s) not written, left as they were ` +
                `(${notWritten.join(", ")}); the other directories were written (${renamed} file(s) replaced):\n  - ` +
                failed.map(([, u]) => u.error).join("\n  - "),
        );
    }
    return { files: state, createdDirs: createdDirs.filter((d) => lstatOrUndefined(d)?.isDirectory()) };
}

/**
 * Test hook for the live fault injection (e2e step `faults`): with KUBE_PKI_TEST_PAUSE_AFTER_STAGING=<ms>,
 * the provider sleeps after staging each temp file, so that a kill -9 lands while temp files exist. Unset in
 * normal runs: a no-op.
 */
function testPause(_what: string, _file: string): void {
    const ms = Number(process.env.KUBE_PKI_TEST_PAUSE_AFTER_STAGING ?? "");
    if (Number.isFinite(ms) && ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The existing, confined directory holding `rel` under `<root>/<node>/`, and the file's base name; `dir` is
 * undefined when the path cannot hold a file of ours (e.g. a file where a directory should be). Throws on a bad
 * path or a directory that leaves the root.
 */
function existingDirOf(absRoot: string, node: string, rel: string): { dir?: string; base: string } {
    const problem = relPathProblem(rel) ?? nodeNameProblem(node);
    if (problem) throw new Error(`kube-pki NodeFiles: path ${JSON.stringify(rel)}: ${problem}`);
    const segs = rel.split("/");
    const base = segs.pop() as string;
    try {
        return { dir: resolveDir(absRoot, [node, ...segs]), base };
    } catch (e) {
        if (isConfinementError(e)) throw confinementError(`kube-pki NodeFiles: ${(e as Error).message}`);
        return { base };
    }
}

/** What is on disk for each path of a node's map (hashes, not contents). Paths stay confined to the root. */
export function inspectTree(root: string, node: string, paths: string[]): Record<string, FileState> {
    const p: typeof import("path") = require("path");
    const absRoot = p.resolve(root);
    const out: Record<string, FileState> = {};
    for (const rel of paths) {
        const { dir, base } = existingDirOf(absRoot, node, rel);
        out[rel] = dir ? fileStateAt(p.join(dir, base)) : { sha256: ABSENT, mode: ABSENT };
    }
    return out;
}

/**
 * Removes the root and the ancestors the sink created for it (listed in its ROOT_MARKER) once the root holds
 * nothing but the marker: the last node tree is gone, whichever node's delete runs last, and also after a
 * recovery (the run that created the root never recorded it). Returns the directories removed.
 */
function removeRootIfOurs(realRoot: string): string[] {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const marker = p.join(realRoot, ROOT_MARKER);
    let entries: string[];
    try {
        entries = nodeFs.readdirSync(realRoot);
    } catch {
        return [];
    }
    if (entries.length !== 1 || entries[0] !== ROOT_MARKER || !lstatOrUndefined(marker)?.isFile()) return [];
    let dirs: string[] = [];
    try {
        dirs = (JSON.parse(nodeFs.readFileSync(marker, "utf8")).dirs ?? []).filter((d: unknown) => typeof d === "string");
    } catch {
        return []; // not our marker
    }
    nodeFs.unlinkSync(marker);
    const removed: string[] = [];
    const depth = (d: string) => d.split(p.sep).length;
    for (const d of [...new Set([realRoot, ...dirs.filter((d) => isInside(d, realRoot))])].sort((a, b) => depth(b) - depth(a))) {
        try {
            nodeFs.rmdirSync(d);
            removed.push(d);
        } catch {
            break; // not empty (someone else's files): it and its ancestors stay
        }
    }
    return removed;
}

/**
 * Removes the given files of `<root>/<node>/` (regular files or symlinks only: never a directory, nothing outside
 * the node's tree), then each of `createdDirs` that is empty (deepest first), then the root when the sink
 * created it and it is empty. With `wholeNode` (the resource's delete): also every stale temp file in the node's
 * tree and every empty directory on the way to the listed files, up to `<root>/<node>` (so a tree written again
 * after a recovery, whose directories the state does not list, is still cleaned).
 * Returns what was removed and the created directories that remain (not empty).
 */
export function removeTree(
    root: string,
    node: string,
    paths: string[],
    createdDirs: string[] = [],
    opts: { wholeNode?: boolean } = {},
): { removed: string[]; removedDirs: string[]; remainingDirs: string[] } {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const absRoot = p.resolve(root);
    const removed: string[] = [];
    for (const rel of paths) {
        const { dir, base } = existingDirOf(absRoot, node, rel);
        if (!dir) continue;
        const file = p.join(dir, base);
        const st = lstatOrUndefined(file);
        if (!st || st.isDirectory()) continue;
        nodeFs.unlinkSync(file);
        removed.push(rel);
    }
    const realRoot = lstatOrUndefined(absRoot) ? nodeFs.realpathSync(absRoot) : absRoot;
    const candidates = new Set(createdDirs);
    if (opts.wholeNode && lstatOrUndefined(absRoot)) {
        const nodeDir = p.join(realRoot, node);
        if (lstatOrUndefined(nodeDir)?.isDirectory()) sweepStaleTemps(nodeDir);
        candidates.add(nodeDir);
        for (const rel of paths) {
            const segs = rel.split("/").slice(0, -1);
            for (let i = 1; i <= segs.length; i++) candidates.add(p.join(nodeDir, ...segs.slice(0, i)));
        }
    }
    const depth = (d: string) => d.split(p.sep).length;
    const removedDirs: string[] = [];
    const remainingDirs: string[] = [];
    for (const d of [...candidates].sort((a, b) => depth(b) - depth(a))) {
        // only directories inside the root, or the root and its ancestors (created by mkdirs)
        const ours = isInside(realRoot, d) || isInside(d, absRoot);
        if (!ours) continue;
        try {
            nodeFs.rmdirSync(d);
            removedDirs.push(d);
        } catch (e) {
            const code = errnoOf(e);
            if (code === "ENOENT") continue;
            if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR" || code === "EBUSY") {
                if (lstatOrUndefined(d)?.isDirectory()) remainingDirs.push(d);
                continue;
            }
            throw e;
        }
    }
    const rootGone = new Set(removeRootIfOurs(realRoot));
    removedDirs.push(...rootGone);
    return { removed, removedDirs, remainingDirs: remainingDirs.filter((d) => !rootGone.has(d)) };
}

// ------------------------------------------------------------------------------------------ dynamic provider

/** Inputs of the dynamic resource (plain: secrets are unwrapped by the engine before the provider sees them). */
export interface NodeFilesInputs {
    root: string;
    node: string;
    /** path → mode, secret flag and sha256 of the content (not secret) */
    manifest: Record<string, { mode: string; secret: boolean; sha256: string }>;
    /** path → content: ONE secret input */
    contents: Record<string, string>;
}

/** Outputs (state) of the dynamic resource: hashes, never contents. */
export interface NodeFilesOutputs {
    root: string;
    node: string;
    /** `<root>/<node>` */
    directory: string;
    files: Record<string, FileState>;
    createdDirs: string[];
}

function isKnown(v: unknown): boolean {
    return v !== undefined && v !== UNKNOWN_VALUE;
}

function treeFilesOf(inputs: NodeFilesInputs): TreeFile[] {
    const manifest = inputs.manifest ?? {};
    const contents = inputs.contents;
    if (!contents || typeof contents !== "object") throw new Error("kube-pki NodeFiles: the contents input is missing or unknown");
    return Object.keys(manifest)
        .sort()
        .map((rel) => ({ path: rel, content: contents[rel], mode: manifest[rel].mode, secret: manifest[rel].secret === true }));
}

function outputsOf(root: string, node: string, st: TreeState): NodeFilesOutputs {
    const p: typeof import("path") = require("path");
    return { root, node, directory: p.join(root, node), files: st.files, createdDirs: st.createdDirs };
}

/** The wanted state of each path, from the new inputs: "unknown" while a content or mode is not known yet. */
function wantedOf(news: NodeFilesInputs): Record<string, FileState | "unknown"> {
    const out: Record<string, FileState | "unknown"> = {};
    const manifest = isKnown(news.manifest) && typeof news.manifest === "object" ? news.manifest : {};
    const contents = isKnown(news.contents) && typeof news.contents === "object" ? news.contents : undefined;
    for (const rel of Object.keys(manifest)) {
        const m = manifest[rel];
        const content = contents?.[rel];
        const mode = m && isKnown(m.mode) ? parseMode(m.mode) : undefined;
        if (mode === undefined) {
            out[rel] = "unknown";
        } else if (typeof content === "string" && content !== UNKNOWN_VALUE) {
            out[rel] = { sha256: sha256Hex(content), mode: formatMode(mode) };
        } else if (m && typeof m.sha256 === "string" && m.sha256 !== UNKNOWN_VALUE) {
            out[rel] = { sha256: m.sha256, mode: formatMode(mode) };
        } else {
            out[rel] = "unknown";
        }
    }
    return out;
}

/**
 * Paths whose content or mode differs between the wanted state (new inputs), the recorded state (old outputs,
 * possibly refreshed by `read`) and the disk; plus paths dropped from the map.
 */
export function changedPaths(olds: NodeFilesOutputs, news: NodeFilesInputs): string[] {
    const wanted = wantedOf(news);
    const recorded = olds.files ?? {};
    const disk = inspectTree(olds.root, olds.node, Object.keys(wanted));
    const changed = new Set<string>();
    for (const [rel, want] of Object.entries(wanted)) {
        if (want === "unknown") {
            changed.add(rel);
            continue;
        }
        for (const have of [recorded[rel], disk[rel]]) {
            if (!have || have.sha256 !== want.sha256 || have.mode !== want.mode) changed.add(rel);
        }
    }
    for (const rel of Object.keys(recorded)) if (!(rel in wanted)) changed.add(rel);
    for (const t of nodeTemps(olds.root, olds.node)) changed.add(t);
    return [...changed].sort();
}

/** Stale temp files in a node's tree, relative to it (none when the tree does not exist). */
function nodeTemps(root: string, node: string): string[] {
    const p: typeof import("path") = require("path");
    const absRoot = p.resolve(root);
    const nodeDir = resolveDir(absRoot, [node]);
    return nodeDir ? staleTemps(nodeDir).map((t) => p.relative(nodeDir, t).split(p.sep).join("/")) : [];
}

/**
 * What changed on disk since the last write, one line per file: each path of the old manifest (what was last
 * written) whose file is gone, differs or has another mode, and each stale temp file of an interrupted write.
 * Empty on create (no old manifest) or while the root / node are unknown.
 */
export function driftOf(olds: Partial<NodeFilesInputs> | undefined, news: NodeFilesInputs): string[] {
    const written = olds && isKnown(olds.manifest) && typeof olds.manifest === "object" ? olds.manifest : undefined;
    if (!written || !isKnown(news.root) || !isKnown(news.node) || olds?.root !== news.root || olds?.node !== news.node) return [];
    const disk = inspectTree(news.root, news.node, Object.keys(written));
    const out: string[] = [];
    for (const [rel, w] of Object.entries(written).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const have = disk[rel];
        const mode = parseMode(w?.mode);
        if (have.sha256 === ABSENT) out.push(`${rel}: removed from disk`);
        else if (!/^[0-9a-f]{64}$/.test(have.sha256)) out.push(`${rel}: replaced by a ${have.sha256} on disk`);
        else if (have.sha256 !== w.sha256) out.push(`${rel}: content changed on disk`);
        if (/^[0-9a-f]{64}$/.test(have.sha256) && mode !== undefined && have.mode !== formatMode(mode)) {
            out.push(`${rel}: mode ${have.mode} on disk, written ${formatMode(mode)}`);
        }
    }
    for (const t of nodeTemps(news.root, news.node)) out.push(`${t}: temp file left by an interrupted write (removed by the update)`);
    return out;
}

/**
 * The dynamic provider of NodeFiles (its implementation; the engine reaches it through the loader
 * `nodeFilesProvider` in node-files.ts).
 */
export const nodeFilesImpl: pulumi.dynamic.ResourceProvider = {
    async check(olds: any, news: any) {
        const failures: { property: string; reason: string }[] = [];
        if (isKnown(news.root) && (typeof news.root !== "string" || !news.root.startsWith("/"))) {
            failures.push({ property: "root", reason: "rootDir must be an absolute path" });
        }
        if (isKnown(news.node) && nodeNameProblem(news.node)) {
            failures.push({ property: "node", reason: `node ${nodeNameProblem(news.node)}` });
        }
        if (isKnown(news.manifest) && news.manifest && typeof news.manifest === "object") {
            for (const rel of Object.keys(news.manifest)) {
                const problem = relPathProblem(rel);
                if (problem) failures.push({ property: "manifest", reason: `path ${JSON.stringify(rel)}: ${problem}` });
            }
        }
        if (failures.length > 0) return { inputs: news, failures };
        // What changed on disk since the last write, by file: shown by `pulumi preview --diff` as the `drift` input
        let drift: string[] = [];
        try {
            drift = driftOf(olds, news);
        } catch (e) {
            if (!isConfinementError(e)) throw e;
            failures.push({ property: "root", reason: (e as Error).message });
        }
        return { inputs: drift.length > 0 ? { ...news, drift } : news, failures };
    },

    async create(inputs: any) {
        const st = writeTree(inputs.root, inputs.node, treeFilesOf(inputs));
        const outs = outputsOf(inputs.root, inputs.node, st);
        return { id: outs.directory, outs };
    },

    async read(id: string, props: any) {
        if (!props || typeof props.root !== "string" || typeof props.node !== "string") return { id, props };
        const files = inspectTree(props.root, props.node, Object.keys(props.files ?? {}));
        return { id, props: { ...props, files } };
    },

    async diff(_id: string, olds: any, news: any) {
        const replaces: string[] = [];
        if (isKnown(news.root) && news.root !== olds.root) replaces.push("root");
        if (isKnown(news.node) && news.node !== olds.node) replaces.push("node");
        if (!isKnown(news.root) || !isKnown(news.node)) return { changes: true };
        if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: true };
        return { changes: changedPaths(olds, news).length > 0 };
    },

    async update(_id: string, olds: any, news: any) {
        const st = writeTree(news.root, news.node, treeFilesOf(news), { createdDirs: olds.createdDirs ?? [] });
        const stale = Object.keys(olds.files ?? {}).filter((rel) => !(rel in st.files));
        const gone = new Set(removeTree(news.root, news.node, stale, st.createdDirs).removedDirs);
        const createdDirs = st.createdDirs.filter((d) => !gone.has(d));
        return { outs: outputsOf(news.root, news.node, { files: st.files, createdDirs }) };
    },

    async delete(_id: string, props: any) {
        removeTree(props.root, props.node, Object.keys(props.files ?? {}), props.createdDirs ?? [], { wholeNode: true });
    },
};
