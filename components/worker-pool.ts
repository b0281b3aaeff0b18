/**
 * Worker pools: identical machines that join with a bootstrap token and get (and rotate) their kubelet client
 * certificate through the CSR API, as with `kubeadm join` (kubeadm's TLS bootstrap). Nothing here is per machine:
 * a pool costs one token (one tls.PrivateKey per live token generation) however many machines it has.
 *
 *  - Token: `[a-z0-9]{6}.[a-z0-9]{16}` drawn from a tls.PrivateKey's secret scalar (the tls provider's crypto/rand;
 *    no random provider is built here), a Pulumi secret. Rotation follows the certificates' model (rotation.ts):
 *    a new generation when the clock reaches the current token's expiration − tokenRenewBefore, the old one kept
 *    until it expires (machines that booted with it can still join), then dropped. Each token's expiration is set
 *    when it is made and read back from the previous run's `workerPoolTokens` output.
 *  - Files (kubeadm's layout, under the pool's name in ClusterPki.nodeFiles, so the node-file and cloud-init sinks
 *    write one tree and one document per pool): etc/kubernetes/bootstrap-kubelet.conf (token user, endpoint, cluster
 *    CA bundle) and etc/kubernetes/pki/ca.crt.
 *  - Outputs: the `kubeadm join` command with `--discovery-token-ca-cert-hash sha256:<SPKI hash>` per trusted CA, a
 *    kubeadm JoinConfiguration, and a KubeletConfiguration fragment (rotateCertificates, serverTLSBootstrap).
 * The cluster side (bootstrap-token Secrets, RBAC, cluster-info) is sinks/bootstrap-tokens.ts.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { stringify } from "yaml";
import type { ResolvedConfig } from "./config";
import { renderTokenKubeconfig } from "./kubeconfig";
import { privateKeyArgs } from "./keys";
import type { FileMap, PoolToken, PoolTokenState } from "./model";
import { pemCerts } from "./pem";
import { renewAtMs, renewalStatus } from "./rotation";
import { hoursToMs, rfc3339Seconds } from "./time";
import type { ResolvedWorkerPool } from "./validation/worker-pools";

export type { ResolvedWorkerPool } from "./validation/worker-pools";
export type { PoolToken, PoolTokenState } from "./model";

/**
 * The pool's live tokens for this run, newest (the one handed out) first: the previous run's, plus a new generation
 * when the clock reached the newest one's expiration − renewBefore; tokens past their expiration are dropped.
 */
export function poolTokenSchedule(input: { previous?: PoolTokenState[]; nowMs: number; ttlHours: number; renewBeforeHours: number }): {
    tokens: PoolTokenState[];
    /** When the newest token is due (expiration − renewBefore), ms. */
    renewAtMs: number;
    /** Why a new token is made, in words (undefined: none). */
    reason?: string;
} {
    const fresh = (generation: number): PoolTokenState => ({ generation, expiration: rfc3339Seconds(input.nowMs + hoursToMs(input.ttlHours)) });
    const previous = [...(input.previous ?? [])].sort((a, b) => b.generation - a.generation);
    let reason: string | undefined;
    let tokens: PoolTokenState[];
    if (previous.length === 0) {
        tokens = [fresh(0)];
    } else {
        const newest = previous[0];
        const expMs = Date.parse(newest.expiration);
        const renewAt = renewAtMs(expMs, input.renewBeforeHours);
        if (renewalStatus(input.nowMs, expMs, renewAt) !== "ok") {
            reason = `renewal window (expiration ${newest.expiration} − tokenRenewBefore ${input.renewBeforeHours}h = ${rfc3339Seconds(renewAt)})`;
            tokens = [fresh(newest.generation + 1), ...previous];
        } else {
            tokens = previous;
        }
    }
    tokens = tokens.filter((t, i) => i === 0 || Date.parse(t.expiration) > input.nowMs);
    return { tokens, renewAtMs: renewAtMs(Date.parse(tokens[0].expiration), input.renewBeforeHours), ...(reason ? { reason } : {}) };
}

const TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A bootstrap token `{id: [a-z0-9]{6}, secret: [a-z0-9]{16}}` from secret random material (a private key's PEM):
 * SHA-512 of it, bytes below 252 (= 7 × 36, so every character is equally likely) taken mod 36.
 */
export function bootstrapTokenFromSeed(seed: string): { id: string; secret: string } {
    const digest = crypto.createHash("sha512").update("kube-pki bootstrap token\n").update(seed).digest();
    const chars = [...digest].filter((b) => b < 252).map((b) => TOKEN_ALPHABET[b % 36]);
    if (chars.length < 22) throw new Error("bootstrap token: not enough random material"); // p < 1e-30
    return { id: chars.slice(0, 6).join(""), secret: chars.slice(6, 22).join("") };
}

/** `sha256:<hex>` of each certificate's SubjectPublicKeyInfo in a PEM bundle (kubeadm pubkeypin.Hash). */
export function caCertHashes(bundlePem: string): string[] {
    return pemCerts(bundlePem, "cluster CA bundle").map((cert) => {
        const spki = cert.publicKey.export({ type: "spki", format: "der" });
        return `sha256:${crypto.createHash("sha256").update(spki).digest("hex")}`;
    });
}

/** The KubeletConfiguration fragment a pool's kubelets need (kubeadm writes the rest at join). */
export function kubeletConfigFragment(pool: ResolvedWorkerPool): string {
    return stringify({
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        rotateCertificates: true,
        serverTLSBootstrap: pool.serverTLSBootstrap,
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } },
        authorization: { mode: "Webhook" },
    });
}

export interface WorkerPoolArgs {
    clusterName: string;
    /** The control-plane endpoint, `https://host:port`. */
    server: string;
    /** The cluster CA trust bundle (every trusted generation, active first). */
    caBundle: pulumi.Output<string>;
    pool: ResolvedWorkerPool;
    /** The live tokens, newest first (poolTokenSchedule). */
    tokens: PoolTokenState[];
}

export class WorkerPool extends pulumi.ComponentResource {
    public readonly pool: ResolvedWorkerPool;
    /** Live tokens, newest (the one in the files) first. */
    public readonly tokens: PoolToken[];
    /** The pool's file tree (kubeadm layout). */
    public readonly files: FileMap;
    /** `sha256:<hex>` per trusted cluster CA. */
    public readonly discoveryTokenCaCertHashes: pulumi.Output<string[]>;
    /** `kubeadm join <endpoint> --token … --discovery-token-ca-cert-hash …` (secret). */
    public readonly joinCommand: pulumi.Output<string>;
    /** kubeadm JoinConfiguration (v1beta4) with the token, the hashes and the pool's node labels (secret). */
    public readonly joinConfiguration: pulumi.Output<string>;
    /** KubeletConfiguration fragment: rotateCertificates, serverTLSBootstrap, webhook auth. */
    public readonly kubeletConfig: string;

