/**
 * NodeFiles: the atomic write of one node's tree (docs/delivery.md, "Atomic writes"). Per directory: every
 * changed file is staged as a complete, fsync'ed temp file with its final mode next to its target, then all of
 * them are renamed over their targets; a directory that fails to stage keeps its old files while the others are
 * still written. All of it goes through directory handles (handles.ts) and is announced in the node's journal
 * (sweep.ts) before it happens.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { at, closeQuietly, DirHandle, handleMoved, openChild, openRoot } from "./handles";
import {
    confinementError,
    dirModeFn,
    errnoOf,
    FileState,
    formatMode,
    isConfinementError,
    isInside,
    JOURNAL_NAME,
    lstatOrUndefined,
    parseMode,
    resolveDir,
    ROOT_MARKER,
    TreeFile,
    TreeState,
    validateTree,
} from "./paths";
import { JournalWriter, sweepJournal, sweepOtherNodes, tempName } from "./sweep";

/**
 * Seams for tests (documented in docs/delivery.md): the shipped code calls them and reads nothing else, so a
 * test injects a pause or a fault without any switch in production. `afterStaged` runs after each temp file is
 * complete and synced, before any rename of its write. The e2e step `faults` sets it from a `--require` hook.
 */
export const nodeFilesHooks: { afterStaged?: (tempFile: string, target: string) => void } = {};

/**
 * Creates `dir` and its missing ancestors (mode 0755, set exactly); returns the directories it created, top-down.
 * Throws when an existing ancestor is not a directory.
 */
function mkdirs(dir: string): string[] {
    const missing: string[] = [];
    let cur = path.resolve(dir);
    for (;;) {
        const st = lstatOrUndefined(cur);
        if (st) {
            const target = st.isSymbolicLink() ? fs.statSync(cur) : st;
            if (!target.isDirectory()) throw new Error(`${cur} exists and is not a directory`);
            break;
        }
        missing.unshift(cur);
        const parent = path.dirname(cur);
        if (parent === cur) break;
        cur = parent;
    }
    const created: string[] = [];
    for (const d of missing) {
        try {
            fs.mkdirSync(d, { mode: 0o700 });
        } catch (e) {
            if (errnoOf(e) === "EEXIST") continue;
            throw e;
        }
        fs.chmodSync(d, 0o755);
        created.push(d);
    }
    return created;
}

function fsyncDir(h: DirHandle): void {
    try {
        fs.fsyncSync(h.fd);
    } catch {
        // some filesystems refuse fsync on directories: the renames are still atomic
    }
}

function unlinkQuietly(file: string): void {
    try {
        fs.unlinkSync(file);
    } catch {
        // already gone
    }
}

/** Records, in a root the sink created, which directories it created for it (see removeRootIfOurs). */
function markCreatedRoot(realRoot: string, created: string[]): void {
    const dirs = created.filter((d) => isInside(d, realRoot) || d === realRoot);
    fs.writeFileSync(path.join(realRoot, ROOT_MARKER), `${JSON.stringify({ createdBy: "kube-pki NodeFiles", dirs })}\n`, { mode: 0o644 });
}

interface Staged {
    tmp: string;
    base: string;
    dir: DirHandle;
}

/**
 * Writes a node's files under `<root>/<node>/`. `createdDirs`: directories created by earlier writes of the same
 * sink (their modes are re-applied and they stay in the returned list). Returns every file's sha256 + mode and
 * the directories created so far.
 *
 * The unit of atomicity is a directory: every changed file of a directory is staged before any of them is
 * renamed, and a failure while staging a directory's files (unwritable, a directory where a file must go)
 * leaves that directory's files untouched; the other directories are still written, then the error names what
 * was not written. A confinement violation (a symlink leaving the node's tree, a directory others can
 * rearrange, a directory moved or swapped during the write) refuses the whole write before anything is renamed.
 */
