/**
 * Stack config of the remote node-file sink, self-contained (its own zod schema; docs/delivery.md):
 *
 *   kube-pki:remoteNodes:   { "<node>": { host, port?, user?, hostKey, remoteRoot?, sudo?, owner?, group?, agent? } }
 *   kube-pki:remoteSshKey:  the client private key, set with `pulumi config set --secret kube-pki:remoteSshKey < key`
 *
 * `agent: true` uses the ssh-agent of SSH_AUTH_SOCK instead of remoteSshKey. Every node named must be a node of
 * the cluster; each gets a RemoteNodeFiles with that node's file map.
 *
 * With `kube-pki:rollout` set (`{}` for the defaults; docs/rollout.md) every update of a node also restarts what
 * must restart and gates, and the nodes go in rollout order: control planes `maxUnavailable` at a time (each wave
 * dependsOn the previous one), then workers in batches. The gates look at the control planes' advertiseAddress
 * (`kube-pki:controlPlanes`), `kube-pki:apiServerBindPort` and `rollout.etcdClientPort`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { FileMap } from "../model";
import { ConfigError } from "../validation/problems";
import { RemoteNodeFiles, RemoteNodeFilesArgs, remoteNodeFilesArgsProblems } from "./remote-files";
import { reloadProblems, resolveRollout, RolloutSettings } from "../rollout/config";
import { roleOfFiles, rolloutWaves } from "../rollout/plan";
import type { Component } from "../catalog";

export const REMOTE_CONFIG_KEYS = ["remoteNodes", "remoteSshKey", "rollout"];

const nodeSchema = z
    .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).optional(),
        user: z.string().min(1).optional(),
        hostKey: z.string().min(1),
        remoteRoot: z.string().min(1).optional(),
        sudo: z.boolean().optional(),
        owner: z.string().min(1).optional(),
        group: z.string().min(1).optional(),
        agent: z.boolean().optional(),
        reload: z.record(z.string(), z.string()).optional(),
    })
    .strict();

export const remoteNodesSchema = z.record(z.string(), nodeSchema);
export type RemoteNodesConfig = z.infer<typeof remoteNodesSchema>;

/** Where the gates of the control planes look (from the cluster's config). */
export interface GateTargets {
    /** control-plane node → advertiseAddress */
    controlPlanes: Record<string, string>;
    apiServerBindPort: number;
    /** etcd member names; default: every control plane */
    etcdMembers?: string[];
}

export interface RemoteSinkConfig {
    nodes: RemoteNodesConfig;
    sshKey?: pulumi.Output<string>;
    /** `kube-pki:rollout`, resolved; absent: the sink only writes files */
    rollout?: RolloutSettings;
    gateTargets?: GateTargets;
    /** kube-pki:caRotation (the phases this run asks for), for the fleet guards */
    phases?: Record<string, string>;
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
    const out: RemoteSinkConfig = { nodes: parsed.data, sshKey: config.getSecret("remoteSshKey") };
    const rawRollout = config.getObject<unknown>("rollout");
    if (rawRollout !== undefined) {
        const r = resolveRollout(rawRollout);
        const problems = [...r.problems];
        for (const [node, n] of Object.entries(parsed.data)) problems.push(...reloadProblems(n.reload, `kube-pki:remoteNodes.${node}.reload`));
        if (problems.length > 0) throw new ConfigError("kube-pki:rollout", problems);
        out.rollout = r.settings;
        out.phases = config.getObject<Record<string, string>>("caRotation") ?? {};
        const cps = config.getObject<{ name?: string; advertiseAddress?: string }[]>("controlPlanes") ?? [];
        out.gateTargets = {
            controlPlanes: Object.fromEntries(cps.filter((c) => c?.name && c.advertiseAddress).map((c) => [c.name!, c.advertiseAddress!])),
            apiServerBindPort: config.getNumber("apiServerBindPort") ?? 6443,
            etcdMembers: config.getObject<string[]>("etcdMembers"),
        };
    }
    return out;
}

