/**
 * NodeFiles: reading what is on disk (hashes, never contents, for diff / read / drift) and removing exactly what
 * the sink wrote (delete, and files dropped from a map on update). Paths stay confined to the node's tree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileStateAt } from "./atomic";
import {
    ABSENT,
    confinementError,
    errnoOf,
    FileState,
    isConfinementError,
    isInside,
    lstatOrUndefined,
    nodeNameProblem,
    relPathProblem,
    resolveDir,
    ROOT_MARKER,
} from "./paths";
import { journalTemps, sweepJournal } from "./sweep";

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
    const absRoot = path.resolve(root);
    const out: Record<string, FileState> = {};
    for (const rel of paths) {
        const { dir, base } = existingDirOf(absRoot, node, rel);
        out[rel] = dir ? fileStateAt(path.join(dir, base)) : { sha256: ABSENT, mode: ABSENT };
    }
    return out;
}

/** Temp files left in a node's tree by an interrupted write of this sink, relative to it (see sweep.ts). */
export function staleTemps(root: string, node: string): string[] {
    const nodeDir = resolveDir(path.resolve(root), [node]);
    return nodeDir ? journalTemps(nodeDir) : [];
}

/**
 * Removes the root and the ancestors the sink created for it (listed in its ROOT_MARKER) once the root holds
 * nothing but the marker: the last node tree is gone, whichever node's delete runs last, and also after a
 * recovery (the run that created the root never recorded it). Returns the directories removed.
 */
function removeRootIfOurs(realRoot: string): string[] {
    const marker = path.join(realRoot, ROOT_MARKER);
    let entries: string[];
    try {
        entries = fs.readdirSync(realRoot);
    } catch {
        return [];
    }
    if (entries.length !== 1 || entries[0] !== ROOT_MARKER || !lstatOrUndefined(marker)?.isFile()) return [];
    let dirs: string[] = [];
    try {
        dirs = (JSON.parse(fs.readFileSync(marker, "utf8")).dirs ?? []).filter((d: unknown) => typeof d === "string");
    } catch {
        return []; // not our marker
    }
    fs.unlinkSync(marker);
    const removed: string[] = [];
    const depth = (d: string) => d.split(path.sep).length;
    for (const d of [...new Set([realRoot, ...dirs.filter((d) => isInside(d, realRoot))])].sort((a, b) => depth(b) - depth(a))) {
        try {
            fs.rmdirSync(d);
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
 * created it and it is empty. With `wholeNode` (the resource's delete): also what an interrupted write of this
 * node left (its journal's temp files and directories) and every empty directory on the way to the listed
 * files, up to `<root>/<node>` (so a tree written again after a recovery, whose directories the state does not
 * list, is still cleaned). Returns what was removed and the created directories that remain (not empty).
 */
export function removeTree(
    root: string,
    node: string,
    paths: string[],
    createdDirs: string[] = [],
    opts: { wholeNode?: boolean } = {},
): { removed: string[]; removedDirs: string[]; remainingDirs: string[] } {
    const absRoot = path.resolve(root);
    const removed: string[] = [];
    for (const rel of paths) {
        const { dir, base } = existingDirOf(absRoot, node, rel);
        if (!dir) continue;
        const file = path.join(dir, base);
        const st = lstatOrUndefined(file);
        if (!st || st.isDirectory()) continue;
        fs.unlinkSync(file);
        removed.push(rel);
    }
    const realRoot = lstatOrUndefined(absRoot) ? fs.realpathSync(absRoot) : absRoot;
    const candidates = new Set(createdDirs);
    if (opts.wholeNode && lstatOrUndefined(absRoot)) {
        const nodeDir = path.join(realRoot, node);
        if (lstatOrUndefined(nodeDir)?.isDirectory()) sweepJournal(nodeDir, node);
        candidates.add(nodeDir);
        for (const rel of paths) {
            const segs = rel.split("/").slice(0, -1);
            for (let i = 1; i <= segs.length; i++) candidates.add(path.join(nodeDir, ...segs.slice(0, i)));
        }
    }
    const depth = (d: string) => d.split(path.sep).length;
    const removedDirs: string[] = [];
    const remainingDirs: string[] = [];
    for (const d of [...candidates].sort((a, b) => depth(b) - depth(a))) {
        // only directories inside the root, or the root and its ancestors (created by mkdirs)
        const ours = isInside(realRoot, d) || isInside(d, absRoot);
        if (!ours) continue;
        try {
            fs.rmdirSync(d);
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