    constructor(name: string, args: WorkerPoolArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:WorkerPool", name, {}, opts);
        this.pool = args.pool;
        this.tokens = args.tokens.map((t) => {
            const seed = new tls.PrivateKey(`${name}-token-g${t.generation}`, privateKeyArgs("ECDSA-P256"), { parent: this });
            const value = seed.privateKeyPem.apply(bootstrapTokenFromSeed);
            return { ...t, id: pulumi.unsecret(value.apply((v) => v.id)), secret: pulumi.secret(value.apply((v) => v.secret)) };
        });
        const current = this.tokens[0];
        const token = pulumi.secret(pulumi.interpolate`${current.id}.${current.secret}`);
        const kubeconfig = pulumi.secret(
            pulumi.all([token, args.caBundle]).apply(([tok, caPem]) =>
                renderTokenKubeconfig({ clusterName: args.clusterName, server: args.server, caPem, token: tok }),
            ),
        );
        this.files = {
            "etc/kubernetes/bootstrap-kubelet.conf": { content: kubeconfig, mode: "0600", secret: true },
            "etc/kubernetes/pki/ca.crt": { content: args.caBundle, mode: "0644", secret: false },
        };
        this.discoveryTokenCaCertHashes = args.caBundle.apply(caCertHashes);
        const endpoint = args.server.replace(/^https:\/\//, "");
        this.joinCommand = pulumi.secret(
            pulumi.all([token, this.discoveryTokenCaCertHashes]).apply(([tok, hashes]) =>
                [`kubeadm join ${endpoint} --token ${tok}`, ...hashes.map((h) => `--discovery-token-ca-cert-hash ${h}`)].join(" "),
            ),
        );
        const labels = Object.entries(args.pool.labels).map(([k, v]) => `${k}=${v}`).join(",");
        this.joinConfiguration = pulumi.secret(
            pulumi.all([token, this.discoveryTokenCaCertHashes]).apply(([tok, hashes]) =>
                stringify({
                    apiVersion: "kubeadm.k8s.io/v1beta4",
                    kind: "JoinConfiguration",
                    discovery: { bootstrapToken: { apiServerEndpoint: endpoint, token: tok, caCertHashes: hashes } },
                    nodeRegistration: labels ? { kubeletExtraArgs: [{ name: "node-labels", value: labels }] } : {},
                }),
            ),
        );
        this.kubeletConfig = kubeletConfigFragment(args.pool);
        this.registerOutputs({
            tokenIds: this.tokens.map((t) => t.id),
            discoveryTokenCaCertHashes: this.discoveryTokenCaCertHashes,
            kubeletConfig: this.kubeletConfig,
        });
    }
}

/** What a cluster's worker pools contribute to its run: file trees, memory, rotation summary lines and renewals. */
export interface PoolsContribution {
    pools: Record<string, WorkerPool>;
    /** Per pool: its file tree (kubeadm layout), next to the nodes' trees. */
    files: Record<string, FileMap>;
    /** What the next run reads back (`workerPoolTokens`). */
    memory: Record<string, PoolTokenState[]>;
    /** `pool-token/<pool>: <reason>` for each pool that makes a new token. */
    rotating: string[];
    /** When each pool's newest token is due. */
    nextDue: { key: string; at: number }[];
}

/** One WorkerPool per configured pool, with what the pools contribute (ClusterPki merges it). */
export function workerPoolsOf(name: string, cfg: ResolvedConfig, caBundle: pulumi.Output<string>, parent: pulumi.Resource): PoolsContribution {
    const out: PoolsContribution = { pools: {}, files: {}, memory: {}, rotating: [], nextDue: [] };
    for (const pool of cfg.workerPools) {
        const plan = poolTokenSchedule({
            previous: cfg.previous.workerPoolTokens[pool.name],
            nowMs: cfg.nowMs,
            ttlHours: pool.tokenTtlHours,
            renewBeforeHours: pool.tokenRenewBeforeHours,
        });
        const key = `pool-token/${pool.name}`;
        if (plan.reason) out.rotating.push(`${key}: ${plan.reason}`);
        out.nextDue.push({ key, at: plan.renewAtMs });
        const wp = new WorkerPool(
            `${name}-pool-${pool.name}`,
            { clusterName: cfg.clusterName, server: cfg.endpoint.url, caBundle, pool, tokens: plan.tokens },
            { parent },
        );
        out.pools[pool.name] = wp;
        out.files[pool.name] = wp.files;
        out.memory[pool.name] = plan.tokens.map(({ generation, expiration }) => ({ generation, expiration }));
    }
    return out;
}

/** The stack outputs of a ClusterPki's pools: per pool the join command (secret), JoinConfiguration, kubelet fragment, token ids. */
export function workerPoolOutputs(pki: { workerPools: Record<string, WorkerPool> }) {
    return Object.fromEntries(
        Object.entries(pki.workerPools).map(([pool, wp]) => [
            pool,
            {
                joinCommand: wp.joinCommand,
                joinConfiguration: wp.joinConfiguration,
                kubeletConfig: wp.kubeletConfig,
                discoveryTokenCaCertHashes: wp.discoveryTokenCaCertHashes,
                tokens: wp.tokens.map((t) => ({ id: t.id, generation: t.generation, expiration: t.expiration })),
            },
        ]),
    );
}

/**
 * The kubeadm ClusterConfiguration (v1beta4) fragment worker pools need on the control plane: kubeadm sets these by
 * default, a control plane configured by hand (or with controllers/flags overridden) must keep them.
 */
export function controlPlaneKubeadmFragment(): string {
    return stringify({
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "ClusterConfiguration",
        apiServer: { extraArgs: [{ name: "enable-bootstrap-token-auth", value: "true" }] },
        controllerManager: {
            extraArgs: [
                // the CSR signer and the token controllers. Not kubeadm's ca.crt: from stage to distrust it is the
                // trust bundle, which the signer refuses (one certificate only); ca-signer.crt is ca.key's certificate
                { name: "cluster-signing-cert-file", value: "/etc/kubernetes/pki/ca-signer.crt" },
                { name: "cluster-signing-key-file", value: "/etc/kubernetes/pki/ca.key" },
                { name: "controllers", value: "*,bootstrapsigner,tokencleaner" },
            ],
        },
    });
}
