/**
 * NodeFiles sink: writes one node's file map (kubeadm layout) under `<rootDir>/<node>/` on the machine that runs
 * `pulumi up`, through a Pulumi dynamic provider (one resource per node, however many files). The rules are in
 * docs/delivery.md; in short:
 *
 *  - Modes from the map, set exactly; a directory the sink creates is 0700 when it directly holds a secret file,
 *    else 0755 (only directories the sink created are chmod'ed).
 *  - Atomic per directory: every changed file staged as a complete, fsync'ed temp file with its final mode, then
 *    renamed; a directory that fails to stage keeps its old files, the others are written, the error names what
 *    was not. The write goes through directory handles (node-files/handles.ts), so a directory swapped for a
 *    symlink mid-write cannot send a file out of the node's tree; directories others could rearrange are refused.
 *  - Interrupted writes: a journal per node (node-files/sweep.ts); the next write removes exactly what a killed
 *    write of this sink recorded. The provider exits when the engine that started it is gone.
 *  - Confinement to `<rootDir>/<node>` (a link into another node's tree is refused naming both nodes), at
 *    preview (component args, provider check) and at write time.
 *  - State: contents are ONE secret input (packed: node-files/packed.ts) plus a plain manifest (path → mode, secret flag, sha256); outputs carry
 *    sha256 + mode per file and the directories created, never contents. Drift by hashing the disk (`diff`,
 *    `read`, and the `drift` input `preview --diff` shows). `delete` removes exactly the files in its state.
 *
 * The implementation lives in node-files/ (node built-ins only), which the engine's dynamic-provider process
 * loads by path through node-files-impl.ts; scripts/ and e2e/ use node-files/public.ts only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { fileMapInputs } from "./file-map-inputs";
import type { FileMap } from "../model";
import { ConfigError } from "../config";
import { errnoOf, nodeNameProblem, parseMode, relPathProblem, resolveDir } from "./node-files/paths";
import type { FileState } from "./node-files/paths";

export { writeTree } from "./node-files/atomic";
export { inspectTree, removeTree, staleTemps } from "./node-files/inspect";
export { formatMode, nodeNameProblem, parseMode, relPathProblem, sha256Hex } from "./node-files/paths";
export { changedPaths, driftOf } from "./node-files/provider";
export { nodeFilesHooks, pidAlive, tempFilesUnder } from "./node-files/public";
export { startOrphanWatchdog } from "./node-files/watchdog";
export type { FileState, TreeFile, TreeState } from "./node-files/paths";
export type { NodeFilesInputs, NodeFilesOutputs } from "./node-files/provider";

// ------------------------------------------------------------------------------------------ dynamic provider

/**
 * The implementation module, absolute and relative to the program dir. The engine starts the dynamic-provider
 * process in the program dir, so the relative path still resolves after the checkout moved (the state of a
 * resource keeps the loader it was created with, and `delete` / `read` run it).
 */
const IMPL_FILE = require.resolve("./node-files-impl");
const IMPL_REL = path.relative(process.cwd(), IMPL_FILE);

/**
 * Loads the provider implementation by path (when it is TypeScript and no loader is registered yet, as in the
 * engine's dynamic-provider process: components/program-loader.js, the program's cached transpile, or ts-node); `dynamicProvider()` of the
 * implementation starts the orphan watchdog in that process: the provider holds decrypted node contents and must
 * not outlive a killed engine. Serialized into every NodeFiles resource's state (inputs and outputs) and so
 * rewritten with the whole state after every step of an up: kept short; it captures two strings, nothing else.
 */
function loadNodeFilesImpl(): pulumi.dynamic.ResourceProvider {
    const file = [require("path").resolve(IMPL_REL), IMPL_FILE].find((f: string) => require("fs").existsSync(f));
    if (!file) throw new Error(`kube-pki NodeFiles: the provider implementation is missing (${IMPL_FILE})`);
    if (file.endsWith(".ts") && !require.extensions[".ts"]) {
        const cached = require("path").join(file, "../../program-loader.js"); // the program's cached transpile, else ts-node
        if (require("fs").existsSync(cached)) require(cached);
        else require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    return require(file).dynamicProvider();
}

/**
 * The dynamic provider of NodeFiles: a loader that delegates to node-files-impl.ts (`nodeFilesImpl`). Its
 * serialized form, stored in every resource's state, is a few hundred bytes instead of the implementation.
 */
export const nodeFilesProvider: pulumi.dynamic.ResourceProvider = {
    check: (olds: any, news: any) => loadNodeFilesImpl().check!(olds, news),
    create: (inputs: any) => loadNodeFilesImpl().create(inputs),
    read: (id: string, props: any) => loadNodeFilesImpl().read!(id, props),
    diff: (id: string, olds: any, news: any) => loadNodeFilesImpl().diff!(id, olds, news),
    update: (id: string, olds: any, news: any) => loadNodeFilesImpl().update!(id, olds, news),
    delete: (id: string, props: any) => loadNodeFilesImpl().delete!(id, props),
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
        const { manifest, contents } = fileMapInputs(args.files);
        this.resource = new NodeFilesResource(
            `${name}-files`,
            { root: this.rootDir, node: args.node, manifest, contents },
            { parent: this },
        );
        this.hashes = this.resource.files.apply((files) =>
            Object.fromEntries(Object.entries(files ?? {}).map(([rel, st]) => [rel, st.sha256])),
        );
        // the hashes are the resource's `files` outputs already: not recorded a second time in the state
        this.registerOutputs({ directory: this.directory });
    }
}
