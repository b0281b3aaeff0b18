/**
 * The leaf half of ClusterPki's walk over the catalog: who gets each entry (targets), where its files go
 * (placement), and one leaf's contribution to the run (certificate, files, kubeconfig, inventory entry, plan
 * lines). Nothing here writes into the component: it returns what the leaf adds, and ClusterPki merges it.
 */
import * as pulumi from "@pulumi/pulumi";
import { CAS, LeafEntry, LEAVES } from "./catalog";
import type { CaSource } from "./ca-sources";
import type { ResolvedConfig, ResolvedNode, ResolvedUser } from "./config";
import { identityOf } from "./identity";
import { renderKubeconfig, serverUrl } from "./kubeconfig";
import type { FileMap, InventoryEntry, IssuedLeaf, NodeFile, PlannedNames } from "./model";
import { leafDecision, LeafDecision } from "./renewal";
import { cappedValidityHours, renewAtMs, trustedGenerations } from "./rotation";
import { hoursToMs, toWholeSeconds } from "./time";

export interface Target {
    node?: ResolvedNode;
    user?: ResolvedUser;
}

/** A file put into the trees of some nodes. */
export interface Placed {
    nodes: ResolvedNode[];
    path: string;
    file: NodeFile;
}

/** A file of `nodes`' trees: secret ones 0600, public ones 0644. */
export const placed = (nodes: ResolvedNode[], path: string, content: pulumi.Output<string>, secret: boolean): Placed => ({
    nodes,
    path,
    file: { content, mode: secret ? "0600" : "0644", secret },
});

/** Writes placed files into per-node maps, in order. */
export function putAll(trees: Record<string, FileMap>, files: Placed[]): void {
    for (const f of files) for (const node of f.nodes) trees[node.name][f.path] = f.file;
}

/** Control planes, then workers. */
export const allNodesOf = (cfg: ResolvedConfig): ResolvedNode[] => [...cfg.controlPlanes, ...cfg.workers];

/** Who gets one certificate of this catalog entry: the cluster, each control plane / etcd member / node, each user. */
export function targetsOf(entry: LeafEntry, cfg: ResolvedConfig): Target[] {
    switch (entry.scope) {
        case "cluster":
            return [{}];
        case "control-plane":
            return cfg.controlPlanes.map((node) => ({ node }));
        case "etcd-member":
            return cfg.controlPlanes.filter((n) => cfg.etcdMembers.includes(n.name)).map((node) => ({ node }));
        case "node":
            return allNodesOf(cfg).map((node) => ({ node }));
        case "user":
            return cfg.users.map((user) => ({ user }));
    }
}

/** Which node trees hold a certificate: its own node, or the entry's placement for cluster-wide ones. */
export function placementOf(entry: LeafEntry, target: Target, cfg: ResolvedConfig): ResolvedNode[] {
    if (target.node) return [target.node];
    switch (entry.placement) {
        case "control-planes":
            return cfg.controlPlanes;
        case "first-control-plane":
            return cfg.controlPlanes.slice(0, 1);
        case "all-nodes":
            return allNodesOf(cfg);
        default:
            return [];
    }
}

const suffixOf = (t: Target) => t.node?.name ?? t.user?.name;

/** The leaf's key in `leaves`, `rotationTokens` and the summary: `<id>` or `<id>/<node|user>`. */
export function leafKey(entry: LeafEntry, target: Target): string {
    const suffix = suffixOf(target);
    return suffix ? `${entry.id}/${suffix}` : entry.id;
}

/** The kubeconfig's key in `kubeconfigs`: `admin.conf`, `<node>/kubelet.conf`, `users/<name>.conf`. */
export function kubeconfigName(entry: LeafEntry, target: Target): string {
    return target.user ? `users/${target.user.name}.conf` : target.node ? `${target.node.name}/${entry.id}` : entry.id;
}

/** Whether the catalog entry is part of this cluster (its feature on, its CA present). */
export const enabled = (cfg: ResolvedConfig, feature?: keyof ResolvedConfig["features"]) => !feature || cfg.features[feature];

