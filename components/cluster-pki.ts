/**
 * ClusterPki: a whole cluster's PKI in kubeadm's layout and identities.
 * It walks the catalog tables (catalog.ts); it knows no certificate by name.
 */
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CaId, CAS, LEAVES, LeafEntry, SERVICE_ACCOUNT_KEY } from "./catalog";
import { CertificateAuthority } from "./ca";
import { ClusterPkiArgs, ResolvedConfig, ResolvedNode, ResolvedUser, validateClusterPkiArgs } from "./config";
import { identityOf } from "./identity";
import { privateKeyArgs } from "./keys";
import { renderKubeconfig, serverUrl } from "./kubeconfig";
import { LeafCertificate } from "./leaf";
import { VaultIntermediateCa, VaultLeafCertificate, vaultProviderFromConfig, VaultRoles } from "./vault";
import * as vault from "@pulumi/vault";
import { CaRotationState, cappedValidityHours, leafRenewal, renewAtMs, RotatableCa, trustedGenerations } from "./rotation";
import { requirePreviousRun, withPreviousRun } from "./memory";
import { PoolTokenState, WorkerPool, workerPoolsOf } from "./worker-pool";

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
    return Number.isNaN(ms) ? time : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** What the component needs of a CA: its certificate, key and validity. */
export interface CaMaterial {
    certPem: pulumi.Output<string>;
    keyPem: pulumi.Output<string>;
    notBefore: pulumi.Output<string>;
    notAfter: pulumi.Output<string>;
}

/** A CA whose certificate and key come from elsewhere (a root stack's intermediate). */
export interface ExternalCa {
    generation: number;
    certPem: pulumi.Input<string>;
    /** Must be a Pulumi secret. */
    keyPem: pulumi.Input<string>;
}

function externalCaMaterial(ca: ExternalCa): CaMaterial {
    const certPem = pulumi.output(ca.certPem);
    const parsed = certPem.apply((pem) => new X509Certificate(pem));
    return {
        certPem,
        keyPem: pulumi.secret(ca.keyPem),
        notBefore: parsed.apply((c) => new Date(c.validFrom).toISOString()),
        notAfter: parsed.apply((c) => new Date(c.validTo).toISOString()),
    };
}

interface Target {
    node?: ResolvedNode;
    user?: ResolvedUser;
}

export class ClusterPki extends pulumi.ComponentResource {
    /** The validated config with defaults applied. */
    public readonly config: ResolvedConfig;
    /** The active CA of each kind (local CertificateAuthority, or an intermediate from a root stack). */
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
    public readonly leaves: Record<string, LeafCertificate | VaultLeafCertificate> = {};
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
        requirePreviousRun(name, args);
        // Validate first: bad config throws here, before anything is registered.
        const cfg = validateClusterPkiArgs(args, `ClusterPki "${name}" config`);
        super("kube-pki:index:ClusterPki", name, {}, opts);
        this.config = cfg;
        const allNodes = [...cfg.controlPlanes, ...cfg.workers];
        for (const node of allNodes) this.nodeFiles[node.name] = {};
        const inventory: pulumi.Output<InventoryEntry>[] = [];

        const put = (nodes: ResolvedNode[], path: string, content: pulumi.Output<string>, secret: boolean) => {
            for (const node of nodes) {
                this.nodeFiles[node.name][path] = { content, mode: secret ? "0600" : "0644", secret };
            }
        };

