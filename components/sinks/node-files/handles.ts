/**
 * NodeFiles: directory handles for the write (docs/delivery.md, "Why directory handles"). Checking a path and
 * then opening files under it is racy: a directory swapped for a symlink between the two sends the file
 * elsewhere, and O_NOFOLLOW covers only the last component. So the write opens each directory once, one
 * component at a time (O_DIRECTORY, O_NOFOLLOW unless a link was checked to stay in the node's tree), and then
 * names everything through `/proc/self/fd/<fd>/<name>`, which the kernel resolves from the open directory, not
 * from its path. A directory owned by someone else (not us, not root) or writable by group/others is refused:
 * whoever can rename entries in it could move the tree away. Before the renames, each handle is checked to still
 * be the directory at its path (device + inode, and the kernel's idea of its path).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { confinementError, errnoOf, formatMode, isInside, lstatOrUndefined, symlinkEscape } from "./paths";

export interface DirHandle {
    fd: number;
    /** the directory's real path when it was opened */
    real: string;
    dev: number;
    ino: number;
    /** relative to the root ("cp-1/etc/kubernetes"), for messages */
    rel: string;
}

/** The kernel's path for a name inside an open directory (or the directory itself). */
export function at(h: DirHandle, name?: string): string {
    return name === undefined ? `/proc/self/fd/${h.fd}` : `/proc/self/fd/${h.fd}/${name}`;
}

const O = fs.constants;

function euid(): number {
    return process.geteuid?.() ?? -1;
}

/**
 * Refuses a directory another user could rearrange: owned by neither us nor root, or writable by group/others
 * (the root dir may be a sticky shared directory such as /tmp: nobody else can rename our entries there).
 */
function ownershipProblem(st: fs.Stats, rel: string, isRoot: boolean): string | undefined {
    if (st.uid !== euid() && st.uid !== 0) {
        return `${rel} is owned by uid ${st.uid}, neither this user (uid ${euid()}) nor root: another user could swap it; chown it or choose another root`;
    }
    const sticky = (st.mode & 0o1000) !== 0;
    if ((st.mode & 0o022) !== 0 && !(isRoot && sticky)) {
        return `${rel} is writable by group or others (mode ${formatMode(st.mode)}): another user could swap what is in it; run chmod go-w on it`;
    }
    return undefined;
}

function opened(fd: number, rel: string, isRoot: boolean): DirHandle {
    try {
        const st = fs.fstatSync(fd);
        if (!st.isDirectory()) throw new Error(`${rel} is not a directory`);
        const problem = ownershipProblem(st, rel, isRoot);
        if (problem) throw confinementError(problem);
        return { fd, real: fs.readlinkSync(`/proc/self/fd/${fd}`), dev: st.dev, ino: st.ino, rel };
    } catch (e) {
        fs.closeSync(fd);
        throw e;
    }
}

/** Opens the root directory (its path may contain symlinks: it is the operator's choice). */
export function openRoot(realRoot: string): DirHandle {
    return opened(fs.openSync(realRoot, O.O_RDONLY | O.O_DIRECTORY), realRoot, true);
}

/**
 * Opens `seg` inside the open directory `parent`, which belongs to node `node`'s tree (or is the root when `seg`
 * is the node). A symlink is followed only below the node dir and only when what was opened lies inside the
 * node's tree; `mkdir` (when given) creates a missing directory first and returns its mode to set.
 */
export function openChild(
    parent: DirHandle,
    seg: string,
    ctx: { realRoot: string; node: string; mkdir?: (rel: string) => number },
): { handle: DirHandle; created: boolean } | undefined {
    const rel = parent.rel === ctx.realRoot ? seg : `${parent.rel}/${seg}`;
    const nodeDir = path.join(ctx.realRoot, ctx.node);
    const p = at(parent, seg);
    let st = lstatOrUndefined(p);
    let created = false;
    if (!st) {
        if (!ctx.mkdir) return undefined;
        const mode = ctx.mkdir(rel);
        try {
            fs.mkdirSync(p, { mode: 0o700 });
            created = true;
        } catch (e) {
            if (errnoOf(e) !== "EEXIST") throw e;
        }
        st = fs.lstatSync(p);
        if (created) {
            const h = opened(fs.openSync(p, O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW), rel, false);
            fs.fchmodSync(h.fd, mode);
            return { handle: h, created };
        }
    }
    if (st.isSymbolicLink()) {
        let target: string;
        try {
            target = fs.realpathSync(p);
        } catch {
            throw confinementError(`${rel} is a dangling symlink (${fs.readlinkSync(p)}); refusing to follow it`);
        }
        const escape = symlinkEscape(ctx.realRoot, ctx.node, rel, path.join(parent.real, seg), target);
        if (escape) throw confinementError(escape);
        const h = opened(fs.openSync(p, O.O_RDONLY | O.O_DIRECTORY), rel, false);
        // what was opened is what counts: the link may have changed since it was read
        if (!isInside(nodeDir, h.real) || h.real === nodeDir) {
            fs.closeSync(h.fd);
            throw confinementError(`${rel} changed while it was opened and now leads to ${h.real}, outside node ${ctx.node}'s tree; refusing to write through it`);
        }
        return { handle: h, created };
    }
    if (!st.isDirectory()) throw new Error(`${rel} exists and is not a directory`);
    try {
        return { handle: opened(fs.openSync(p, O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW), rel, false), created };
    } catch (e) {
        if (errnoOf(e) === "ELOOP" || errnoOf(e) === "ENOTDIR") {
            throw confinementError(`${rel} was replaced by a symlink while the write opened it; refusing to write through it`);
        }
        throw e;
    }
}

/**
 * Why the open directory is no longer the one at its path (moved, or replaced by a symlink or another directory
 * since it was opened), or undefined.
 */
export function handleMoved(h: DirHandle): string | undefined {
    let now: string;
    try {
        now = fs.readlinkSync(`/proc/self/fd/${h.fd}`);
    } catch (e) {
        return `${h.rel} cannot be checked (${errnoOf(e) ?? (e as Error).message})`;
    }
    const st = lstatOrUndefined(h.real);
    if (now !== h.real || !st || st.isSymbolicLink() || st.dev !== h.dev || st.ino !== h.ino) {
        return `${h.rel} was moved or replaced during the write (opened at ${h.real}, now at ${now}; ${h.real} is ${st ? (st.isSymbolicLink() ? "a symlink" : "another directory") : "gone"})`;
    }
    return undefined;
}

export function closeQuietly(h: DirHandle | undefined): void {
    if (!h) return;
    try {
        fs.closeSync(h.fd);
    } catch {
        // already closed
    }
}
