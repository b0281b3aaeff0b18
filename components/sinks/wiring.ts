/**
 * Program wiring of the sinks: stack config (`kube-pki:nodeFilesRoot`, `kube-pki:cloudInit`,
 * `kube-pki:secretsSink`) → NodeFiles per node, cloud-init documents per node, one KubernetesSecrets.
 * This is the only sink module that knows ClusterPki's outputs; the sinks themselves take file maps and PEMs.
 */
import * as pulumi from "@pulumi/pulumi";
import { CaId } from "../catalog";
import type { ClusterPkiView, PlannedNames } from "../model";
import { ConfigError, Problems } from "../validation/problems";
import { caOfLeafKey, validateSinks } from "../validation/sinks";
import { BootstrapTokens } from "./bootstrap-tokens";
import { cloudInit } from "./cloud-init";
import { NodeFiles } from "./node-files";
import type { RemoteNodeFiles } from "./remote-files";
import { readPoolsRolled, readRemoteSinkConfig, REMOTE_CONFIG_KEYS, RemoteSinkConfig, remoteNodeFilesFor } from "./remote-config";
import type { PoolsRolled } from "../rollout/config";
import { poolPhaseProblems } from "../validation/rollout";
import { GroupBinding, KubernetesSecrets } from "./secrets";

/** `kube-pki:secretsSink` (an object in stack config). */
export interface SecretsSinkConfig {
    /** Which kubeconfig of ClusterPki.kubeconfigs reaches the cluster; default "admin.conf". */
    kubeconfig?: string;
    clusterIdentifier?: string;
    namespace?: string;
    namePrefix?: string;
    labels?: Record<string, string>;
    /** Leaves by ClusterPki.leaves key (`front-proxy-client/cp-1`, `admin.conf`, ...) → kubernetes.io/tls Secrets. */
    certificates?: string[];
    /** The trust-bundle ConfigMap with every CA (`ca.crt`, `etcd-ca.crt`, `front-proxy-ca.crt`); default true. */
    trustBundle?: boolean;
    trustBundleName?: string;
    /** CA ids whose key goes into a Secret (e.g. ["ca"] for a cert-manager CA Issuer); default none. */
    caKeys?: string[];
    /** The kubeadm:cluster-admins ClusterRoleBinding; default false. */
    clusterAdmins?: boolean;
    groupBindings?: GroupBinding[];
}

export interface SinksConfig {
    /** `kube-pki:nodeFilesRoot`: write every node's tree under this directory. */
    nodeFilesRoot?: string;
    /** `kube-pki:cloudInit`: export a #cloud-config document per node. */
    cloudInit?: boolean;
    /** `kube-pki:secretsSink`: push Secrets / bundle / RBAC to the cluster. */
    secretsSink?: SecretsSinkConfig;
    /** `kube-pki:remoteNodes` + `kube-pki:remoteSshKey`: write node trees on the machines over SSH (remote-config.ts). */
    remote?: RemoteSinkConfig;
    /** `kube-pki:rollout.poolsRolled`: pool → ca → when the operator last rolled it, "stage:<g>" / "promote:<g>" (docs/rollout.md) */
    poolsRolled?: PoolsRolled;
}

/** Config keys read by readSinksConfig (pass them to readClusterPkiArgs' extraKeys). */
export const SINK_CONFIG_KEYS = ["nodeFilesRoot", "cloudInit", "secretsSink", ...REMOTE_CONFIG_KEYS];

/** Reads the sink keys of the `kube-pki` config namespace. */
export function readSinksConfig(config: pulumi.Config): SinksConfig {
    const out: SinksConfig = {};
    const root = config.get("nodeFilesRoot");
    if (root !== undefined) out.nodeFilesRoot = root;
    const ci = config.getBoolean("cloudInit");
    if (ci !== undefined) out.cloudInit = ci;
    const ss = config.getObject<SecretsSinkConfig>("secretsSink");
    if (ss !== undefined) out.secretsSink = ss;
    const remote = readRemoteSinkConfig(config);
    if (remote) out.remote = remote;
    const poolsRolled = readPoolsRolled(config);
    if (poolsRolled) out.poolsRolled = poolsRolled;
    return out;
}

