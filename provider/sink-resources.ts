/**
 * The file-writing sinks as custom resources of the component package itself, so that a program in any language
 * (YAML, Go, Python) can write node trees: the engine sends their create/read/update/delete to this provider process
 * (the one that constructs the components), not to Pulumi's Node.js dynamic-provider plugin, which resolves
 * @pulumi/pulumi from the program's directory and so exists only for Node.js programs.
 *
 * The CRUD is the library's own sink implementation (components/sinks/node-files/provider.ts and
 * remote-files/provider.ts, the same code the dynamic resources run); this file only routes the provider protocol's
 * calls to it by resource type. The provider does not accept secrets, so the engine sends the secret `contents`
 * (and `privateKey`) input as plain values to this process and keeps every output whose input was secret a secret.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as provider from "@pulumi/pulumi/provider";
import { nodeFilesImpl } from "../components/sinks/node-files/provider";
import { remoteFilesImpl } from "../components/sinks/remote-files/provider";

/** The custom resource under kube-pki:index:NodeFiles: one node's tree on the machine that runs `pulumi up`. */
export const NODE_TREE_TYPE = "kube-pki:index:NodeTree";
/** The custom resource under kube-pki:index:RemoteNodeFiles: one node's tree on the node, over SSH. */
export const REMOTE_NODE_TREE_TYPE = "kube-pki:index:RemoteNodeTree";

const IMPLS: Record<string, pulumi.dynamic.ResourceProvider> = { [NODE_TREE_TYPE]: nodeFilesImpl, [REMOTE_NODE_TREE_TYPE]: remoteFilesImpl };

/** The sink implementation of a resource URN (its type is the URN's last `::` part but one). */
function implOf(urn: string): pulumi.dynamic.ResourceProvider {
    const type = urn.split("::")[2]?.split("$").pop() ?? "";
    const impl = IMPLS[type];
    if (!impl) throw new Error(`kube-pki provider: unknown resource type ${type} (${urn})`);
    return impl;
}

/** The provider protocol's secret marker (the provider accepts secrets: the engine sends them wrapped in it). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

const isSecretValue = (v: unknown): v is { value: unknown } => typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

/** A value with every secret marker removed, and whether it held one. */
function unwrap(v: unknown): { value: unknown; secret: boolean } {
    if (isSecretValue(v)) return { value: unwrap(v.value).value, secret: true };
    if (Array.isArray(v)) {
        const items = v.map(unwrap);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (typeof v === "object" && v !== null) {
        let secret = false;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
            const u = unwrap(x);
            out[k] = u.value;
            secret ||= u.secret;
        }
        return { value: out, secret };
    }
    return { value: v, secret: false };
}

/** The properties without secret markers (for the sink code) and the top-level keys that held a secret. */
function plain(props: Record<string, unknown> | undefined): { props: any; secretKeys: Set<string> } {
    const secretKeys = new Set<string>();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props ?? {})) {
        const u = unwrap(v);
        out[k] = u.value;
        if (u.secret) secretKeys.add(k);
    }
    return { props: out, secretKeys };
}

/** The properties going back to the engine: each key that was secret going in (and privateKey, always) a secret again. */
function resecret(props: Record<string, unknown> | undefined, ...secretKeys: Set<string>[]): any {
    if (!props) return props;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) {
        const secret = k === "privateKey" || secretKeys.some((s) => s.has(k));
        out[k] = secret && v !== undefined && !isSecretValue(v) ? { [SIG_KEY]: SECRET_SIG, value: v } : v;
    }
    return out;
}

/** The provider protocol's CRUD methods for the sink resources (mixed into KubePkiProvider). */
export const sinkCrud: Required<Pick<provider.Provider, "check" | "diff" | "create" | "read" | "update" | "delete">> = {
    check: async (urn, olds, news) => {
        const [o, n] = [plain(olds), plain(news)];
        const r = await implOf(urn).check!(o.props, n.props);
        return { inputs: resecret(r.inputs, n.secretKeys), failures: r.failures };
    },
    diff: async (id, urn, olds, news) => implOf(urn).diff!(id, plain(olds).props, plain(news).props),
    create: async (urn, inputs) => {
        const i = plain(inputs);
        const r = await implOf(urn).create(i.props);
        return { id: r.id, outs: resecret(r.outs, i.secretKeys) };
    },
    read: async (id, urn, props) => {
        const p = plain(props);
        const r = await implOf(urn).read!(id, p.props);
        return { id: r.id, props: resecret(r.props, p.secretKeys) };
    },
    update: async (id, urn, olds, news) => {
        const [o, n] = [plain(olds), plain(news)];
        const r = await implOf(urn).update!(id, o.props, n.props);
        return { outs: resecret(r.outs, o.secretKeys, n.secretKeys) };
    },
    delete: async (id, urn, props) => implOf(urn).delete!(id, plain(props).props),
};

/** NodeTree's inputs: the dynamic NodeFiles resource's (components/sinks/node-files.ts). */
export interface NodeTreeInputs {
    root: pulumi.Input<string>;
    node: pulumi.Input<string>;
    manifest: pulumi.Input<Record<string, { mode: string; secret: boolean; sha256: string }>>;
    contents: pulumi.Input<Record<string, string>>;
}

/** One node's tree on local disk, served by this package's provider. */
export class NodeTree extends pulumi.CustomResource {
    declare public readonly directory: pulumi.Output<string>;
    declare public readonly files: pulumi.Output<Record<string, { sha256: string; mode: string }>>;
    declare public readonly createdDirs: pulumi.Output<string[]>;
    constructor(name: string, args: NodeTreeInputs, opts: pulumi.CustomResourceOptions) {
        super(NODE_TREE_TYPE, name, { ...args, directory: undefined, files: undefined, createdDirs: undefined }, opts);
    }
}

/** One node's tree on the node over SSH, served by this package's provider (inputs: RemoteNodeFilesResource's). */
export class RemoteNodeTree extends pulumi.CustomResource {
    declare public readonly files: pulumi.Output<Record<string, { sha256: string; mode: string }>>;
    declare public readonly createdDirs: pulumi.Output<string[]>;
    constructor(name: string, args: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(REMOTE_NODE_TREE_TYPE, name, { ...args, files: undefined, createdDirs: undefined }, { ...opts, additionalSecretOutputs: ["privateKey"] });
    }
}
