/**
 * RemoteNodeFiles sink (`kube-pki:index:RemoteNodeFiles`): one node's file map (kubeadm layout) written on the
 * machine itself over SSH, with the local sink's guarantees (docs/delivery.md): pinned host key, staged +
 * fsync'ed temp files with their final mode and owner renamed into place per directory, confinement to
 * `<remoteRoot>/<node>` checked on the machine at write time, drift by hashes computed there, destroy removes
 * exactly what it wrote. The dynamic resource (`pulumi-nodejs:dynamic:RemoteNodeFiles`) delegates to
 * remote-files/provider.ts through a small loader, like NodeFiles.
 */
import * as crypto from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { fileMapInputs } from "./file-map-inputs";
import type { FileMap } from "../model";
import { ConfigError } from "../validation/problems";
import { nodeNameProblem, parseMode } from "./node-files/paths";
import { ownerNameProblem, remotePathProblem, remoteRootProblem } from "./remote-files/plan";
import { pinnedFingerprint } from "./remote-files/ssh";
import type { RolloutInputs } from "../rollout/apply";
import { bundleFiles } from "../validation/rollout";

const IMPL_FILE = require.resolve("./remote-files/provider");
const IMPL_REL = path.relative(process.cwd(), IMPL_FILE);

/** Loads the provider implementation by path (ts-node when needed); serialized into the state: two strings. */
function loadRemoteFilesImpl(): pulumi.dynamic.ResourceProvider {
    const nodeFs: typeof import("fs") = require("fs");
    const p: typeof import("path") = require("path");
    const file = [p.resolve(IMPL_REL), IMPL_FILE].find((c) => nodeFs.existsSync(c));
    if (!file) throw new Error(`kube-pki RemoteNodeFiles: the provider implementation is missing (looked for ${IMPL_REL} and ${IMPL_FILE})`);
    if (file.endsWith(".ts") && !require.extensions[".ts"]) {
        require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    return require(file).remoteFilesImpl;
}

export const remoteFilesProvider: pulumi.dynamic.ResourceProvider = {
    check: (olds: any, news: any) => loadRemoteFilesImpl().check!(olds, news),
    create: (inputs: any) => loadRemoteFilesImpl().create(inputs),
    read: (id: string, props: any) => loadRemoteFilesImpl().read!(id, props),
    diff: (id: string, olds: any, news: any) => loadRemoteFilesImpl().diff!(id, olds, news),
    update: (id: string, olds: any, news: any) => loadRemoteFilesImpl().update!(id, olds, news),
    delete: (id: string, props: any) => loadRemoteFilesImpl().delete!(id, props),
};

/** How to reach one node. */
export interface RemoteConnection {
    host: string;
    /** default 22 */
    port?: number;
    /** default "root"; any other user runs the writes through `sudo -n` unless `sudo: false` */
    user?: string;
    /** the node's host key, pinned: a public key line ("ssh-ed25519 AAAA...") or "SHA256:..." (no TOFU) */
    hostKey: string;
    /** the client private key (OpenSSH or PEM); kept a Pulumi secret. Or `agent`. */
    privateKey?: pulumi.Input<string>;
    /** an ssh-agent socket path (e.g. process.env.SSH_AUTH_SOCK) instead of privateKey */
    agent?: string;
    sudo?: boolean;
}

export interface RemoteNodeFilesArgs {
    node: string;
    files: FileMap;
    connection: RemoteConnection;
    /**
     * The files' owner on the machine, a user name or numeric uid (default root), set with the same privilege the
     * writes use (root, or sudo): not with `sudo: false` as a non-root user. A name the machine does not know is
     * refused there before anything is written. Directories stay root's.
     */
    owner?: string;
    /** The files' group on the machine, a group name or numeric gid (default root); as `owner`. */
    group?: string;
    /** where the trees live on the machine: `<remoteRoot>/<node>/etc/kubernetes/...`; default "/" */
    remoteRoot?: string;
    /** restart what must restart after a delivery, then gate (docs/rollout.md); absent: files only */
    rollout?: Omit<RolloutInputs, "hashes" | "bundles">;
}

/** The trust files of a node (public: CA certificates and sa.pub), per file, for the fleet guards. */
function bundlesOf(files: FileMap): Record<string, pulumi.Output<string>> {
    return Object.fromEntries(
        (["ca", "etcd-ca", "front-proxy-ca", "sa"] as const)
            .flatMap((ca) => bundleFiles(ca))
            .filter((rel) => files[rel])
            .map((rel) => [rel, pulumi.unsecret(pulumi.output(files[rel].content))]),
    );
}

/** Every problem with the args, naming the field (`remoteNodes.<node>.<field>` as the stack config spells it). */
export function remoteNodeFilesArgsProblems(args: RemoteNodeFilesArgs, prefix = `remoteNodes.${args?.node}`): string[] {
    const problems: string[] = [];
    const np = nodeNameProblem(args.node) ?? (/^[A-Za-z0-9._-]+$/.test(String(args.node)) ? undefined : "may hold only letters, digits and . _ -");
    if (np) problems.push(`${prefix}: node name ${JSON.stringify(args.node)} ${np}`);
    const c = args.connection ?? ({} as RemoteConnection);
    if (typeof c.host !== "string" || c.host.trim() === "") problems.push(`${prefix}.host: required (the node's address or name)`);
    if (c.port !== undefined && (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535)) problems.push(`${prefix}.port: ${JSON.stringify(c.port)} is not a port (1-65535)`);
    if (c.user !== undefined && !/^[a-z_][a-z0-9_.-]*$/i.test(c.user)) problems.push(`${prefix}.user: ${JSON.stringify(c.user)} is not a user name`);
    const hk = pinnedFingerprint(c.hostKey);
    if (hk.problem) problems.push(`${prefix}.hostKey: ${hk.problem}`);
    for (const k of ["owner", "group"] as const) {
        if (args[k] === undefined) continue;
        const op = ownerNameProblem(args[k]);
        if (op) problems.push(`${prefix}.${k}: ${JSON.stringify(args[k])} ${op}`);
    }
    const privileged = (c.user ?? "root") === "root" || (c.sudo ?? true);
    if ((args.owner !== undefined || args.group !== undefined) && !privileged) {
        problems.push(`${prefix}: owner/group need the writes to run as root, and ${c.user} writes without sudo (drop \`sudo: false\`, connect as root, or drop owner/group)`);
    }
    if (!c.privateKey && !c.agent) problems.push(`${prefix}: no credential (set kube-pki:remoteSshKey with \`pulumi config set --secret\` from a file, or agent: true with SSH_AUTH_SOCK)`);
    if (args.remoteRoot !== undefined) {
        const rp = remoteRootProblem(args.remoteRoot);
        if (rp) problems.push(`${prefix}.remoteRoot: ${JSON.stringify(args.remoteRoot)} ${rp}`);
    }
    const paths = Object.keys(args.files ?? {});
    if (paths.length === 0) problems.push(`${prefix}: no files for node ${JSON.stringify(args.node)}`);
    for (const rel of paths) {
        const pp = remotePathProblem(rel);
        if (pp) problems.push(`${prefix}: files[${JSON.stringify(rel)}]: ${pp}`);
        if (parseMode(args.files[rel]?.mode) === undefined) problems.push(`${prefix}: files[${JSON.stringify(rel)}].mode: not an octal mode`);
    }
    return problems;
}

export class RemoteNodeFilesResource extends pulumi.dynamic.Resource {
    declare public readonly files: pulumi.Output<Record<string, { sha256: string; mode: string }>>;
    declare public readonly createdDirs: pulumi.Output<string[]>;
    declare public readonly rolloutPlan: pulumi.Output<string | undefined>;
    declare public readonly rolloutResult: pulumi.Output<{ plan: string; restarted: string[]; gates: string[] } | undefined>;
    constructor(name: string, args: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(remoteFilesProvider, name, { ...args, files: undefined, createdDirs: undefined, rolloutPlan: undefined, rolloutResult: undefined }, { ...opts, additionalSecretOutputs: ["privateKey"] }, undefined, "RemoteNodeFiles");
    }
}

/** One node's tree on the node itself, over SSH. Bad args throw a ConfigError before anything is registered. */
export class RemoteNodeFiles extends pulumi.ComponentResource {
    /** relative path → sha256 of what is on the machine (computed there) */
    public readonly hashes: pulumi.Output<Record<string, string>>;
    public readonly resource: RemoteNodeFilesResource;

    constructor(name: string, args: RemoteNodeFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = remoteNodeFilesArgsProblems(args);
        if (problems.length > 0) throw new ConfigError(`RemoteNodeFiles "${name}" args`, problems);
        super("kube-pki:index:RemoteNodeFiles", name, {}, opts);
        const { manifest, contents } = fileMapInputs(args.files);
        // per file (not one object), so that a preview knows which hashes are not known yet
        const fileHashes = Object.fromEntries(
            Object.keys(args.files)
                .sort()
                .map((rel) => [rel, pulumi.unsecret(pulumi.output(args.files[rel].content).apply((c) => crypto.createHash("sha256").update(c, "utf8").digest("hex")))]),
        );
        const c = args.connection;
        const user = c.user ?? "root";
        this.resource = new RemoteNodeFilesResource(
            `${name}-remote`,
            {
                node: args.node,
                root: args.remoteRoot ?? "/",
                host: c.host,
                port: c.port ?? 22,
                user,
                hostKey: c.hostKey,
                sudo: c.sudo ?? user !== "root",
                ...(args.owner !== undefined ? { owner: args.owner } : {}),
                ...(args.group !== undefined ? { group: args.group } : {}),
                ...(c.agent ? { agent: c.agent } : {}),
                ...(c.privateKey ? { privateKey: pulumi.secret(c.privateKey) } : {}),
                manifest,
                contents,
                ...(args.rollout ? { rollout: { ...args.rollout, hashes: fileHashes, bundles: bundlesOf(args.files) } } : {}),
            },
            { parent: this, ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}) },
        );
        this.hashes = this.resource.files.apply((files) => Object.fromEntries(Object.entries(files ?? {}).map(([rel, st]) => [rel, st.sha256])));
        if (args.rollout) {
            // the per-node plan in a plain preview: the check computed it, a preview's outputs are the checked inputs
            // (a node without changes keeps its old outputs, which hold no plan: it prints nothing)
            this.resource.rolloutPlan.apply((plan) => {
                if (plan && pulumi.runtime.isDryRun()) void pulumi.log.info(`rollout plan: ${plan}`, this);
            });
        }
        this.registerOutputs({ hashes: this.hashes });
    }
}
