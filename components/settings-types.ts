// Generated from components/settings.ts by `npm run docs:config` (scripts/gen-config-docs.ts): do not edit.

/** A control-plane node. */
export interface ControlPlaneNode {
    /** Node name (DNS-1123 subdomain), as kubeadm's `nodeRegistration.name`. */
    name: string;
    /** The address the node's apiserver and etcd listen on (kubeadm `localAPIEndpoint.advertiseAddress`). */
    advertiseAddress: string;
    /** Extra SANs (DNS names or IPs) for this node's apiserver certificate. */
    extraSans?: string[];
}

/** A worker node with its own kubelet certificates. */
export interface WorkerNode {
    /** Node name (DNS-1123 subdomain), as kubeadm's `nodeRegistration.name`. */
    name: string;
    /** The node's IPs (used as SANs of its kubelet serving certificate). */
    addresses?: string[];
}

/** A pool of identical workers that join with a bootstrap token (kubeadm TLS bootstrap); see components/worker-pool.ts. */
export interface WorkerPoolSpec {
    /** Pool name (DNS-1123 label): names its file tree, cloud-init document and token group. */
    name: string;
    /** Each bootstrap token's lifetime, e.g. "24h" (default, as kubeadm) or "7d"; at most caValidity. */
    tokenTtl?: string;
    /** A new token is made this long before the current one expires; the old one stays valid until then. Default: a third of tokenTtl. */
    tokenRenewBefore?: string;
    /** kubelet serverTLSBootstrap: the serving certificate through a CSR too (approve it yourself); default true. */
    serverTLSBootstrap?: boolean;
    /** Node labels (kubelet --node-labels). */
    labels?: Record<string, string>;
}

/** An extra user with a client-certificate kubeconfig. */
export interface ExtraUser {
    /** The user name: the client certificate's CN. */
    name: string;
    /** The group: the client certificate's O (one group; the tls provider takes a single organization). */
    group?: string;
    /** Validity, e.g. "720h" or "30d"; default: leafValidity. */
    validity?: string;
}

/** The plain part of ClusterPki's arguments (strings, numbers, booleans, lists and maps of them): what the component package serves to other languages as its schema (provider/index.ts). Durations are "<n>h", "<n>d" or a number of hours. */
export interface ClusterPkiSettings {
    /** kubeadm `clusterName`: names the cluster in every kubeconfig. */
    clusterName: string;
    /** kubeadm `networking.dnsDomain`. Default: "cluster.local". */
    clusterDomain?: string;
    /** kubeadm `networking.serviceSubnet`: one CIDR or a dual-stack pair "v4,v6" / "v6,v4"; its first IP is an apiserver SAN. Default: "10.96.0.0/12". */
    serviceCidr?: string;
    /** kubeadm `controlPlaneEndpoint`: "host[:port]", "[ipv6]:port" or a bare IPv6 address; port default apiServerBindPort. */
    controlPlaneEndpoint: string;
    /** kubeadm `localAPIEndpoint.bindPort`: the port of each control plane's own apiserver (the server of controller-manager.conf and scheduler.conf). Default: 6443. */
    apiServerBindPort?: number;
    /** kubeadm `apiServer.certSANs` (DNS names or IPs). Default: []. */
    apiServerExtraSans?: string[];
    /** The control-plane nodes (they run the apiserver and, unless external, etcd). */
    controlPlanes: ControlPlaneNode[];
    /** The worker nodes. */
    workers?: WorkerNode[];
    /** Worker pools that join by TLS bootstrap (a bootstrap token per pool, no per-node certificates). */
    workerPools?: WorkerPoolSpec[];
    /** Stacked etcd members (control-plane node names); default: every control plane. */
    etcdMembers?: string[];
    /** External etcd: no etcd CA, no etcd certs, no apiserver-etcd-client. Default: false. */
    externalEtcd?: boolean;
    /** Extra users with a client-certificate kubeconfig (`users/<name>.conf`). */
    users?: ExtraUser[];
    /** Allows an extra user in the `system:masters` group (it bypasses RBAC). Default: false. */
    allowSystemMastersUsers?: boolean;
    /** Key algorithm, kubeadm `encryptionAlgorithm` names: RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384. Default: "RSA-2048". */
    keyAlgorithm?: string;
    /** Cluster CA key algorithm; default keyAlgorithm. */
    caKeyAlgorithm?: string;
    /** etcd CA key algorithm; default caKeyAlgorithm. */
    etcdCaKeyAlgorithm?: string;
    /** front-proxy CA key algorithm; default caKeyAlgorithm. */
    frontProxyCaKeyAlgorithm?: string;
    /** Service-account signing key algorithm; default keyAlgorithm. */
    serviceAccountKeyAlgorithm?: string;
    /** CA validity ("<n>h" or "<n>d"; 2h to 100 years). Default: "87600h". */
    caValidity?: string;
    /** Leaf validity ("<n>h" or "<n>d"; at least 2h, at most caValidity). Default: "8760h". */
    leafValidity?: string;
    /** How long before expiry a CA is due for rotation (a warning: CAs rotate through caRotation); default 8760h, at most a third of caValidity. */
    caRenewBefore?: string;
    /** How long before expiry a leaf is renewed; default 720h, at most a third of leafValidity (at least 1h). */
    leafRenewBefore?: string;
    /** Per-node kubelet serving certificates, var/lib/kubelet/pki/kubelet.crt (for clusters without kubelet serving-cert bootstrap). Default: false. */
    kubeletServingCerts?: boolean;
    /** A kube-proxy kubeconfig (system:kube-proxy) for every node (not kubeadm; Kubernetes-the-hard-way style). Default: false. */
    kubeProxy?: boolean;
    /** super-admin.conf (system:masters break-glass, kubeadm ≥ 1.29) on the first control plane. Default: true. */
    superAdmin?: boolean;
    /** The front-proxy CA and client certificate (API aggregation). Default: true. */
    frontProxy?: boolean;
    /** The clock for renewal decisions, RFC3339 (preview "what rotates on date D"); default: now. Refused when earlier than the previous run's clock unless env KUBE_PKI_ALLOW_CLOCK_BACKWARDS=1. */
    now?: string;
    /** Manual rotation: generation numbers; raising one replaces exactly the certs it selects. Selectors: a cert id (`apiserver`), a cert (`apiserver/cp-1`, `user/alice`), a node (`node:worker-1`) or a group (`group:all`, `group:<ca id>`, `group:<scope>`, `group:kubeconfigs`). */
    rotate?: Record<string, number>;
    /** CA and SA-key rotation phase per CA (`ca`, `etcd-ca`, `front-proxy-ca`, `sa`): stage, promote, distrust. */
    caRotation?: Record<string, string>;
}