/** Every catalog leaf of this cluster with its target, in the walk's order. */
export function leafTargets(cfg: ResolvedConfig): { entry: LeafEntry; target: Target }[] {
    const cas = new Set(CAS.filter((c) => enabled(cfg, c.feature)).map((c) => c.id));
    return LEAVES.filter((e) => cas.has(e.ca) && enabled(cfg, e.feature)).flatMap((entry) => targetsOf(entry, cfg).map((target) => ({ entry, target })));
}

/** The names this config's PKI will have (sink config is checked against them before anything is registered). */
export function plannedNames(cfg: ResolvedConfig): PlannedNames {
    const walk = leafTargets(cfg);
    return {
        kubeconfigs: walk.filter(({ entry }) => !entry.file).map(({ entry, target }) => kubeconfigName(entry, target)),
        leaves: walk.map(({ entry, target }) => leafKey(entry, target)),
        cas: CAS.filter((c) => enabled(cfg, c.feature)).map((c) => c.id),
    };
}

/** The manual-rotation selectors that pick this leaf. */
function selectorsOf(entry: LeafEntry, target: Target): string[] {
    return [
        entry.id,
        ...(suffixOf(target) ? [leafKey(entry, target)] : []),
        ...(target.node ? [`node:${target.node.name}`] : []),
        "group:all",
        `group:${entry.ca}`,
        `group:${entry.scope}`,
        entry.file ? "group:certificates" : "group:kubeconfigs",
    ];
}

/** What one leaf adds to the run. */
export interface LeafContribution {
    key: string;
    leaf: IssuedLeaf;
    decision: LeafDecision;
    files: Placed[];
    kubeconfig?: { name: string; content: pulumi.Output<string> };
    inventory: pulumi.Output<InventoryEntry>;
    /** `<key> (<configured>h → <planned>h)` when issued shorter than configured, as far as known at plan time. */
    shortened?: string;
    nextDue: { key: string; at: number };
}

export interface LeafContext {
    /** The ClusterPki's name: resource names start with it. */
    name: string;
    cfg: ResolvedConfig;
    source: CaSource;
    /** The cluster CA trust bundle (kubeconfigs embed it). */
    caBundle: pulumi.Output<string>;
    /** The component, for log messages. */
    parent: pulumi.Resource;
}

