/**
 * ClusterPki: a whole cluster's PKI in kubeadm's layout and identities.
 * It walks the catalog tables (catalog.ts); it knows no certificate by name.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CaId, CAS, LEAVES, LeafEntry, SERVICE_ACCOUNT_KEY } from "./catalog";
import { CertificateAuthority } from "./ca";
import { ClusterPkiArgs, ResolvedConfig, ResolvedNode, ResolvedUser, validateClusterPkiArgs } from "./config";
import { identityOf } from "./identity";
import { privateKeyArgs } from "./keys";
import { renderKubeconfig, serverUrl } from "./kubeconfig";
import { LeafCertificate } from "./leaf";

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
    /** The node it belongs to, or the user name for extra users; absent for cluster-wide certs. */
    node?: string;
    user?: string;
    /** The file path in the node tree, or the kubeconfig key in `kubeconfigs`. */
    file: string;
    commonName: string;
    organization?: string;
    /** The issuing CA's id (`ca`, `etcd-ca`, `front-proxy-ca`); for CAs, their own id. */
    issuer: string;
    isCa: boolean;
    dnsNames: string[];
    ipAddresses: string[];
    extendedUsages: string[];
    keyAlgorithm: string;
    validityHours: number;
    renewBeforeHours: number;
    notBefore: string;
    notAfter: string;
}

/** RFC3339 at whole seconds: X.509 times have no fractions, the provider's validity times do. */
function toSeconds(time: string): string {
    const ms = Date.parse(time);
    return Number.isNaN(ms) ? time : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

interface Target {
    node?: ResolvedNode;
    user?: ResolvedUser;
}

export class ClusterPki extends pulumi.ComponentResource {
    /** The validated config with defaults applied. */
    public readonly config: ResolvedConfig;
    public readonly cas: Partial<Record<CaId, CertificateAuthority>> = {};
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
    /** Leaf certificates by `<id>` or `<id>/<node|user>`. */
    public readonly leaves: Record<string, LeafCertificate> = {};
    /** Every certificate with its identity and validity. */
    public readonly inventory: pulumi.Output<InventoryEntry[]>;

    constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
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

        // --- CAs ---
        for (const entry of CAS) {
            if (entry.feature && !cfg.features[entry.feature]) continue;
            const ca = new CertificateAuthority(
                `${name}-${entry.id}`,
                {
                    commonName: entry.commonName,
                    keyAlgorithm: cfg.keys[entry.id],
                    validityHours: cfg.validityHours.ca,
                    renewBeforeHours: cfg.renewBeforeHours.ca,
                },
                { parent: this },
            );
            this.cas[entry.id] = ca;
            this.caCertificates[entry.id] = ca.certPem;
            this.trustBundles[entry.id] = ca.certPem;
            // Every node trusts the cluster CA (kubelet client CA); control planes hold all CA pairs (kubeadm join --control-plane).
            put(entry.id === "ca" ? allNodes : cfg.controlPlanes, `${entry.file}.crt`, this.trustBundles[entry.id], false);
            put(cfg.controlPlanes, `${entry.file}.key`, ca.keyPem, true);
            inventory.push(
                pulumi.all([ca.notBefore, ca.notAfter]).apply(([notBefore, notAfter]) => ({
                    id: entry.id,
                    file: `${entry.file}.crt`,
                    commonName: entry.commonName,
                    issuer: entry.id,
                    isCa: true,
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
        }

        // --- service-account signing key (no certificate) ---
        const sa = new tls.PrivateKey(`${name}-${SERVICE_ACCOUNT_KEY.id}`, privateKeyArgs(cfg.keys.sa), { parent: this });
        this.serviceAccountPublicKey = sa.publicKeyPem;
        put(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.keyFile, pulumi.secret(sa.privateKeyPem), true);
        put(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.publicKeyFile, sa.publicKeyPem, false);

        // --- leaves and kubeconfigs ---
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
                const leaf = new LeafCertificate(
                    `${name}-${entry.id}${suffix ? `-${suffix}` : ""}`,
                    {
                        caCertPem: ca.certPem,
                        caKeyPem: ca.keyPem,
                        keyAlgorithm: cfg.keys.leaf,
                        commonName: id.commonName,
                        organization: id.organization,
                        dnsNames: id.dnsNames,
                        ipAddresses: id.ipAddresses,
                        extendedUsages: entry.extendedUsages,
                        validityHours,
                        renewBeforeHours,
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
                        entry.server === "local" && target.node
                            ? serverUrl(target.node.addresses[0], cfg.apiServerBindPort)
                            : cfg.endpoint.url;
                    const kubeconfig = pulumi.secret(
                        pulumi.all([this.trustBundles.ca, leaf.certPem, leaf.keyPem]).apply(([caPem, certPem, keyPem]) =>
                            renderKubeconfig({ clusterName: cfg.clusterName, server, caPem, userName: id.commonName, certPem, keyPem }),
                        ),
                    );
                    this.kubeconfigs[file] = kubeconfig;
                    if (entry.kubeconfig) put(nodes, entry.kubeconfig, kubeconfig, true);
                }
                inventory.push(
                    pulumi.all([leaf.notBefore, leaf.notAfter]).apply(([notBefore, notAfter]) => ({
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
                        validityHours,
                        renewBeforeHours,
                        notBefore: toSeconds(notBefore),
                        notAfter: toSeconds(notAfter),
                    })),
                );
            }
        }
        this.inventory = pulumi.all(inventory);

        this.registerOutputs({
            caCertificates: this.caCertificates,
            trustBundles: this.trustBundles,
            serviceAccountPublicKey: this.serviceAccountPublicKey,
            kubeconfigs: this.kubeconfigs,
            nodeFiles: this.nodeFiles,
            inventory: this.inventory,
        });
    }
}