/** `kube-pki:rollout.poolsRolled` (checked), with or without remote nodes; undefined when not set. */
export function readPoolsRolled(config: pulumi.Config): Record<string, Record<string, number>> | undefined {
    const raw = config.getObject<{ poolsRolled?: unknown }>("rollout");
    if (raw?.poolsRolled === undefined) return undefined;
    const r = resolveRollout(raw);
    if (r.problems.length > 0) throw new ConfigError("kube-pki:rollout", r.problems);
    return r.settings!.poolsRolled;
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

function argsOf(cfg: RemoteSinkConfig, node: string, files: FileMap, rollout?: RemoteNodeFilesArgs["rollout"]): RemoteNodeFilesArgs {
    const n = cfg.nodes[node];
    return {
        ...(rollout ? { rollout } : {}),
        node,
        files,
        remoteRoot: n.remoteRoot,
        ...(n.owner !== undefined ? { owner: n.owner } : {}),
        ...(n.group !== undefined ? { group: n.group } : {}),
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

/**
 * The rollout args of each configured node (position in the order, reloads, gates), by node; the waves in order.
 * Without `cfg.rollout`: none.
 */
export function rolloutArgsFor(nodeFiles: Record<string, FileMap>, cfg: RemoteSinkConfig): { waves: string[][]; args: Record<string, NonNullable<RemoteNodeFilesArgs["rollout"]>> } {
    const r = cfg.rollout;
    const names = Object.keys(cfg.nodes).filter((n) => nodeFiles[n]);
    if (!r) return { waves: [names.sort()], args: {} };
    const cpOrder = Object.keys(cfg.gateTargets?.controlPlanes ?? {});
    const rank = (n: string) => (cpOrder.includes(n) ? cpOrder.indexOf(n) : cpOrder.length);
    const nodes = names
        .map((name) => ({ name, role: roleOfFiles(Object.keys(nodeFiles[name])) }))
        .sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const waves = rolloutWaves(nodes, r.maxUnavailable, r.workerBatchSize);
    const etcdMembers =
        cfg.gateTargets?.etcdMembers ?? Object.keys(nodeFiles).filter((n) => "etc/kubernetes/pki/etcd/server.crt" in nodeFiles[n]).sort((a, b) => rank(a) - rank(b));
    const args: Record<string, NonNullable<RemoteNodeFilesArgs["rollout"]>> = {};
    waves.forEach((wave, i) => {
        for (const node of wave) {
            const address = cfg.gateTargets?.controlPlanes[node];
            args[node] = {
                position: `wave ${i + 1}/${waves.length}`,
                reload: { ...r.reload, ...((cfg.nodes[node].reload ?? {}) as Partial<Record<Component, string>>) },
                holdSeconds: r.staticPodHoldSeconds,
                gateTimeoutSeconds: r.gateTimeoutSeconds,
                phases: cfg.phases ?? {},
                ...(address && roleOfFiles(Object.keys(nodeFiles[node])) === "control-plane"
                    ? { gate: { address, apiServerPort: cfg.gateTargets!.apiServerBindPort, etcdPort: r.etcdClientPort, etcdMembers } }
                    : {}),
            };
        }
    });
    return { waves, args };
}

/**
 * The RemoteNodeFiles of every configured node (throws a ConfigError naming the keys before registering any).
 * With a rollout, each wave dependsOn the previous one, so a failed node stops the nodes after it.
 */
export function remoteNodeFilesFor(
    name: string,
    nodeFiles: Record<string, FileMap>,
    cfg: RemoteSinkConfig | undefined,
    opts?: pulumi.ComponentResourceOptions,
): Record<string, RemoteNodeFiles> {
    if (!cfg) return {};
    const problems = remoteSinkProblems(cfg, nodeFiles);
    if (problems.length > 0) throw new ConfigError("remote sink config", problems);
    const { waves, args } = rolloutArgsFor(nodeFiles, cfg);
    const out: Record<string, RemoteNodeFiles> = {};
    let previous: pulumi.Resource[] = [];
    for (const wave of waves) {
        const current: pulumi.Resource[] = [];
        for (const node of wave) {
            const dependsOn = cfg.rollout && previous.length > 0 ? { dependsOn: previous } : {};
            out[node] = new RemoteNodeFiles(`${name}-${node}`, argsOf(cfg, node, nodeFiles[node], args[node]), { ...opts, ...dependsOn });
            current.push(out[node].resource);
        }
        previous = current;
    }
    return Object.fromEntries(Object.keys(out).sort().map((n) => [n, out[n]]));
}