export function writeTree(root: string, node: string, files: TreeFile[], opts: { createdDirs?: string[] } = {}): TreeState {
    validateTree(node, files);
    const absRoot = path.resolve(root);
    const modeOf = dirModeFn(node, files);
    const created: string[] = [...(opts.createdDirs ?? [])];
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const refused = (e: unknown) =>
        confinementError(`kube-pki NodeFiles: writing ${node} under ${absRoot} refused, nothing was changed: ${(e as Error).message.replace(/^kube-pki NodeFiles: /, "")}`);
    // The path-based check first, for its messages (which node's tree a link leads into); the handles enforce it.
    for (const dir of new Set(sorted.map((f) => f.path.split("/").slice(0, -1).join("/")))) {
        try {
            resolveDir(absRoot, [node, ...(dir ? dir.split("/") : [])]);
        } catch (e) {
            if (isConfinementError(e)) throw refused(e);
        }
    }
    if (!lstatOrUndefined(absRoot)) {
        created.push(...mkdirs(absRoot));
        markCreatedRoot(fs.realpathSync(absRoot), created);
    }
    const realRoot = fs.realpathSync(absRoot);
    const handles = new Map<string, DirHandle>();
    let journal: JournalWriter | undefined;
    const staged: Staged[] = [];
    let current: string | undefined;
    const removeStaged = () => {
        for (const s of staged) unlinkQuietly(at(s.dir, s.tmp));
        staged.length = 0;
        if (current) unlinkQuietly(current);
    };
    try {
        const rootH = openRoot(realRoot);
        handles.set("", rootH);
        sweepOtherNodes(realRoot, node);
        // the node dir, and the journal in it, before anything else of this write exists
        const nonce = crypto.randomBytes(8).toString("hex");
        const temps = sorted.map((f) => {
            const segs = f.path.split("/");
            const base = segs.pop() as string;
            return [...segs, tempName(base, nonce)].join("/");
        });
        const nodeOpen = openChild(rootH, node, { realRoot, node, mkdir: (rel) => modeOf(rel) });
        const nodeH = nodeOpen!.handle;
        handles.set(node, nodeH);
        if (nodeOpen!.created) created.push(path.join(realRoot, node));
        else sweepJournal(at(nodeH), node);
        journal = new JournalWriter(at(nodeH, JOURNAL_NAME), { nonce, temps, createdNode: nodeOpen!.created });
        const j = journal;

        /** The open directory for "etc/kubernetes" (relative to the node), created (and journaled) when missing. */
        const dirOf = (segs: string[]): DirHandle => {
            let h = nodeH;
            for (let i = 0; i < segs.length; i++) {
                const key = [node, ...segs.slice(0, i + 1)].join("/");
                const have = handles.get(key);
                if (have) {
                    h = have;
                    continue;
                }
                const r = openChild(h, segs[i], {
                    realRoot,
                    node,
                    mkdir: (rel) => {
                        j.dir(segs.slice(0, i + 1).join("/"));
                        return modeOf(rel);
                    },
                })!;
                if (r.created) created.push(path.join(h.real, segs[i]));
                handles.set(key, r.handle);
                h = r.handle;
            }
            return h;
        };

        const state: Record<string, FileState> = {};
        const units = new Map<string, { staged: Staged[]; error?: string; paths: string[] }>();
        // Phase 1: per directory, stage every changed file as a complete, synced temp file next to its target.
        for (let i = 0; i < sorted.length; i++) {
            const f = sorted[i];
            const segs = f.path.split("/");
            const base = segs.pop() as string;
            const unitKey = segs.join("/");
            const unit = units.get(unitKey) ?? { staged: [], paths: [] };
            units.set(unitKey, unit);
            unit.paths.push(f.path);
            const mode = parseMode(f.mode) as number;
            const bytes = Buffer.from(f.content, "utf8");
            state[f.path] = { sha256: crypto.createHash("sha256").update(bytes).digest("hex"), mode: formatMode(mode) };
            if (unit.error) continue;
            try {
                const dir = dirOf(segs);
                const have = fileStateAt(at(dir, base));
                if (have.sha256 === "directory") throw new Error(`${f.path} is a directory on disk; refusing to replace it`);
                if (have.sha256 === state[f.path].sha256 && have.mode === state[f.path].mode) continue;
                const tmp = path.basename(temps[i]);
                current = at(dir, tmp);
                const c = fs.constants;
                const fd = fs.openSync(current, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, mode);
                try {
                    let off = 0;
                    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
                    fs.fchmodSync(fd, mode);
                    fs.fsyncSync(fd);
                } finally {
                    fs.closeSync(fd);
                }
                const s = { tmp, base, dir };
                unit.staged.push(s);
                staged.push(s);
                current = undefined;
                nodeFilesHooks.afterStaged?.(path.join(dir.real, tmp), path.join(dir.real, base));
            } catch (e) {
                if (current) unlinkQuietly(current);
                current = undefined;
                if (isConfinementError(e)) throw e;
                for (const t of unit.staged) {
                    unlinkQuietly(at(t.dir, t.tmp));
                    staged.splice(staged.indexOf(t), 1);
                }
                unit.staged = [];
                unit.error = `${f.path}: ${(e as Error).message}`;
            }
        }

        // Every directory is still the one at its path (nothing moved or swapped it since it was opened).
        for (const h of new Set(staged.map((s) => s.dir))) {
            const moved = handleMoved(h);
            if (moved) throw confinementError(moved);
        }
        // Phase 2: rename into place (atomic per file: a reader sees the old or the new file).
        let renamed = 0;
        for (let i = 0; i < staged.length; i++) {
            try {
                fs.renameSync(at(staged[i].dir, staged[i].tmp), at(staged[i].dir, staged[i].base));
                renamed++;
            } catch (e) {
                const target = path.join(staged[i].dir.real, staged[i].base);
                staged.splice(0, i);
                throw new Error(
                    `kube-pki NodeFiles: renaming ${target} failed after ${i} of ${i + staged.length} files were replaced ` +
                        `(each file is complete, old or new): ${(e as Error).message}`,
                );
            }
        }
        for (const h of new Set(staged.map((s) => s.dir))) fsyncDir(h);
        staged.length = 0;

        // Directory modes, on directories we created only.
        const createdDirs = [...new Set(created)];
        for (const d of createdDirs) {
            const rel = path.relative(realRoot, d).split(path.sep).join("/");
            const inTree = rel === node || rel.startsWith(`${node}/`);
            const want = inTree ? modeOf(rel) : 0o755;
            const st = lstatOrUndefined(d);
            if (st && st.isDirectory() && (st.mode & 0o7777) !== want) fs.chmodSync(d, want);
        }
        const failed = [...units.values()].filter((u) => u.error);
        if (failed.length > 0) {
            const notWritten = failed.flatMap((u) => u.paths);
            throw new Error(
                `kube-pki NodeFiles: writing ${node} under ${absRoot}: ${notWritten.length} file(s) not written, left as they were ` +
                    `(${notWritten.join(", ")}); the other directories were written (${renamed} file(s) replaced):\n  - ` +
                    failed.map((u) => u.error).join("\n  - "),
            );
        }
        return { files: state, createdDirs: createdDirs.filter((d) => lstatOrUndefined(d)?.isDirectory()) };
    } catch (e) {
        removeStaged();
        if (isConfinementError(e)) throw refused(e);
        throw e;
    } finally {
        if (journal) {
            journal.close();
            const nodeH = handles.get(node);
            if (nodeH) unlinkQuietly(at(nodeH, JOURNAL_NAME));
        }
        for (const h of handles.values()) closeQuietly(h);
    }
}

/** The state of one path on disk (no symlink is followed for the file itself). */
export function fileStateAt(file: string): FileState {
    const st = lstatOrUndefined(file);
    if (!st) return { sha256: "absent", mode: "absent" };
    const mode = formatMode(st.mode);
    if (st.isSymbolicLink()) return { sha256: "symlink", mode };
    if (st.isDirectory()) return { sha256: "directory", mode };
    if (!st.isFile()) return { sha256: "other", mode };
    return { sha256: crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex"), mode };
}
