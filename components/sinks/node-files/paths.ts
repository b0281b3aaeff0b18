/**
 * NodeFiles: the shared vocabulary (file/tree types, mode and name rules) and the path-based confinement check
 * that preview and inspection use (docs/delivery.md, "Confinement"). Node built-ins only: the engine's
 * dynamic-provider process loads this folder by path.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** The engine's sentinel for an unknown value in dynamic provider inputs (rpc.unknownValue). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Marks the name of a temp file of an atomic write: `.<name>.kube-pki-tmp-<pid>-<nonce>`. */
export const TMP_MARKER = ".kube-pki-tmp-";
/** The write journal in a node dir (see sweep.ts): reserved, never a path of a file map. */
export const JOURNAL_NAME = ".kube-pki-journal";
/** In the created root: which directories the sink created for the root (removed with the last node tree). */
export const ROOT_MARKER = ".kube-pki-root";
/** sha256 placeholder in inspected / refreshed state for a path that holds no regular file. */
export const ABSENT = "absent";

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
    return crypto.createHash("sha256").update(content, "utf8").digest("hex");
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
    if (rel === JOURNAL_NAME) return `must not be '${JOURNAL_NAME}' (reserved for the sink's write journal)`;
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

export function isInside(base: string, candidate: string): boolean {
    return candidate === base || candidate.startsWith(base.endsWith(path.sep) ? base : base + path.sep);
}

export function errnoOf(e: unknown): string | undefined {
    return (e as NodeJS.ErrnoException)?.code;
}

export function lstatOrUndefined(file: string): fs.Stats | undefined {
    try {
        return fs.lstatSync(file);
    } catch (e) {
        if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return undefined;
        throw e;
    }
}

/** An error about a path that would leave its node's tree: never downgraded to "absent", always refused. */
export function confinementError(message: string): Error {
    const e = new Error(message);
    (e as Error & { confinement?: boolean }).confinement = true;
    return e;
}

export function isConfinementError(e: unknown): boolean {
    return (e as { confinement?: boolean })?.confinement === true;
}

/** Why following the symlink at `rel` (resolving to `target`) would leave node `node`'s tree, or undefined. */
export function symlinkEscape(realRoot: string, node: string, rel: string, at: string, target: string): string | undefined {
    const nodeDir = path.join(realRoot, node);
    if (!isInside(realRoot, target)) return `${rel} is a symlink to ${target}, outside the root ${realRoot}; refusing to write through it`;
    if (!isInside(nodeDir, target) || at === nodeDir) {
        const other = path.relative(realRoot, target).split(path.sep)[0];
        const where = other && other !== node ? `inside ${other}/ (node ${other}'s tree, not node ${node}'s)` : `outside node ${node}'s tree`;
        return `${rel} is a symlink to ${target}, ${where}: node ${node} writes only under ${nodeDir}; refusing to write through it`;
    }
    return undefined;
}

/**
 * Resolves the existing directory `<root>/<node>/<segments...>` confined to that node's tree, by path (preview,
 * inspect, remove; the write itself walks directory handles, see handles.ts): `<node>` must be a real directory
 * directly under realpath(root), and a symlink further down is followed only when it resolves inside
 * `<realRoot>/<node>`. A link into another node's tree is refused naming both nodes. Returns the real path of
 * the directory, or undefined when a segment does not exist yet.
 */
export function resolveDir(root: string, segments: string[]): string | undefined {
    if (!lstatOrUndefined(root)) return undefined;
    const realRoot = fs.realpathSync(root);
    if (!fs.statSync(realRoot).isDirectory()) throw new Error(`root ${root} is not a directory`);
    const [node] = segments;
    let cur = realRoot;
    let rel = "";
    for (const seg of segments) {
        const next = path.join(cur, seg);
        rel = rel ? `${rel}/${seg}` : seg;
        const st = lstatOrUndefined(next);
        if (!st) return undefined;
        if (st.isSymbolicLink()) {
            let target: string;
            try {
                target = fs.realpathSync(next);
            } catch {
                throw confinementError(`${rel} is a dangling symlink (${fs.readlinkSync(next)}); refusing to follow it`);
            }
            const escape = symlinkEscape(realRoot, node, rel, next, target);
            if (escape) throw confinementError(escape);
            if (!fs.statSync(target).isDirectory()) throw new Error(`${rel} is not a directory`);
            cur = target;
        } else if (st.isDirectory()) {
            cur = next;
        } else {
            throw new Error(`${rel} exists and is not a directory`);
        }
    }
    return cur;
}

/** Checks node name, paths, modes and contents; throws one error listing every problem. */
export function validateTree(node: string, files: TreeFile[]): void {
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
export function dirModeFn(node: string, files: TreeFile[]): (relDir: string) => number {
    const secretDirs = new Set<string>();
    for (const f of files) {
        const secret = f.secret ?? ((parseMode(f.mode) ?? 0o600) & 0o077) === 0;
        if (!secret) continue;
        const i = f.path.lastIndexOf("/");
        secretDirs.add(i < 0 ? node : `${node}/${f.path.slice(0, i)}`);
    }
    return (relDir: string) => (secretDirs.has(relDir) ? 0o700 : 0o755);
}
