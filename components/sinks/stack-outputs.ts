/**
 * The per-node part of a cluster stack's outputs. The files and kubeconfigs of a node whose tree the NodeFiles sink
 * writes are on disk and in the resources' state already; repeated as stack outputs they cost ~30 KB per node in
 * every checkpoint of every later `up` (the file backend rewrites the whole state after each step;
 * docs/performance.md). So for those nodes the stack exports where the tree is (`nodeDirectories`) and, as
 * before, what was written (`nodeFileHashes`: path → sha256), not the contents. Nodes no sink writes to disk keep
 * their contents in `nodeFiles` and `<node>/…` kubeconfigs: those outputs are how such a tree is delivered.
 * Cluster-wide kubeconfigs (`admin.conf`, `users/<name>.conf`, …) are always exported.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { FileMap } from "../model";

export interface NodeStackOutputs {
    /** node → relative path → {content, mode, secret}, for the nodes no sink writes to local disk. */
    nodeFiles?: Record<string, FileMap>;
    /** Secret by content: cluster-wide kubeconfigs, and `<node>/…` ones of nodes not written to local disk. */
    kubeconfigs: Record<string, pulumi.Output<string>>;
    /** node → absolute directory of its tree, for the nodes the NodeFiles sink writes. */
    nodeDirectories?: Record<string, string>;
}

/** `delivered`: node → directory of its tree on this machine (the NodeFiles sink's nodes). */
export function nodeStackOutputs(
    pki: { nodeFiles: Record<string, FileMap>; kubeconfigs: Record<string, pulumi.Output<string>> },
    delivered: Record<string, string>,
): NodeStackOutputs {
    const onDisk = (node: string) => Object.prototype.hasOwnProperty.call(delivered, node);
    const nodeFiles = Object.fromEntries(Object.entries(pki.nodeFiles).filter(([node]) => !onDisk(node)));
    // `<node>/<file>` is a node's kubeconfig; users/… and top-level names are cluster-wide
    const kubeconfigs = Object.fromEntries(
        Object.entries(pki.kubeconfigs).filter(([name]) => !(name.includes("/") && onDisk(name.slice(0, name.indexOf("/"))))),
    );
    return {
        ...(Object.keys(nodeFiles).length || !Object.keys(delivered).length ? { nodeFiles } : {}),
        kubeconfigs,
        ...(Object.keys(delivered).length ? { nodeDirectories: { ...delivered } } : {}),
    };
}
