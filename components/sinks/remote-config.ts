/**
 * Stack config of the remote node-file sink, self-contained (its own zod schema; docs/delivery.md):
 *
 *   kube-pki:remoteNodes:   { "<node>": { host, port?, user?, hostKey, remoteRoot?, sudo?, agent? } }
 *   kube-pki:remoteSshKey:  the client private key, set with `pulumi config set --secret kube-pki:remoteSshKey < key`
 *
 * `agent: true` uses the ssh-agent of SSH_AUTH_SOCK instead of remoteSshKey. Every node named must be a node of
 * the cluster; each gets a RemoteNodeFiles with that node's file map.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { FileMap } from "../model";
import { ConfigError } from "../validation/problems";
import { RemoteNodeFiles, remoteNodeFilesArgsProblems } from "./remote-files";

export const REMOTE_CONFIG_KEYS = ["remoteNodes", "remoteSshKey"];

const nodeSchema = z
    .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).optional(),
        user: z.string().min(1).optional(),
        hostKey: z.string().min(1),
        remoteRoot: z.string().min(1).optional(),
        sudo: z.boolean().optional(),
        agent: z.boolean().optional(),
    })
    .strict();

export const remoteNodesSchema = z.record(z.string(), nodeSchema);
export type RemoteNodesConfig = z.infer<typeof remoteNodesSchema>;

export interface RemoteSinkConfig {
    nodes: RemoteNodesConfig;
    sshKey?: pulumi.Output<string>;
}

/** Reads `kube-pki:remoteNodes` / `kube-pki:remoteSshKey`; undefined when remoteNodes is not set. */
export function readRemoteSinkConfig(config: pulumi.Config): RemoteSinkConfig | undefined {
    const raw = config.getObject<unknown>("remoteNodes");
    if (raw === undefined) return undefined;
    const parsed = remoteNodesSchema.safeParse(raw);
    if (!parsed.success) {
        throw new ConfigError(
            "kube-pki:remoteNodes",
            parsed.error.issues.map((i) => `kube-pki:remoteNodes${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${i.message}`),
        );
    }
    return { nodes: parsed.data, sshKey: config.getSecret("remoteSshKey") };
}

/** Every problem with the remote sink config against the cluster's nodes, naming `kube-pki:remoteNodes.<node>.<field>`. */
export function remoteSinkProblems(cfg: RemoteSinkConfig, nodeFiles: Record<string, FileMap>): string[] {
    const problems: string[] = [];
    const nodes = Object.keys(nodeFiles).sort();
    for (const [node, n] of Object.entries(cfg.nodes)) {
        if (!nodeFiles[node]) {
            problems.push(`kube-pki:remoteNodes.${node}: no such node (the cluster's nodes: ${nodes.join(", ")})`);
            continue;
        }
        if (n.agent && !process.env.SSH_AUTH_SOCK) problems.push(`kube-pki:remoteNodes.${node}.agent: true, but SSH_AUTH_SOCK is not set`);
        const args = argsOf(cfg, node, nodeFiles[node]);
        problems.push(...remoteNodeFilesArgsProblems(args, `kube-pki:remoteNodes.${node}`));
    }
    return problems;
}

function argsOf(cfg: RemoteSinkConfig, node: string, files: FileMap) {
    const n = cfg.nodes[node];
    return {
        node,
        files,
        remoteRoot: n.remoteRoot,
        connection: {
            host: n.host,
            port: n.port,
            user: n.user,
            hostKey: n.hostKey,
            sudo: n.sudo,
            ...(n.agent ? { agent: process.env.SSH_AUTH_SOCK } : { privateKey: cfg.sshKey }),
        },
    };
}

/** The RemoteNodeFiles of every configured node (throws a ConfigError naming the keys before registering any). */
export function remoteNodeFilesFor(
    name: string,
    nodeFiles: Record<string, FileMap>,
    cfg: RemoteSinkConfig | undefined,
    opts?: pulumi.ComponentResourceOptions,
): Record<string, RemoteNodeFiles> {
    if (!cfg) return {};
    const problems = remoteSinkProblems(cfg, nodeFiles);
    if (problems.length > 0) throw new ConfigError("remote sink config", problems);
    return Object.fromEntries(Object.keys(cfg.nodes).sort().map((node) => [node, new RemoteNodeFiles(`${name}-${node}`, argsOf(cfg, node, nodeFiles[node]), opts)]));
}
