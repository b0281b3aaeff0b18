/**
 * ClusterPki: a whole cluster's PKI in kubeadm's layout and identities.
 * It walks the catalog tables (catalog.ts); it knows no certificate by name.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CaEntry, CaId, CAS, LEAVES, LeafEntry, SERVICE_ACCOUNT_KEY } from "./catalog";
import { CaMaterial, CaSource, caSourceFor, ExternalCa, IssuedLeaf } from "./ca-sources";
import { ClusterPkiArgs, ResolvedConfig, ResolvedNode, ResolvedUser, validateClusterPkiArgs } from "./config";
import { identityOf } from "./identity";
import { privateKeyArgs } from "./keys";
import { renderKubeconfig, serverUrl } from "./kubeconfig";
import { vaultProviderFromConfig, VaultRoles } from "./vault";
import * as vault from "@pulumi/vault";
import { CaRotationState, cappedValidityHours, leafRenewal, renewAtMs, rfc3339Seconds, RotatableCa, trustedGenerations } from "./rotation";
import { requirePreviousRun, withPreviousRun } from "./memory";
import { PoolTokenState, WorkerPool, workerPoolsOf } from "./worker-pool";

export type { CaMaterial, ExternalCa, IssuedLeaf } from "./ca-sources";

/** One file of a node's tree. Sinks consume these maps; they never look inside. */
export interface NodeFile {
    /** The file's content; a Pulumi secret when `secret` is true. */
    content: pulumi.Output<string>;
    /** Octal mode: "0600" for keys and kubeconfigs, "0644" for certificates and public keys. */
    mode: string;
    secret: boolean;
}

/** Relative path (kubeadm layout, e.g. `etc/kubernetes/pki/ca.crt`) → file. */
export type FileMap = Record<string, NodeFile>;

/** One certificate of the cluster, for reports (`check-expiration`) and reviews. */
export interface InventoryEntry {
    /** kubeadm certificate name (`apiserver`, `etcd-server`, `admin.conf`, ...) or `user`. */
    id: string;
    /** The node it belongs to; absent for cluster-wide certs and users. */
    node?: string;
    /** The user it belongs to (extra users). */
    user?: string;
    /** The file path in the node tree, or the kubeconfig key in `kubeconfigs`. */
    file: string;
    /** Subject CN. */
    commonName: string;
    /** Subject O, if any. */
    organization?: string;
    /** The issuing CA's id (`ca`, `etcd-ca`, `front-proxy-ca`); for CAs, their own id. */
    issuer: string;
    /** Whether this entry is a CA. */
    isCa: boolean;
    /** CAs: the generation (0 = the first). */
    generation?: number;
    /** CAs: whether this generation signs leaves. */
    active?: boolean;
    /** DNS SANs. */
    dnsNames: string[];
    /** IP SANs. */
    ipAddresses: string[];
    /** Extended key usages (tls provider names). */
    extendedUsages: string[];
    /** Key algorithm (kubeadm encryptionAlgorithm name). */
    keyAlgorithm: string;
    /** The validity the certificate was issued with (a leaf's is capped at its CA's remaining life). */
    validityHours: number;
    /** Leaves whose validity was capped at the CA's remaining life: the configured validity. */
    shortenedFromHours?: number;
    /** Leaves: the generation of the CA that signed it. */
    issuerGeneration?: number;
    /** How long before notAfter it is renewed. */
    renewBeforeHours: number;
    /** Not before, RFC3339 (whole seconds). */
    notBefore: string;
    /** Not after, RFC3339 (whole seconds). */
    notAfter: string;
}

/** RFC3339 at whole seconds: X.509 times have no fractions, the provider's validity times do. */
function toSeconds(time: string): string {
    const ms = Date.parse(time);
    return Number.isNaN(ms) ? time : rfc3339Seconds(ms);
}

interface Target {
    node?: ResolvedNode;
    user?: ResolvedUser;
}

/** What the leaves of one run add up to, for the rotation summary and nextRotation. */
interface LeafPlan {
    rotating: string[];
    /** Leaves issued in this run whose validity is capped at their CA's remaining life (as far as known at plan time). */
    shortened: string[];
    nextDue: { key: string; at: number }[];
}