/** One leaf (certificate or kubeconfig): its renewal decision, validity, issue, files and inventory entry. */
export function leafContribution(ctx: LeafContext, entry: LeafEntry, target: Target): LeafContribution {
    const { cfg, source } = ctx;
    const ca = source.generations[0];
    const suffix = suffixOf(target);
    const key = leafKey(entry, target);
    const id = identityOf(entry, cfg, target.node, target.user);
    const validityHours = target.user?.validityHours ?? cfg.validityHours.leaf;
    const renewBeforeHours = target.user?.renewBeforeHours ?? cfg.renewBeforeHours.leaf;
    const generations = Object.fromEntries(selectorsOf(entry, target).filter((sel) => cfg.rotate[sel]).map((sel) => [sel, cfg.rotate[sel]]));
    // Renewal anchored on this certificate: due at its previous notAfter − renewBefore (never before).
    const previous = cfg.previous.leaves[key];
    const issuerGeneration = trustedGenerations(cfg.caStates[entry.ca])[0];
    const decision = leafDecision({ previousToken: cfg.previous.tokens[key], previous, renewBeforeHours, nowMs: cfg.nowMs, generations, validityHours, issuerGeneration });
    // A leaf never outlives its issuer. A certificate kept from the previous run keeps the validity it was
    // issued with (an input that changed with the clock would replace it on every run); one issued in this
    // run is capped at the CA's remaining life, and the run says so. An issuer that caps by itself (Vault) is
    // asked for the configured validity.
    const effectiveValidity: number | pulumi.Output<number> = source.issuer.capsValidity
        ? validityHours
        : !decision.reissue && previous?.validityHours !== undefined
        ? previous.validityHours
        : cappedValidity(ctx, key, entry.ca, issuerGeneration, ca.notAfter, validityHours, renewBeforeHours);
    // The next renewal of this certificate: the previous one's when kept, else planned from the clock.
    const caEnd = cfg.previous.caNotAfterMs[`${entry.ca}/${issuerGeneration}`] ?? source.plannedNotAfterMs;
    const plannedValidity = typeof effectiveValidity === "number"
        ? effectiveValidity
        : caEnd === undefined ? validityHours : Math.max(1, cappedValidityHours(validityHours, caEnd, cfg.nowMs));
    const leaf = source.issuer.issue({
        name: `${ctx.name}-${entry.id}${suffix ? `-${suffix}` : ""}`,
        entry,
        identity: id,
        user: target.user,
        validityHours: effectiveValidity,
        renewBeforeHours,
        rotationToken: decision.token,
    });
    const nodes = placementOf(entry, target, cfg);
    const files: Placed[] = [];
    let file: string;
    let kubeconfig: LeafContribution["kubeconfig"];
    if (entry.file) {
        file = `${entry.file}.crt`;
        files.push(placed(nodes, file, leaf.certPem, false), placed(nodes, `${entry.file}.key`, leaf.keyPem, true));
    } else {
        file = kubeconfigName(entry, target);
        const server =
            entry.server === "local" && target.node?.role === "control-plane" ? serverUrl(target.node.addresses[0], cfg.apiServerBindPort) : cfg.endpoint.url;
        // Nested applies instead of pulumi.all([...]) (here and in the inventory below): same value, secrecy,
        // dependencies and unknowns, but pulumi.all first wraps each element in an Output + apply of its own:
        // 2–3× the memory per leaf until the values resolve (docs/performance.md). The cert resolves last: outermost.
        const content = pulumi.secret(
            leaf.certPem.apply((certPem) =>
                leaf.keyPem.apply((keyPem) =>
                    ctx.caBundle.apply((caPem) => renderKubeconfig({ clusterName: cfg.clusterName, server, caPem, userName: id.commonName, certPem, keyPem })),
                ),
            ),
        );
        kubeconfig = { name: file, content };
        if (entry.kubeconfig) files.push(placed(nodes, entry.kubeconfig, content, true));
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
        notBefore: toWholeSeconds(notBefore),
        notAfter: toWholeSeconds(notAfter),
    });
    // A kept certificate's validity is a number: no extra Output per leaf (docs/performance.md).
    const inventory =
        typeof effectiveValidity === "number"
            ? leaf.notBefore.apply((nb) => leaf.notAfter.apply((na) => entryOf(nb, na, effectiveValidity)))
            : effectiveValidity.apply((issued) => leaf.notBefore.apply((nb) => leaf.notAfter.apply((na) => entryOf(nb, na, issued))));
    return {
        key,
        leaf,
        decision,
        files,
        ...(kubeconfig ? { kubeconfig } : {}),
        inventory,
        ...(decision.reissue && plannedValidity < validityHours ? { shortened: `${key} (${validityHours}h → ${plannedValidity}h)` } : {}),
        nextDue: {
            key,
            at: !decision.reissue && previous
                ? renewAtMs(previous.notAfterMs, renewBeforeHours)
                : renewAtMs(cfg.nowMs + hoursToMs(plannedValidity), renewBeforeHours),
        },
    };
}

/**
 * The validity of a leaf issued in this run: min(configured, the CA's remaining life − 1 h). Says so when it
 * shortens the leaf; fails the run (log.error) when the leaf would be due at once (CA life ≤ renewBefore).
 */
function cappedValidity(
    ctx: LeafContext,
    key: string,
    caId: string,
    generation: number,
    caNotAfter: pulumi.Output<string>,
    validityHours: number,
    renewBeforeHours: number,
): pulumi.Output<number> {
    return caNotAfter.apply((notAfter) => {
        const capped = cappedValidityHours(validityHours, Date.parse(notAfter), ctx.cfg.nowMs);
        if (capped <= renewBeforeHours) {
            pulumi.log.error(
                `${key}: its CA ${caId} (generation ${generation}) expires ${notAfter}: a leaf issued now could live ` +
                    `${Math.max(capped, 0)}h, inside its renewBefore (${renewBeforeHours}h); rotate the CA first ` +
                    `(caRotation.${caId}: stage → promote) or shorten renewBefore`,
                ctx.parent,
            );
            return Math.max(capped, 1);
        }
        if (capped < validityHours) {
            pulumi.log.warn(
                `${key}: validity shortened ${validityHours}h → ${capped}h so it does not outlive its CA ${caId} ` +
                    `(generation ${generation}, notAfter ${notAfter}); rotate the CA (caRotation.${caId}: stage) for full-length leaves`,
                ctx.parent,
            );
        }
        return capped;
    });
}