        // --- CAs: every trusted generation exists; the active one (first) signs; bundles hold them all ---
        const generationName = (id: string, gen: number) => `${name}-${id}${gen === 0 ? "" : `-g${gen}`}`;
        const bundle = (pems: pulumi.Output<string>[]) =>
            pulumi.all(pems).apply((list) => list.map((p) => p.trim() + "\n").join(""));
        for (const entry of CAS) {
            if (entry.feature && !cfg.features[entry.feature]) continue;
            const generations = trustedGenerations(cfg.caStates[entry.id]);
            const external = args.externalCas?.[entry.id];
            const inVault = cfg.vault.cas[entry.id];
            // Vault mode: a local root (this CA's only signer) signs one Vault intermediate per generation.
            const vaultRoot = inVault
                ? new CertificateAuthority(
                      `${name}-${entry.id}-root`,
                      {
                          commonName: `${entry.commonName}-root`,
                          keyAlgorithm: cfg.keys[entry.id],
                          validityHours: 2 * cfg.validityHours.ca,
                          renewBeforeHours: cfg.renewBeforeHours.ca,
                      },
                      { parent: this },
                  )
                : undefined;
            const cas: CaMaterial[] = generations.map((gen) =>
                external
                    ? externalCaMaterial(external.find((e) => e.generation === gen)!)
                    : inVault && vaultRoot
                    ? new VaultIntermediateCa(
                          generationName(entry.id, gen),
                          {
                              caId: entry.id,
                              mountPath: gen === 0 ? inVault.mountPath : `${inVault.mountPath}-g${gen}`,
                              keyMode: inVault.keyMode,
                              commonName: entry.commonName,
                              keyAlgorithm: cfg.keys[entry.id],
                              validityHours: inVault.validityHours,
                              renewBeforeHours: cfg.renewBeforeHours.ca,
                              parentCertPem: vaultRoot.certPem,
                              parentKeyPem: vaultRoot.keyPem,
                              parentNotAfter: vaultRoot.notAfter,
                              issuerUrls: inVault.issuerUrls,
                              provider: this.vaultProvider(name, cfg),
                          },
                          { parent: this },
                      )
                    : new CertificateAuthority(
                        generationName(entry.id, gen),
                        {
                            commonName: entry.commonName,
                            keyAlgorithm: cfg.keys[entry.id],
                            validityHours: cfg.validityHours.ca,
                            renewBeforeHours: cfg.renewBeforeHours.ca,
                        },
                        { parent: this },
                    ),
            );
            const ca = cas[0];
            this.cas[entry.id] = ca;
            this.caCertificates[entry.id] = ca.certPem;
            // A Vault intermediate is trusted with its chain (intermediate, then its local root).
            const trusted = cas.map((c) => (c instanceof VaultIntermediateCa ? c.chainPem : c.certPem));
            this.trustBundles[entry.id] = cas.length === 1 && !inVault ? ca.certPem : bundle(trusted);
            if (inVault && ca instanceof VaultIntermediateCa && inVault.leaves === "vault") {
                const apiserver = LEAVES.find((l) => l.id === "apiserver")!;
                this.vaultRoles[entry.id] = new VaultRoles(
                    `${name}-${entry.id}-roles`,
                    {
                        caId: entry.id,
                        mountPath: ca.mountPath,
                        issuerRef: ca.issuerId,
                        keyAlgorithm: cfg.keys.leaf,
                        validityHours: cfg.validityHours.leaf,
                        features: cfg.features,
                        nodeNames: allNodes.map((n) => n.name),
                        allowedDnsSans: {
                            apiserver: [...new Set(cfg.controlPlanes.flatMap((cp) => identityOf(apiserver, cfg, cp).dnsNames))],
                        },
                        users: cfg.users.map((u) => ({ name: u.name, group: u.group, validityHours: u.validityHours })),
                        provider: this.vaultProvider(name, cfg),
                    },
                    { parent: this, dependsOn: [ca] },
                );
            }
            // Every node trusts the cluster CA (kubelet client CA); control planes hold all CA pairs (kubeadm join
            // --control-plane). ca.crt is the bundle, active CA first: kubeadm pairs its first cert with ca.key.
            put(entry.id === "ca" ? allNodes : cfg.controlPlanes, `${entry.file}.crt`, this.trustBundles[entry.id], false);
            // With a Vault `internal` key there is no ca.key: kubeadm's external-CA mode.
            if (!(ca instanceof VaultIntermediateCa) || ca.exported) put(cfg.controlPlanes, `${entry.file}.key`, ca.keyPem, true);
            cas.forEach((c, i) => {
                inventory.push(
                    pulumi.all([c.notBefore, c.notAfter]).apply(([notBefore, notAfter]) => ({
                        id: entry.id,
                        file: `${entry.file}.crt`,
                        commonName: entry.commonName,
                        issuer: entry.id,
                        isCa: true,
                        generation: generations[i],
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
                            `${entry.id} (generation ${generations[i]}) expires ${notAfter}: inside its renewal window; ` +
                                `rotate it with caRotation.${entry.id}: stage → promote → distrust`,
                            this,
                        );
                    }
                });
            });
        }

        // --- service-account signing key (no certificate): same phases; sa.pub holds every trusted public key ---
        const saGenerations = trustedGenerations(cfg.caStates.sa);
        const saKeys = saGenerations.map(
            (gen) => new tls.PrivateKey(generationName(SERVICE_ACCOUNT_KEY.id, gen), privateKeyArgs(cfg.keys.sa), { parent: this }),
        );
        this.serviceAccountPublicKey = saKeys.length === 1 ? saKeys[0].publicKeyPem : bundle(saKeys.map((k) => k.publicKeyPem));
        put(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.keyFile, pulumi.secret(saKeys[0].privateKeyPem), true);
        put(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.publicKeyFile, this.serviceAccountPublicKey, false);

        // --- leaves and kubeconfigs ---
        const rotating: string[] = [];
        /** Leaves issued in this run whose validity is capped at their CA's remaining life (as far as known at plan time). */
        const shortened: string[] = [];
        const nextDue: { key: string; at: number }[] = [];
        const targets = (entry: LeafEntry): Target[] => {
            switch (entry.scope) {
                case "cluster":
                    return [{}];
                case "control-plane":
                    return cfg.controlPlanes.map((node) => ({ node }));
                case "etcd-member":
                    return cfg.controlPlanes.filter((n) => cfg.etcdMembers.includes(n.name)).map((node) => ({ node }));
                case "node":
                    return allNodes.map((node) => ({ node }));
                case "user":
                    return cfg.users.map((user) => ({ user }));
            }
        };
        const placement = (entry: LeafEntry, target: Target): ResolvedNode[] => {
            if (target.node) return [target.node];
            switch (entry.placement) {
                case "control-planes":
                    return cfg.controlPlanes;
                case "first-control-plane":
                    return cfg.controlPlanes.slice(0, 1);
                case "all-nodes":
                    return allNodes;
                default:
                    return [];
            }
        };