/** Every problem with the sink config against this ClusterPki, naming the stack config key (validation/sinks.ts). */
export function sinksConfigProblems(pki: ClusterPkiView | PlannedNames, cfg: SinksConfig): string[] {
    const p = new Problems();
    const names: PlannedNames = Array.isArray(pki.kubeconfigs)
        ? (pki as PlannedNames)
        : { kubeconfigs: Object.keys(pki.kubeconfigs), leaves: Object.keys((pki as ClusterPkiView).leaves), cas: Object.keys((pki as ClusterPkiView).cas) };
    validateSinks(cfg, names, p);
    return p.list;
}

export interface Sinks {
    nodeFiles: Record<string, NodeFiles>;
    /** node → its tree on the machine over SSH (kube-pki:remoteNodes) */
    remoteFiles: Record<string, RemoteNodeFiles>;
    /** node → #cloud-config document (secret) */
    cloudInit: Record<string, pulumi.Output<string>>;
    secrets?: KubernetesSecrets;
    /** Worker pools' bootstrap-token Secrets, bootstrap RBAC and cluster-info (with the Secrets sink and pools). */
    bootstrapTokens?: BootstrapTokens;
}

/**
 * Builds the configured sinks for a ClusterPki. Throws a ConfigError naming `kube-pki:<key>` (and the sinks'
 * own field names) before registering anything.
 */
export function buildSinks(name: string, pki: ClusterPkiView, cfg: SinksConfig, opts?: pulumi.ComponentResourceOptions): Sinks {
    const problems = sinksConfigProblems(pki, cfg);
    // the pool rule of the CA phases (validation/rollout.ts): refused until each pool is confirmed rolled
    const states = (pki as { rotationState?: Record<string, { phase: string; generation: number }> }).rotationState ?? {};
    problems.push(...poolPhaseProblems(states, Object.keys(pki.workerPools ?? {}), cfg.poolsRolled ?? {}));
    if (problems.length > 0) throw new ConfigError("sink config", problems);
    const sinks: Sinks = { nodeFiles: {}, cloudInit: {}, remoteFiles: remoteNodeFilesFor(name, pki.nodeFiles, cfg.remote, opts) };
    const nodes = Object.keys(pki.nodeFiles).sort();
    if (cfg.nodeFilesRoot) {
        for (const node of nodes) {
            sinks.nodeFiles[node] = new NodeFiles(`${name}-${node}`, { rootDir: cfg.nodeFilesRoot, node, files: pki.nodeFiles[node] }, opts);
        }
    }
    if (cfg.cloudInit) {
        for (const node of nodes) sinks.cloudInit[node] = cloudInit(pki.nodeFiles[node]);
    }
    const ss = cfg.secretsSink;
    if (ss) {
        sinks.secrets = new KubernetesSecrets(
            name,
            {
                kubeconfig: pki.kubeconfigs[ss.kubeconfig ?? "admin.conf"],
                clusterIdentifier: ss.clusterIdentifier,
                namespace: ss.namespace,
                namePrefix: ss.namePrefix,
                labels: ss.labels,
                certificates: (ss.certificates ?? []).map((key) => ({
                    name: key.replace(/\//g, "-"),
                    certPem: pki.leaves[key].certPem,
                    keyPem: pki.leaves[key].keyPem,
                    caPem: pki.trustBundles[caOfLeafKey(key) as CaId],
                })),
                trustBundle:
                    ss.trustBundle === false
                        ? undefined
                        : {
                              name: ss.trustBundleName,
                              bundles: Object.fromEntries(Object.entries(pki.trustBundles).map(([id, pem]) => [`${id}.crt`, pem])),
                          },
                caKeys: (ss.caKeys ?? []).map((id) => ({
                    name: id,
                    certPem: pki.caCertificates[id],
                    keyPem: pki.cas[id as CaId]!.keyPem,
                })),
                rbac: { clusterAdmins: ss.clusterAdmins ?? false, groupBindings: ss.groupBindings ?? [] },
            },
            opts,
        );
        const pools = Object.values(pki.workerPools);
        if (pools.length) {
            sinks.bootstrapTokens = new BootstrapTokens(
                `${name}-bootstrap`,
                {
                    provider: sinks.secrets.provider,
                    tokens: pools.flatMap((wp) =>
                        wp.tokens.map((t) => ({
                            key: `${wp.pool.name}-g${t.generation}`,
                            id: t.id,
                            secret: t.secret,
                            expiration: t.expiration,
                            extraGroups: [wp.pool.group],
                            description: `kube-pki worker pool ${wp.pool.name} (generation ${t.generation})`,
                        })),
                    ),
                    clusterInfo: { server: pki.config.endpoint.url, caPem: pki.trustBundles.ca },
                },
                opts,
            );
        }
    }
    return sinks;
}
