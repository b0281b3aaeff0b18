/**
 * ClusterPki: a whole cluster's PKI in kubeadm's layout and identities.
 * It walks the catalog tables (catalog.ts) — CAs (cas.ts), then leaves (leaves.ts), then worker pools
 * (worker-pool.ts) — and merges what each returns; it knows no certificate by name.
 */
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { CaId, CAS } from "./catalog";
import { caContribution, serviceAccountKey } from "./cas";
import { CaMaterial, CaSource } from "./ca-sources";
import { ClusterPkiArgs, ConfigError, ResolvedConfig, validateClusterPkiArgs } from "./config";
import { allNodesOf, enabled, leafContribution, leafTargets, Placed, plannedNames, putAll } from "./leaves";
import { requirePreviousRun, withPreviousRun } from "./memory";
import type { FileMap, InventoryEntry, IssuedLeaf, PlannedNames } from "./model";
import { CaRotationState } from "./rotation";
import { rotationSummary } from "./rotation-summary";
import { whatIfClock } from "./time";
import { vaultProviderFromConfig, VaultRoles } from "./vault";
import { PoolTokenState, WorkerPool, workerPoolsOf } from "./worker-pool";

export type { CaMaterial, ExternalCa, IssuedLeaf } from "./ca-sources";
export type { FileMap, InventoryEntry, NodeFile } from "./model";

/** A ClusterPki's config, validated once: by the program before anything is built, or by the constructor. */
export interface PreparedClusterPki {
    config: ResolvedConfig;
    /** The names the PKI will have (the sink config is checked against them before anything is registered). */
    names: PlannedNames;
    /** Printed by the run (a what-if clock in a preview, or in an `up` that opted in). */
    clockWarning?: string;
}

/** Args validated by prepareClusterPki, frozen so that what was validated is what the component builds. */
const prepared = new WeakMap<ClusterPkiArgs, PreparedClusterPki>();

/** Validates ClusterPki args (schema, sections, the previous run, the what-if clock rule: docs/rotation.md). */
function validate(name: string, args: ClusterPkiArgs, env: NodeJS.ProcessEnv): PreparedClusterPki {
    requirePreviousRun(name, args);
    const context = `ClusterPki "${name}" config`;
    const config = validateClusterPkiArgs(args, context);
    const clock = whatIfClock({ nowMs: config.nowMs, realMs: Date.now(), dryRun: pulumi.runtime.isDryRun(), env });
    if (clock.refusal) throw new ConfigError(context, [`now: ${clock.refusal}`]);
    return { config, names: plannedNames(config), ...(clock.warning ? { clockWarning: clock.warning } : {}) };
}

/**
 * Validates ClusterPki args once, before anything is built (the program does, to report every problem of the
 * stack at once), and freezes them: `new ClusterPki(name, args)` with the same args object then reuses the result
 * instead of validating again. Throws one ConfigError.
 */
export function prepareClusterPki(name: string, args: ClusterPkiArgs, env: NodeJS.ProcessEnv = process.env): PreparedClusterPki {
    const known = prepared.get(args);
    if (known) return known;
    const result = validate(name, args, env);
    prepared.set(Object.freeze(args), result);
    return result;
}

export class ClusterPki extends pulumi.ComponentResource {
    /** The validated config with defaults applied. */
    public readonly config: ResolvedConfig;
    /** The active CA of each kind (local, an intermediate from a root stack, or a Vault intermediate). */
    public readonly cas: Partial<Record<CaId, CaMaterial>> = {};
    /** CA certificates (public), by CA id. */
    public readonly caCertificates: Record<string, pulumi.Output<string>> = {};
    /** Every CA certificate currently trusted, by CA id (one CA today; old + new while a CA rotation is staged). */
    public readonly trustBundles: Record<string, pulumi.Output<string>> = {};
    /** Service-account token signing key pair (sa.key is secret). */
    public readonly serviceAccountPublicKey: pulumi.Output<string>;
    /** Kubeconfigs (secret): `admin.conf`, `<node>/kubelet.conf`, `users/<name>.conf`, ... */
    public readonly kubeconfigs: Record<string, pulumi.Output<string>> = {};
    /** Per node: the kubeadm file tree, relative to the node's root. */
    public readonly nodeFiles: Record<string, FileMap> = {};
    /** Leaf certificates by `<id>` or `<id>/<node|user>` (issued locally, or by Vault for a Vault CA). */
    public readonly leaves: Record<string, IssuedLeaf> = {};
    /** Vault roles per Vault-mode CA whose leaves Vault issues. */
    public readonly vaultRoles: Partial<Record<CaId, VaultRoles>> = {};
    private vaultProviderInstance?: vault.Provider;
    /** Every certificate with its identity and validity. */
    public readonly inventory: pulumi.Output<InventoryEntry[]>;
    /** CA / SA-key rotation phase and active generation, per CA (read back by the next run). */
    public readonly rotationState: Record<string, CaRotationState>;
    /** Each leaf's rotation token (the key's replacementTrigger), read back by the next run to explain changes. */
    public readonly rotationTokens: Record<string, string> = {};
    /**
     * When the next clock-driven renewal happens (the earliest notAfter − renewBefore; for a certificate issued in
     * this run, from the clock and its planned validity) and which certificates it replaces; `clock`: this run's
     * clock, read back by the next run to refuse a clock that goes backwards.
     */
    public readonly nextRotation: { at: string; certificates: string[]; clock: string };
    /** Worker pools (TLS bootstrap) by pool name, and their live tokens' schedule (read back by the next run). */
    public readonly workerPools: Record<string, WorkerPool>;
    public readonly workerPoolTokens: Record<string, PoolTokenState[]>;
    /** The rotation summary logged by this run (what rotates and why, CA phases, next renewal). */
    public readonly rotationSummaryText: string;