        for (const entry of LEAVES) {
            if (entry.feature && !cfg.features[entry.feature]) continue;
            const ca = this.cas[entry.ca];
            if (!ca) continue;
            for (const target of targets(entry)) {
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
                if (renewal.reason) rotating.push(`${key}: ${renewal.reason}`);
                // A leaf never outlives its issuer. A certificate kept from the previous run keeps the validity it was
                // issued with (an input that changed with the clock would replace it on every run); one issued in this
                // run is capped at the CA's remaining life, and the run says so.
                const issuerGeneration = trustedGenerations(cfg.caStates[entry.ca])[0];
                const reissued = !previous || renewal.reason !== undefined || (previous.shortenedFromHours ?? previous.validityHours) !== validityHours ||
                    (previous.issuerGeneration ?? issuerGeneration) !== issuerGeneration;
                // Vault-issued leaves: Vault caps them at the issuer (its leaf_not_after_behavior).
                const roles = this.vaultRoles[entry.ca];
                const vaultIssued = !!roles && ca instanceof VaultIntermediateCa;
                const effectiveValidity: number | pulumi.Output<number> = vaultIssued
                    ? validityHours
                    : !reissued && previous.validityHours !== undefined
                    ? previous.validityHours
                    : this.cappedValidity(key, entry.ca, issuerGeneration, ca.notAfter, validityHours, renewBeforeHours);
                // The next renewal of this certificate: the previous one's when kept, else planned from the clock.
                const caEnd = cfg.previous.caNotAfterMs[`${entry.ca}/${issuerGeneration}`] ??
                    (args.externalCas?.[entry.ca] || cfg.vault.cas[entry.ca] ? undefined : cfg.nowMs + cfg.validityHours.ca * 3_600_000);
                const plannedValidity = typeof effectiveValidity === "number"
                    ? effectiveValidity
                    : caEnd === undefined ? validityHours : Math.max(1, cappedValidityHours(validityHours, caEnd, cfg.nowMs));
                if (reissued && plannedValidity < validityHours) shortened.push(`${key} (${validityHours}h → ${plannedValidity}h)`);
                nextDue.push({
                    key,
                    at: !reissued && previous ? renewAtMs(previous.notAfterMs, renewBeforeHours) : renewAtMs(cfg.nowMs + plannedValidity * 3_600_000, renewBeforeHours),
                });
                const leafName = `${name}-${entry.id}${suffix ? `-${suffix}` : ""}`;
                const leaf = vaultIssued
                    ? new VaultLeafCertificate(
                          leafName,
                          {
                              mountPath: ca.mountPath,
                              roleName: roles.roleNames[target.user ? (target.user.group ? `user/${target.user.group}` : "user") : entry.id],
                              commonName: id.commonName,
                              dnsNames: id.dnsNames,
                              ipAddresses: id.ipAddresses,
                              validityHours,
                              renewBeforeHours,
                              rotationToken: token,
                              provider: this.vaultProvider(name, cfg),
                          },
                          { parent: this },
                      )
                    : new LeafCertificate(
                    leafName,
                    {
                        caCertPem: ca.certPem,
                        caKeyPem: ca.keyPem,
                        keyAlgorithm: cfg.keys.leaf,
                        commonName: id.commonName,
                        organization: id.organization,
                        dnsNames: id.dnsNames,
                        ipAddresses: id.ipAddresses,
                        extendedUsages: entry.extendedUsages,
                        validityHours: effectiveValidity,
                        renewBeforeHours,
                        rotationToken: token,
                    },
                    { parent: this },
                );
                this.leaves[key] = leaf;
                const nodes = placement(entry, target);
                let file: string;
                if (entry.file) {
                    file = `${entry.file}.crt`;
                    put(nodes, file, leaf.certPem, false);
                    put(nodes, `${entry.file}.key`, leaf.keyPem, true);
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
                    if (entry.kubeconfig) put(nodes, entry.kubeconfig, kubeconfig, true);
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
        }
        const pools = workerPoolsOf(name, cfg, this.trustBundles.ca, this.nodeFiles, { rotating, nextDue }, this);
        [this.workerPools, this.workerPoolTokens] = [pools.pools, pools.memory];
        this.inventory = pulumi.all(inventory);
        this.rotationState = cfg.caStates;
        const soonest = Math.min(...nextDue.map((d) => d.at));
        this.nextRotation = {
            at: new Date(soonest).toISOString(),
            certificates: nextDue.filter((d) => d.at === soonest).map((d) => d.key),
            clock: new Date(cfg.nowMs).toISOString(),
        };
        this.rotationSummaryText = this.rotationSummary(args.previous?.rotationState ?? {}, rotating, shortened);
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
