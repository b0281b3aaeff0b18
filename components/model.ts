/**
 * The shapes the data path passes along: file maps (what sinks consume), inventory entries (what reports read),
 * issued material, and the view of a cluster's PKI that the sink wiring reads. Imports nothing of ours, so that
 * sinks, the report and worker pools need not import the component.
 */
import type * as pulumi from "@pulumi/pulumi";

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

/** What the component needs of a CA: its certificate, key and validity. */
export interface CaMaterial {
    certPem: pulumi.Output<string>;
    /** Always a Pulumi secret; "" (secret) when the key never leaves its keeper (Vault `internal`). */
    keyPem: pulumi.Output<string>;
    notBefore: pulumi.Output<string>;
    notAfter: pulumi.Output<string>;
}

/** An issued leaf: what the sinks, kubeconfigs and inventory read. */
export interface IssuedLeaf {
    certPem: pulumi.Output<string>;
    /** Always a Pulumi secret. */
    keyPem: pulumi.Output<string>;
    notBefore: pulumi.Output<string>;
    notAfter: pulumi.Output<string>;
}

/** One live token of a worker pool as the memory keeps it (no secret in it). */
export interface PoolTokenState {
    generation: number;
    /** RFC3339 (whole seconds), as in the Secret's `expiration`. */
    expiration: string;
}

/** A live bootstrap token of a pool. */
export interface PoolToken extends PoolTokenState {
    /** The token id (public: `bootstrap-token-<id>`, `kubeadm token list`). */
    id: pulumi.Output<string>;
    /** The token secret part (secret). */
    secret: pulumi.Output<string>;
}

/** What the sink wiring reads of a cluster's PKI (ClusterPki has it). */
export interface ClusterPkiView {
    config: { endpoint: { url: string } };
    cas: Partial<Record<string, CaMaterial>>;
    caCertificates: Record<string, pulumi.Output<string>>;
    trustBundles: Record<string, pulumi.Output<string>>;
    kubeconfigs: Record<string, pulumi.Output<string>>;
    leaves: Record<string, IssuedLeaf>;
    nodeFiles: Record<string, FileMap>;
    workerPools: Record<string, { pool: { name: string; group: string }; tokens: PoolToken[] }>;
}

/** The names a cluster's PKI will have, known from its config before any resource exists (sink config checks). */
export interface PlannedNames {
    kubeconfigs: string[];
    leaves: string[];
    cas: string[];
}