/** The PEMs one after the other, each ending in a newline. */
function bundle(pems: pulumi.Output<string>[]): pulumi.Output<string> {
    return pulumi.all(pems).apply((list) => list.map((p) => p.trim() + "\n").join(""));
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
    /** Control planes, then workers. */
    private readonly allNodes: ResolvedNode[];
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
        requirePreviousRun(name, args);
        // Validate first: bad config throws here, before anything is registered.
        const cfg = validateClusterPkiArgs(args, `ClusterPki "${name}" config`);
        super("kube-pki:index:ClusterPki", name, {}, opts);
        this.config = cfg;
        this.allNodes = [...cfg.controlPlanes, ...cfg.workers];
        for (const node of this.allNodes) this.nodeFiles[node.name] = {};
        const inventory: pulumi.Output<InventoryEntry>[] = [];

        const sources: Partial<Record<CaId, CaSource>> = {};
        for (const entry of CAS) {
            if (entry.feature && !cfg.features[entry.feature]) continue;
            sources[entry.id] = this.addCa(name, entry, args.externalCas?.[entry.id], inventory);
        }
        this.serviceAccountPublicKey = this.addServiceAccountKey(name);
        const plan: LeafPlan = { rotating: [], shortened: [], nextDue: [] };
        for (const entry of LEAVES) {
            const source = sources[entry.ca];
            if (!source || (entry.feature && !cfg.features[entry.feature])) continue;
            for (const target of this.targets(entry)) this.addLeaf(name, entry, target, source, plan, inventory);
        }
        const pools = workerPoolsOf(name, cfg, this.trustBundles.ca, this.nodeFiles, plan, this);
        [this.workerPools, this.workerPoolTokens] = [pools.pools, pools.memory];
        this.inventory = pulumi.all(inventory);
        this.rotationState = cfg.caStates;
        const soonest = Math.min(...plan.nextDue.map((d) => d.at));
        this.nextRotation = {
            at: new Date(soonest).toISOString(),
            certificates: plan.nextDue.filter((d) => d.at === soonest).map((d) => d.key),
            clock: new Date(cfg.nowMs).toISOString(),
        };
        this.rotationSummaryText = this.rotationSummary(args.previous?.rotationState ?? {}, plan.rotating, plan.shortened);
        pulumi.log.info(this.rotationSummaryText, this);

        // The component's recorded outputs stay small: the contents of nodeFiles and kubeconfigs (one Output per file,
        // ~3 per worker, each serialized by the SDK) are already the stack's outputs and the resources' state; here we
        // record only which files exist (plain strings). README "Performance": 3 fewer SDK serializations per node; the
        // component's entry in the state file 500 → 33 KiB at 13 nodes.
        this.registerOutputs({
            caCertificates: this.caCertificates,
            trustBundles: this.trustBundles,
            serviceAccountPublicKey: this.serviceAccountPublicKey,
            kubeconfigNames: Object.keys(this.kubeconfigs),
            nodeFilePaths: Object.fromEntries(Object.entries(this.nodeFiles).map(([node, files]) => [node, Object.keys(files)])),
            inventory: this.inventory,
            rotationState: this.rotationState,
            rotationTokens: this.rotationTokens,
            nextRotation: this.nextRotation,
        });
    }

    /** Writes one file into the trees of `nodes`: secret ones 0600, public ones 0644. */
    private put(nodes: ResolvedNode[], path: string, content: pulumi.Output<string>, secret: boolean): void {
        for (const node of nodes) this.nodeFiles[node.name][path] = { content, mode: secret ? "0600" : "0644", secret };
    }

    /** One catalog CA: every trusted generation exists; the active one (first) signs; the bundle holds them all. */
    private addCa(name: string, entry: CaEntry, external: ExternalCa[] | undefined, inventory: pulumi.Output<InventoryEntry>[]): CaSource {
        const cfg = this.config;
        const generationIds = trustedGenerations(cfg.caStates[entry.id]);
        const source = caSourceFor({
            parent: this,
            name,
            entry,
            cfg,
            generations: generationIds,
            allNodes: this.allNodes,
            external,
            vaultProvider: () => this.vaultProvider(name, cfg),
        });
        const roles = (source as { roles?: VaultRoles }).roles;
        if (roles) this.vaultRoles[entry.id] = roles;
        const generations = source.generations;
        const ca = generations[0];
        this.cas[entry.id] = ca;
        this.caCertificates[entry.id] = ca.certPem;
        this.trustBundles[entry.id] = generations.length === 1 && ca.trustPem === ca.certPem ? ca.certPem : bundle(generations.map((g) => g.trustPem));
        // Every node trusts the cluster CA (kubelet client CA); control planes hold all CA pairs (kubeadm join
        // --control-plane). ca.crt is the bundle, active CA first: kubeadm pairs its first cert with ca.key.
        this.put(entry.id === "ca" ? this.allNodes : cfg.controlPlanes, `${entry.file}.crt`, this.trustBundles[entry.id], false);
        if (source.keyInTree) this.put(cfg.controlPlanes, `${entry.file}.key`, ca.keyPem, true);
        generations.forEach((c, i) => {
            inventory.push(
                pulumi.all([c.notBefore, c.notAfter]).apply(([notBefore, notAfter]) => ({
                    id: entry.id,
                    file: `${entry.file}.crt`,
                    commonName: entry.commonName,
                    issuer: entry.id,
                    isCa: true,
                    generation: generationIds[i],
                    active: i === 0,
                    dnsNames: [],
                    ipAddresses: [],
                    extendedUsages: [],
                    keyAlgorithm: cfg.keys[entry.id],
                    validityHours: cfg.validityHours.ca,
                    renewBeforeHours: cfg.renewBeforeHours.ca,
                    notBefore: toSeconds(notBefore),
                    notAfter: toSeconds(notAfter),
                })),
            );
            // CAs are never replaced by the clock: inside their window the operator is told to rotate.
            c.notAfter.apply((notAfter) => {
                const renewAt = Date.parse(notAfter) - cfg.renewBeforeHours.ca * 3_600_000;
                if (!Number.isNaN(renewAt) && cfg.nowMs >= renewAt && cfg.caStates[entry.id].phase === "none") {
                    pulumi.log.warn(
                        `${entry.id} (generation ${generationIds[i]}) expires ${notAfter}: inside its renewal window; ` +
                            `rotate it with caRotation.${entry.id}: stage → promote → distrust`,
                        this,
                    );
                }
            });
        });
        return source;
    }

    /** The service-account signing key (no certificate): same phases; sa.pub holds every trusted public key. */
    private addServiceAccountKey(name: string): pulumi.Output<string> {
        const cfg = this.config;
        const saKeys = trustedGenerations(cfg.caStates.sa).map(
            (gen) => new tls.PrivateKey(`${name}-${SERVICE_ACCOUNT_KEY.id}${gen === 0 ? "" : `-g${gen}`}`, privateKeyArgs(cfg.keys.sa), { parent: this }),
        );
        const publicKeys = saKeys.length === 1 ? saKeys[0].publicKeyPem : bundle(saKeys.map((k) => k.publicKeyPem));
        this.put(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.keyFile, pulumi.secret(saKeys[0].privateKeyPem), true);
        this.put(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.publicKeyFile, publicKeys, false);
        return publicKeys;
    }

    /** Who gets one certificate of this catalog entry: the cluster, each control plane / etcd member / node, each user. */
    private targets(entry: LeafEntry): Target[] {
        const cfg = this.config;
        switch (entry.scope) {
            case "cluster":
                return [{}];
            case "control-plane":
                return cfg.controlPlanes.map((node) => ({ node }));
            case "etcd-member":
                return cfg.controlPlanes.filter((n) => cfg.etcdMembers.includes(n.name)).map((node) => ({ node }));
            case "node":
                return this.allNodes.map((node) => ({ node }));
            case "user":
                return cfg.users.map((user) => ({ user }));
        }
    }

    /** Which node trees hold a certificate: its own node, or the entry's placement for cluster-wide ones. */
    private placement(entry: LeafEntry, target: Target): ResolvedNode[] {
        if (target.node) return [target.node];
        switch (entry.placement) {
            case "control-planes":
                return this.config.controlPlanes;
            case "first-control-plane":
                return this.config.controlPlanes.slice(0, 1);
            case "all-nodes":
                return this.allNodes;
            default:
                return [];
        }
    }

    /** One leaf (certificate or kubeconfig): its renewal, validity, issue, files and inventory entry. */
    private addLeaf(name: string, entry: LeafEntry, target: Target, source: CaSource, plan: LeafPlan, inventory: pulumi.Output<InventoryEntry>[]): void {
        const cfg = this.config;
        const ca = source.generations[0];
        const suffix = target.node?.name ?? target.user?.name;
        const key = suffix ? `${entry.id}/${suffix}` : entry.id;
        const id = identityOf(entry, cfg, target.node, target.user);
        const validityHours = target.user?.validityHours ?? cfg.validityHours.leaf;
        const renewBeforeHours = target.user?.renewBeforeHours ?? cfg.renewBeforeHours.leaf;
        // Rotation: the clock's epoch plus the manual generations that select this cert.
        const selectors = [
            entry.id,
            ...(suffix ? [key] : []),
            ...(target.node ? [`node:${target.node.name}`] : []),
            "group:all",
            `group:${entry.ca}`,
            `group:${entry.scope}`,
            entry.file ? "group:certificates" : "group:kubeconfigs",
        ];
        const generations = Object.fromEntries(selectors.filter((sel) => cfg.rotate[sel]).map((sel) => [sel, cfg.rotate[sel]]));
        // Renewal anchored on this certificate: due at its previous notAfter − renewBefore (never before).
        const previous = cfg.previous.leaves[key];
        const renewal = leafRenewal({ previousToken: cfg.previous.tokens[key], previous, renewBeforeHours, nowMs: cfg.nowMs, generations });
        const token = renewal.token;
        this.rotationTokens[key] = token;
        if (renewal.reason) plan.rotating.push(`${key}: ${renewal.reason}`);
        // A leaf never outlives its issuer. A certificate kept from the previous run keeps the validity it was
        // issued with (an input that changed with the clock would replace it on every run); one issued in this
        // run is capped at the CA's remaining life, and the run says so. An issuer that caps by itself (Vault) is
        // asked for the configured validity.
        const issuerGeneration = trustedGenerations(cfg.caStates[entry.ca])[0];
        const reissued = !previous || renewal.reason !== undefined || (previous.shortenedFromHours ?? previous.validityHours) !== validityHours ||
            (previous.issuerGeneration ?? issuerGeneration) !== issuerGeneration;
        const effectiveValidity: number | pulumi.Output<number> = source.issuer.capsValidity
            ? validityHours
            : !reissued && previous.validityHours !== undefined
            ? previous.validityHours
            : this.cappedValidity(key, entry.ca, issuerGeneration, ca.notAfter, validityHours, renewBeforeHours);
        // The next renewal of this certificate: the previous one's when kept, else planned from the clock.
        const caEnd = cfg.previous.caNotAfterMs[`${entry.ca}/${issuerGeneration}`] ?? source.plannedNotAfterMs;
        const plannedValidity = typeof effectiveValidity === "number"
            ? effectiveValidity
            : caEnd === undefined ? validityHours : Math.max(1, cappedValidityHours(validityHours, caEnd, cfg.nowMs));
        if (reissued && plannedValidity < validityHours) plan.shortened.push(`${key} (${validityHours}h → ${plannedValidity}h)`);
        plan.nextDue.push({
            key,
            at: !reissued && previous ? renewAtMs(previous.notAfterMs, renewBeforeHours) : renewAtMs(cfg.nowMs + plannedValidity * 3_600_000, renewBeforeHours),
        });
        const leaf = source.issuer.issue({
            name: `${name}-${entry.id}${suffix ? `-${suffix}` : ""}`,
            entry,
            identity: id,
            user: target.user,
            validityHours: effectiveValidity,
            renewBeforeHours,
            rotationToken: token,
        });
        this.leaves[key] = leaf;
        const nodes = this.placement(entry, target);
        let file: string;
        if (entry.file) {
            file = `${entry.file}.crt`;
            this.put(nodes, file, leaf.certPem, false);
            this.put(nodes, `${entry.file}.key`, leaf.keyPem, true);
        } else {
            file = target.user ? `users/${suffix}.conf` : target.node ? `${suffix}/${entry.id}` : entry.id;
            const server =
                entry.server === "local" && target.node?.role === "control-plane"
                    ? serverUrl(target.node.addresses[0], cfg.apiServerBindPort)
                    : cfg.endpoint.url;
            // Nested applies instead of pulumi.all([...]) (here and in the inventory below): same value, secrecy,
            // dependencies and unknowns, but pulumi.all first wraps each element in an Output + apply of its own:
            // 2–3× the memory per leaf until the values resolve (README "Performance"). The cert resolves last: outermost.
            const caBundle = this.trustBundles.ca;
            const kubeconfig = pulumi.secret(
                leaf.certPem.apply((certPem) =>
                    leaf.keyPem.apply((keyPem) =>
                        caBundle.apply((caPem) =>
                            renderKubeconfig({ clusterName: cfg.clusterName, server, caPem, userName: id.commonName, certPem, keyPem }),
                        ),
                    ),
                ),
            );
            this.kubeconfigs[file] = kubeconfig;
            if (entry.kubeconfig) this.put(nodes, entry.kubeconfig, kubeconfig, true);
        }
        const entryOf = (notBefore: string, notAfter: string, issued: number): InventoryEntry => ({
            id: entry.id,
            ...(target.node ? { node: target.node.name } : {}),
            ...(target.user ? { user: target.user.name } : {}),
            file,
            commonName: id.commonName,
            ...(id.organization ? { organization: id.organization } : {}),
            issuer: entry.ca,
            isCa: false,
            dnsNames: id.dnsNames,
            ipAddresses: id.ipAddresses,
            extendedUsages: entry.extendedUsages,
            keyAlgorithm: cfg.keys.leaf,
            validityHours: issued,
            ...(issued < validityHours ? { shortenedFromHours: validityHours } : {}),
            issuerGeneration,
            renewBeforeHours,
            notBefore: toSeconds(notBefore),
            notAfter: toSeconds(notAfter),
        });
        // A kept certificate's validity is a number: no extra Output per leaf (README "Performance").
        const validityOutput = typeof effectiveValidity === "number" ? undefined : effectiveValidity;
        inventory.push(
            validityOutput
                ? validityOutput.apply((issued) => leaf.notBefore.apply((nb) => leaf.notAfter.apply((na) => entryOf(nb, na, issued))))
                : leaf.notBefore.apply((nb) => leaf.notAfter.apply((na) => entryOf(nb, na, effectiveValidity as number))),
        );
    }

    /**
     * The validity of a leaf issued in this run: min(configured, the CA's remaining life − 1 h). Says so when it
     * shortens the leaf; fails the run (log.error) when the leaf would be due at once (CA life ≤ renewBefore).
     */
    private cappedValidity(
        key: string,
        caId: CaId,
        generation: number,
        caNotAfter: pulumi.Output<string>,
        validityHours: number,
        renewBeforeHours: number,
    ): pulumi.Output<number> {
        return caNotAfter.apply((notAfter) => {
            const capped = cappedValidityHours(validityHours, Date.parse(notAfter), this.config.nowMs);
            if (capped <= renewBeforeHours) {
                pulumi.log.error(
                    `${key}: its CA ${caId} (generation ${generation}) expires ${notAfter}: a leaf issued now could live ` +
                        `${Math.max(capped, 0)}h, inside its renewBefore (${renewBeforeHours}h); rotate the CA first ` +
                        `(caRotation.${caId}: stage → promote) or shorten renewBefore`,
                    this,
                );
                return Math.max(capped, 1);
            }
            if (capped < validityHours) {
                pulumi.log.warn(
                    `${key}: validity shortened ${validityHours}h → ${capped}h so it does not outlive its CA ${caId} ` +
                        `(generation ${generation}, notAfter ${notAfter}); rotate the CA (caRotation.${caId}: stage) for full-length leaves`,
                    this,
                );
            }
            return capped;
        });
    }

    /** One Vault provider for every Vault resource of this cluster (from config or VAULT_* env), created on first use. */
    private vaultProvider(name: string, cfg: ResolvedConfig): vault.Provider | undefined {
        if (!cfg.vault.connection) return undefined;
        this.vaultProviderInstance ??= vaultProviderFromConfig(cfg.vault.connection, `${name}-vault`, { parent: this });
        return this.vaultProviderInstance;
    }

    /** The human summary a preview prints: what rotates and why, CA phases, and what is due next. */
    private rotationSummary(previous: Record<string, CaRotationState>, rotating: string[], shortened: string[]): string {
        const cfg = this.config;
        const lines = [`kube-pki rotation (clock ${new Date(cfg.nowMs).toISOString()}):`];
        // A CA promoted this run re-signs every leaf it issues: new certificates and kubeconfigs, same keys.
        const promoted = new Set(Object.keys(cfg.caStates).filter((ca) => (previous[ca]?.phase ?? "none") === "stage" && cfg.caStates[ca as RotatableCa].phase === "promote"));
        const resigned = Object.keys(this.rotationTokens).filter((k) => promoted.has(LEAVES.find((l) => l.id === k.split("/")[0])?.ca ?? ""));
        if (Object.keys(cfg.previous.tokens).length === 0) {
            lines.push(`  first run: ${Object.keys(this.rotationTokens).length} leaf certificates`);
        } else if (rotating.length === 0 && resigned.length === 0) {
            lines.push("  no leaf certificate rotates");
        } else if (rotating.length === 0) {
            lines.push(`  no leaf gets a new key; ${resigned.length} leaf certificate(s) are re-signed by the promoted ${[...promoted].join(", ")} (certificates and kubeconfigs replaced, keys kept)`);
        } else {
            lines.push(`  ${rotating.length} leaf certificate(s) rotate (key, CSR, cert, kubeconfig and sinks are replaced):`);
            for (const r of rotating) lines.push(`    - ${r}`);
        }
        if (shortened.length > 0) {
            lines.push(`  ${shortened.length} leaf certificate(s) shortened so they do not outlive their CA (rotate the CA for full-length leaves):`);
            for (const x of shortened) lines.push(`    - ${x}`);
        }
        const unanchored = Object.keys(this.rotationTokens).filter((k) => cfg.previous.tokens[k] !== undefined && !cfg.previous.leaves[k]);
        if (unanchored.length > 0) {
            lines.push(
                `  ${unanchored.length} leaf certificate(s) have no notAfter from the previous run (its "inventory" output was not passed as ` +
                    `previous.inventory): they renew only by the provider's earlyRenewalHours (${unanchored.slice(0, 3).join(", ")}${unanchored.length > 3 ? ", ..." : ""})`,
            );
        }
        for (const [ca, state] of Object.entries(cfg.caStates)) {
            const prev = previous[ca] ?? { phase: "none", generation: 0 };
            const gens = trustedGenerations(state).join(", ");
            if (prev.phase !== state.phase || prev.generation !== state.generation) {
                const what = {
                    none: state.phase === prev.phase ? "" : prev.phase === "stage" ? "staged CA dropped" : "rotation finished",
                    stage: `new generation ${state.generation + 1} created and trusted; leaves still signed by generation ${state.generation}`,
                    promote:
                        ca === "sa"
                            ? `sa.key is generation ${state.generation} (new tokens signed by it); sa.pub still holds generation ${state.generation - 1}`
                            : `leaves re-signed by generation ${state.generation}; generation ${state.generation - 1} still trusted`,
                    distrust: `generation ${state.generation - 1} removed from every trust bundle and destroyed`,
                }[state.phase];
                lines.push(`  ${ca}: ${prev.phase} → ${state.phase}: ${what} (trusted: ${gens})`);
            } else if (state.phase !== "none") {
                lines.push(`  ${ca}: phase ${state.phase} (trusted generations ${gens})`);
            }
        }
        lines.push(`  next renewal: ${this.nextRotation.at} (${this.nextRotation.certificates.slice(0, 5).join(", ")}${this.nextRotation.certificates.length > 5 ? `, +${this.nextRotation.certificates.length - 5} more` : ""})`);
        return lines.join("\n");
    }
}