    /**
     * A ClusterPki that remembers its previous run (CA rotation phases, rotation tokens) through the stack output
     * `kubePkiMemory`, which the program exports with `memoryOf(pki)` (components/memory.ts).
     */
    static async create(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions): Promise<ClusterPki> {
        return new ClusterPki(name, await withPreviousRun(name, args), opts);
    }

    constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate first (once): bad config throws here, before anything is registered.
        const { config: cfg, clockWarning } = prepared.get(args) ?? validate(name, args, process.env);
        super("kube-pki:index:ClusterPki", name, {}, opts);
        this.config = cfg;
        if (clockWarning) pulumi.log.warn(clockWarning, this);
        for (const node of allNodesOf(cfg)) this.nodeFiles[node.name] = {};
        const inventory: pulumi.Output<InventoryEntry>[] = [];
        const files: Placed[] = [];

        const sources: Partial<Record<CaId, CaSource>> = {};
        const caCtx = { name, cfg, parent: this, vaultProvider: () => this.vaultProvider(name, cfg) };
        for (const entry of CAS.filter((e) => enabled(cfg, e.feature))) {
            const ca = caContribution(caCtx, entry, args.externalCas?.[entry.id]);
            sources[entry.id] = ca.source;
            if (ca.source.vaultRoles) this.vaultRoles[entry.id] = ca.source.vaultRoles;
            this.cas[entry.id] = ca.source.generations[0];
            this.caCertificates[entry.id] = ca.source.generations[0].certPem;
            this.trustBundles[entry.id] = ca.trustBundle;
            files.push(...ca.files);
            inventory.push(...ca.inventory);
        }
        const sa = serviceAccountKey(caCtx);
        this.serviceAccountPublicKey = sa.publicKeys;
        files.push(...sa.files);

        const rotating: string[] = [];
        const reissued: string[] = [];
        const shortened: string[] = [];
        const nextDue: { key: string; at: number }[] = [];
        for (const { entry, target } of leafTargets(cfg)) {
            const leaf = leafContribution({ name, cfg, source: sources[entry.ca]!, caBundle: this.trustBundles.ca, parent: this }, entry, target);
            this.rotationTokens[leaf.key] = leaf.decision.token;
            this.leaves[leaf.key] = leaf.leaf;
            if (leaf.kubeconfig) this.kubeconfigs[leaf.kubeconfig.name] = leaf.kubeconfig.content;
            if (leaf.decision.keyReason) rotating.push(`${leaf.key}: ${leaf.decision.keyReason}`);
            const kept = leaf.decision.reasons.filter((r) => r.code === "ValidityChanged" || r.code === "IssuerChanged");
            if (!leaf.decision.newKey && kept.length) reissued.push(`${leaf.key}: ${kept.map((r) => r.message).join(" + ")}`);
            if (leaf.shortened) shortened.push(leaf.shortened);
            nextDue.push(leaf.nextDue);
            files.push(...leaf.files);
            inventory.push(leaf.inventory);
        }
        putAll(this.nodeFiles, files);

        const pools = workerPoolsOf(name, cfg, this.trustBundles.ca, this);
        Object.assign(this.nodeFiles, pools.files);
        [this.workerPools, this.workerPoolTokens] = [pools.pools, pools.memory];
        rotating.push(...pools.rotating);
        nextDue.push(...pools.nextDue);

        this.inventory = pulumi.all(inventory);
        this.rotationState = cfg.caStates;
        const soonest = Math.min(...nextDue.map((d) => d.at));
        this.nextRotation = {
            at: new Date(soonest).toISOString(),
            certificates: nextDue.filter((d) => d.at === soonest).map((d) => d.key),
            clock: new Date(cfg.nowMs).toISOString(),
        };
        this.rotationSummaryText = rotationSummary(cfg, args.previous?.rotationState ?? {}, {
            leaves: Object.keys(this.rotationTokens),
            rotating,
            reissued,
            shortened,
            nextRotation: this.nextRotation,
        });
        pulumi.log.info(this.rotationSummaryText, this);

        // The component's recorded outputs stay small: the contents of nodeFiles and kubeconfigs (one Output per file,
        // ~3 per worker, each serialized by the SDK) are already the stack's outputs and the resources' state; here we
        // record only which files exist (plain strings): 3 fewer SDK serializations per node; the component's entry
        // in the state file 500 → 33 KiB at 13 nodes (docs/performance.md).
        this.registerOutputs({
            caCertificates: this.caCertificates,
            trustBundles: this.trustBundles,
            serviceAccountPublicKey: this.serviceAccountPublicKey,
            kubeconfigNames: Object.keys(this.kubeconfigs),
            nodeFilePaths: Object.fromEntries(Object.entries(this.nodeFiles).map(([node, tree]) => [node, Object.keys(tree)])),
            inventory: this.inventory,
            rotationState: this.rotationState,
            rotationTokens: this.rotationTokens,
            nextRotation: this.nextRotation,
        });
    }

    /** One Vault provider for every Vault resource of this cluster (from config or VAULT_* env), created on first use. */
    private vaultProvider(name: string, cfg: ResolvedConfig): vault.Provider | undefined {
        if (!cfg.vault.connection) return undefined;
        this.vaultProviderInstance ??= vaultProviderFromConfig(cfg.vault.connection, `${name}-vault`, { parent: this });
        return this.vaultProviderInstance;
    }
}
