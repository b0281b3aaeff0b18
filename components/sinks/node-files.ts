/**
 * NodeFiles sink: writes one node's file map (kubeadm layout) under `<rootDir>/<node>/` on the machine that runs
 * `pulumi up`, through a Pulumi dynamic provider (one resource per node, however many files).
 *
 * Rules (DESIGN §6):
 *  - File modes come from the map (keys and kubeconfigs "0600", certificates "0644") and are set exactly (no umask).
 *  - Directory modes: a directory the sink creates is 0700 when it directly holds a secret file of the map
 *    (etc/kubernetes, etc/kubernetes/pki, etc/kubernetes/pki/etcd, var/lib/kubelet/pki on a control plane), else
 *    0755 (the node dir, etc, var, ...; also rootDir and its ancestors when the sink has to create them). Modes
 *    are enforced on every write, only on directories the sink created; existing directories are left alone.
 *  - Writes are atomic per file: a temp file (`.<name>.kube-pki-tmp-<pid>-<rand>`) in the same directory, opened
 *    O_EXCL|O_NOFOLLOW with the final mode, written, fsync'ed, then renamed over the target. All temp files of a
 *    write are staged before the first rename; any failure while staging removes every temp file and leaves the
 *    old files untouched. Files whose content and mode are already right are not rewritten.
 *  - Paths are confined to `<rootDir>/<node>`: relative, no `.`/`..`/empty segments, and every existing directory
 *    on the way (symlinks resolved) must stay under realpath(rootDir).
 *  - State: the dynamic resource's inputs carry the contents as ONE secret (`contents`) plus a plain manifest
 *    (path → mode, secret flag, sha256); its outputs carry only sha256 + mode per file and the directories it
 *    created, never contents.
 *  - Drift: `diff` and `read` hash the files on disk, so a file changed or removed on disk shows as an update in
 *    `pulumi preview` / `pulumi up` (with or without --refresh) and is rewritten by the update.
 *  - `delete` removes exactly the files in its state (regular files or symlinks at those paths, never
 *    directories) and then the directories it created, if empty. Foreign files survive, and so do their dirs.
 *
 * The write/remove logic is plain functions (writeTree, removeTree, inspectTree) that the provider calls; they are
 * serialized with the provider (closure serialization), so they only use `require()` inside function bodies and
 * top-level function declarations / constants.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { FileMap } from "../cluster-pki";
import { ConfigError } from "../config";

// ------------------------------------------------------------------------------------------------ pure logic
// Everything from here to the provider object is serialized into the dynamic provider: require() inside bodies.

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

function errnoOf(e: unknown): string | undefined {
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
}

/**
 * Resolves the directory `<root>/<segments...>` confined to realpath(root): existing segments may be symlinks
 * only if they resolve inside the root. Missing segments are created when `create` is given, else the result
 * is undefined (nothing exists there yet). Returns the real path of the directory.
 */
