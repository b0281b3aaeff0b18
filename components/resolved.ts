/**
 * The resolved config: what validateClusterPkiArgs returns and what identities, CA sources and validators read.
 * Types only, imported by config.ts, validation/*, identity.ts and ca-sources/*; this file imports no module of
 * ours but the two import-free vocabularies (catalog.ts, rotation.ts), and only their types, so that the data path
 * config → validation → CA sources has no import cycle.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { CaId, Feature, KeyAlgorithm } from "./catalog";
import type { CaRotationState, PreviousLeaf, RotatableCa } from "./rotation";

/** A CA whose certificate and key come from elsewhere (a root stack's intermediate). */
export interface ExternalCa {
    generation: number;
    certPem: pulumi.Input<string>;
    /** Must be a Pulumi secret. */
    keyPem: pulumi.Input<string>;
}

export interface ResolvedNode {
    name: string;
    role: "control-plane" | "worker";
    /** IPs of the node, the advertise address first for control planes. */
    addresses: string[];
    extraSans: { dns: string[]; ips: string[] };
}

export interface ResolvedUser {
    name: string;
    group?: string;
    validityHours: number;
    renewBeforeHours: number;
}

export interface Endpoint {
    host: string;
    port: number;
    hostIsIp: boolean;
    url: string;
}

export interface NetworkSection {
    clusterName: string;
    clusterDomain: string;
    /** As configured (one CIDR, or "v4,v6" / "v6,v4" for dual-stack). */
    serviceCidr: string;
    serviceCidrs: string[];
    /** The `kubernetes` Service's ClusterIP: first IP of the first (primary) service CIDR, like kubeadm. */
    serviceIp: string;
    endpoint: Endpoint;
    apiServerBindPort: number;
    apiServerExtraSans: { dns: string[]; ips: string[] };
}

/** What the previous run recorded, resolved: tokens and notAfter per leaf key, its clock. */
export interface PreviousRun {
    tokens: Record<string, string>;
    /** By leaf key (`apiserver/cp-1`, `user/alice`, `admin.conf`), from the `inventory` output. */
    leaves: Record<string, PreviousLeaf>;
    /** CA notAfter by `<id>/<generation>`, from the `inventory` output. */
    caNotAfterMs: Record<string, number>;
    /** Per worker pool: its live bootstrap tokens' generations and expirations (`workerPoolTokens` output). */
    workerPoolTokens: Record<string, { generation: number; expiration: string }[]>;
    /** The previous run's clock (nextRotation.clock), else the latest NotBefore of its inventory; undefined on a first run. */
    clockMs?: number;
}

export interface ResolvedWorkerPool {
    name: string;
    /** Each token's lifetime: the Secret's `expiration` is its creation + this. */
    tokenTtlHours: number;
    /** A new token is made when the clock reaches the current one's expiration − this; the old one stays until it expires. */
    tokenRenewBeforeHours: number;
    /** The kubelet asks for its serving certificate through a CSR too (kubelet `serverTLSBootstrap`). */
    serverTLSBootstrap: boolean;
    /** Node labels the pool's kubelets register with (kubelet `--node-labels`). */
    labels: Record<string, string>;
    /** The pool's own bootstrap group, added to the token's auth-extra-groups. */
    group: string;
}

export interface VaultIssuerUrls {
    /** AIA caIssuers URLs written into every certificate Vault issues (e.g. "https://vault:8200/v1/pki-k8s/ca"). */
    issuingCertificates?: string[];
    /** CRL distribution points (e.g. "https://vault:8200/v1/pki-k8s/crl"). */
    crlDistributionPoints?: string[];
    ocspServers?: string[];
}

export interface ResolvedVaultConnection {
    address: string;
    /** Secret, when set. */
    token?: pulumi.Output<string>;
    namespace?: string;
    caCertFile?: string;
}

export interface ResolvedVaultCa {
    caId: CaId;
    mountPath: string;
    /** "internal": the key never leaves Vault; "exported": Vault returned it once (a Pulumi secret). */
    keyMode: "internal" | "exported";
    leaves: "vault" | "local";
    /** "chain": trust bundles carry the intermediate and its local root; "vault": the intermediate only. */
    trust: "chain" | "vault";
    validityHours: number;
    issuerUrls?: VaultIssuerUrls;
}

export interface ResolvedVaultConfig {
    /** Undefined when no CA is in Vault mode. */
    connection?: ResolvedVaultConnection;
    cas: Partial<Record<CaId, ResolvedVaultCa>>;
}

/** The validated config with defaults applied; the network fields are the network section's (validation/network.ts). */
export interface ResolvedConfig extends NetworkSection {
    /** The clock, ms since the epoch. */
    nowMs: number;
    rotate: Record<string, number>;
    /** Rotation state of each CA and the SA key for this run. */
    caStates: Record<RotatableCa, CaRotationState>;
    /** What the previous run recorded: tokens and notAfter per leaf, its clock. */
    previous: PreviousRun;
    /** Vault mode per CA (empty `cas` when every CA is local). */
    vault: ResolvedVaultConfig;
    controlPlanes: ResolvedNode[];
    workers: ResolvedNode[];
    workerPools: ResolvedWorkerPool[];
    etcdMembers: string[];
    users: ResolvedUser[];
    features: Record<Feature, boolean>;
    keys: {
        leaf: KeyAlgorithm;
        ca: KeyAlgorithm;
        "etcd-ca": KeyAlgorithm;
        "front-proxy-ca": KeyAlgorithm;
        sa: KeyAlgorithm;
    };
    validityHours: { ca: number; leaf: number };
    renewBeforeHours: { ca: number; leaf: number };
}
