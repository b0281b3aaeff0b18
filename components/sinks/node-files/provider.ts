/**
 * NodeFiles: the dynamic provider's methods (check / create / read / diff / update / delete) over the write,
 * inspect and remove logic of this folder. The engine's dynamic-provider process loads it by path through
 * `nodeFilesProvider` in ../node-files.ts (the state carries a small loader, not this code).
 */
import type * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { writeTree } from "./atomic";
import { inspectTree, removeTree, staleTemps } from "./inspect";
import { ABSENT, formatMode, isConfinementError, nodeNameProblem, parseMode, relPathProblem, sha256Hex, TreeFile, TreeState, UNKNOWN_VALUE } from "./paths";
import type { FileState } from "./paths";


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
    return { root, node, directory: path.join(root, node), files: st.files, createdDirs: st.createdDirs };
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
    for (const t of staleTemps(olds.root, olds.node)) changed.add(t);
    return [...changed].sort();
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
    for (const t of staleTemps(news.root, news.node)) out.push(`${t}: temp file left by an interrupted write (removed by the update)`);
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