function resolveDir(root: string, segments: string[], create?: WalkCreate): string | undefined {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    if (!lstatOrUndefined(root)) {
        if (!create) return undefined;
        create.created.push(...mkdirs(root));
    }
    const realRoot = nodeFs.realpathSync(root);
    if (!nodeFs.statSync(realRoot).isDirectory()) throw new Error(`root ${root} is not a directory`);
    let cur = realRoot;
    let rel = "";
    for (const seg of segments) {
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
                throw new Error(`${rel} is a dangling symlink (${nodeFs.readlinkSync(next)}); refusing to follow it`);
            }
            if (!isInside(realRoot, target)) {
                throw new Error(`${rel} is a symlink to ${target}, outside the root ${realRoot}; refusing to write through it`);
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

/** Removes leftover temp files of `base` in `dir` (from a crashed write). */
function removeStaleTemps(dir: string, base: string): void {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    let names: string[];
    try {
        names = nodeFs.readdirSync(dir);
    } catch {
        return;
    }
    for (const n of names) {
        if (n.startsWith(`.${base}${TMP_MARKER}`)) {
            try {
                nodeFs.unlinkSync(p.join(dir, n));
            } catch {
                // best effort
            }
        }
    }
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

/**
 * Writes a node's files under `<root>/<node>/` (see the module comment for modes, atomicity and confinement).
 * `createdDirs`: directories created by earlier writes of the same sink (their modes are re-applied and they
 * stay in the returned list). Returns every file's sha256 + mode and the directories created so far.
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
    const staged: { tmp: string; final: string; dir: string }[] = [];
    const state: Record<string, FileState> = {};
    let current: string | undefined;

    // Phase 1: stage every changed file as a complete, synced temp file next to its target.
    try {
        for (const f of sorted) {
            const segs = f.path.split("/");
            const base = segs.pop() as string;
            const dir = resolveDir(absRoot, [node, ...segs], create) as string;
            const final = p.join(dir, base);
            const mode = parseMode(f.mode) as number;
            const bytes = Buffer.from(f.content, "utf8");
            const want: FileState = { sha256: nodeCrypto.createHash("sha256").update(bytes).digest("hex"), mode: formatMode(mode) };
            state[f.path] = want;
            removeStaleTemps(dir, base);
            const have = fileStateAt(final);
            if (have.sha256 === "directory") throw new Error(`${f.path} is a directory on disk; refusing to replace it`);
            if (have.sha256 === want.sha256 && have.mode === want.mode) continue;
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
            staged.push({ tmp: current, final, dir });
            current = undefined;
        }
    } catch (e) {
        for (const t of [...staged.map((s) => s.tmp), ...(current ? [current] : [])]) {
            try {
                nodeFs.unlinkSync(t);
            } catch {
                // already gone
            }
        }
        throw new Error(`kube-pki NodeFiles: writing ${node} under ${absRoot} failed, nothing was changed: ${(e as Error).message}`);
    }

    // Phase 2: rename into place (atomic per file: a reader sees the old or the new file, never a partial one).
    for (let i = 0; i < staged.length; i++) {
        try {
            nodeFs.renameSync(staged[i].tmp, staged[i].final);
        } catch (e) {
            for (const s of staged.slice(i)) {
                try {
                    nodeFs.unlinkSync(s.tmp);
                } catch {
                    // already gone
                }
            }
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
    return { files: state, createdDirs: createdDirs.filter((d) => lstatOrUndefined(d)?.isDirectory()) };
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
        const msg = (e as Error).message;
        if (/outside the root|dangling symlink/.test(msg)) throw new Error(`kube-pki NodeFiles: ${msg}`);
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
 * Removes the given files of `<root>/<node>/` (regular files or symlinks only: never a directory, nothing outside
 * the root), leftover temp files of those names, then each of `createdDirs` that is empty (deepest first).
 * Returns what was removed and the created directories that remain (not empty).
 */
export function removeTree(
    root: string,
    node: string,
    paths: string[],
    createdDirs: string[] = [],
): { removed: string[]; removedDirs: string[]; remainingDirs: string[] } {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const absRoot = p.resolve(root);
    const removed: string[] = [];
    for (const rel of paths) {
        const { dir, base } = existingDirOf(absRoot, node, rel);
        if (!dir) continue;
        removeStaleTemps(dir, base);
        const file = p.join(dir, base);
        const st = lstatOrUndefined(file);
        if (!st || st.isDirectory()) continue;
        nodeFs.unlinkSync(file);
        removed.push(rel);
    }
    const realRoot = lstatOrUndefined(absRoot) ? nodeFs.realpathSync(absRoot) : absRoot;
    const depth = (d: string) => d.split(p.sep).length;
    const removedDirs: string[] = [];
    const remainingDirs: string[] = [];
    for (const d of [...new Set(createdDirs)].sort((a, b) => depth(b) - depth(a))) {
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
    return { removed, removedDirs, remainingDirs };
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
    return [...changed].sort();
}

/**
 * The dynamic provider of NodeFiles. Self-contained for closure serialization: its methods only call the
 * top-level functions above, which require() what they use.
 */
export const nodeFilesProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: any, news: any) {
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
        return { inputs: news, failures };
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
        removeTree(props.root, props.node, Object.keys(props.files ?? {}), props.createdDirs ?? []);
    },
};

// ------------------------------------------------------------------------------------------------ component

/** The dynamic resource behind NodeFiles (type `pulumi-nodejs:dynamic:NodeFiles`). */
export class NodeFilesResource extends pulumi.dynamic.Resource {
    declare public readonly root: pulumi.Output<string>;
    declare public readonly node: pulumi.Output<string>;
    declare public readonly directory: pulumi.Output<string>;
    declare public readonly files: pulumi.Output<Record<string, FileState>>;
    declare public readonly createdDirs: pulumi.Output<string[]>;

    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(nodeFilesProvider, name, { ...args, directory: undefined, files: undefined, createdDirs: undefined }, opts, undefined, "NodeFiles");
    }
}

export interface NodeFilesArgs {
    /** Root of the node trees on the machine running `pulumi up`; relative paths resolve against the cwd. */
    rootDir: string;
    /** Node name: files go to `<rootDir>/<node>/`. */
    node: string;
    /** The node's files (ClusterPki.nodeFiles[node]). */
    files: FileMap;
}

/** Every problem with NodeFiles args, checked against the local file system (before anything is registered). */
export function nodeFilesArgsProblems(args: NodeFilesArgs): string[] {
    const problems: string[] = [];
    if (typeof args.rootDir !== "string" || args.rootDir.trim() === "") {
        problems.push("nodeFiles.rootDir: must be a directory path (set the root of the node trees, e.g. ./out/nodes)");
        return problems;
    }
    const np = nodeNameProblem(args.node);
    if (np) problems.push(`nodeFiles.node: ${JSON.stringify(args.node)} ${np}`);
    const root = path.resolve(args.rootDir);
    const before = problems.length;
    // Writability: the nearest existing ancestor of <root>/<node> must be a writable directory.
    let probe = np ? root : path.join(root, args.node);
    for (;;) {
        if (fs.existsSync(probe) || path.dirname(probe) === probe) break;
        probe = path.dirname(probe);
    }
    try {
        const st = fs.statSync(probe);
        if (!st.isDirectory()) {
            problems.push(`nodeFiles.rootDir: ${probe} (on the way to ${root}) is not a directory (choose another rootDir)`);
        } else {
            fs.accessSync(probe, fs.constants.W_OK | fs.constants.X_OK);
        }
    } catch (e) {
        problems.push(`nodeFiles.rootDir: ${root} is not writable: ${probe} is not writable (${errnoOf(e) ?? (e as Error).message}) (choose a writable rootDir or fix permissions)`);
    }
    const rootProblem = problems.length > before;
    const paths = Object.keys(args.files ?? {});
    if (paths.length === 0) problems.push(`nodeFiles.files: no files for node ${JSON.stringify(args.node)} (pass ClusterPki.nodeFiles[node])`);
    const dirsChecked = new Set<string>();
    for (const rel of paths) {
        const f = args.files[rel];
        const pp = relPathProblem(rel);
        if (pp) {
            problems.push(`nodeFiles.files[${JSON.stringify(rel)}]: ${pp} (paths are relative to <rootDir>/<node>)`);
            continue;
        }
        if (paths.some((other) => other.startsWith(`${rel}/`))) {
            problems.push(`nodeFiles.files[${JSON.stringify(rel)}]: is both a file and the directory of another file`);
        }
        if (parseMode(f?.mode) === undefined) {
            problems.push(`nodeFiles.files[${JSON.stringify(rel)}].mode: ${JSON.stringify(f?.mode)} is not an octal mode like "0600"`);
        }
        if (f?.content === undefined) problems.push(`nodeFiles.files[${JSON.stringify(rel)}].content: missing`);
        // symlink escapes through existing directories
        const dir = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
        if (np || rootProblem || dirsChecked.has(dir)) continue;
        dirsChecked.add(dir);
        try {
            resolveDir(root, [args.node, ...(dir ? dir.split("/") : [])]);
        } catch (e) {
            problems.push(`nodeFiles.files[${JSON.stringify(rel)}]: ${(e as Error).message}`);
        }
    }
    return problems;
}

/**
 * One node's file tree on local disk (`kube-pki:index:NodeFiles`). Bad args (unwritable root, a path escaping
 * the root, bad modes) throw a ConfigError before any resource is registered.
 */
export class NodeFiles extends pulumi.ComponentResource {
    /** Absolute root dir. */
    public readonly rootDir: string;
    /** Absolute `<rootDir>/<node>`. */
    public readonly directory: string;
    /** relative path → sha256 hex of the content written (from the provider's state: what is on disk). */
    public readonly hashes: pulumi.Output<Record<string, string>>;
    public readonly resource: NodeFilesResource;

    constructor(name: string, args: NodeFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = nodeFilesArgsProblems(args);
        if (problems.length > 0) throw new ConfigError(`NodeFiles "${name}" args`, problems);
        super("kube-pki:index:NodeFiles", name, {}, opts);
        this.rootDir = path.resolve(args.rootDir);
        this.directory = path.join(this.rootDir, args.node);
        const paths = Object.keys(args.files).sort();
        // Hashes are not secret (a sha256 of key material reveals nothing usable); contents are one secret.
        const manifest = pulumi.unsecret(
            pulumi.all(
                Object.fromEntries(
                    paths.map((rel) => {
                        const f = args.files[rel];
                        const hash = pulumi.output(f.content).apply((c) => crypto.createHash("sha256").update(c, "utf8").digest("hex"));
                        return [rel, pulumi.unsecret(hash).apply((sha256) => ({ mode: f.mode, secret: f.secret === true, sha256 }))];
                    }),
                ),
            ),
        );
        const contents = pulumi.secret(pulumi.all(Object.fromEntries(paths.map((rel) => [rel, pulumi.output(args.files[rel].content)]))));
        this.resource = new NodeFilesResource(
            `${name}-files`,
            { root: this.rootDir, node: args.node, manifest, contents },
            { parent: this },
        );
        this.hashes = this.resource.files.apply((files) =>
            Object.fromEntries(Object.entries(files ?? {}).map(([rel, st]) => [rel, st.sha256])),
        );
        this.registerOutputs({ directory: this.directory, hashes: this.hashes });
    }
}
