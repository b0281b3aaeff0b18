/**
 * kube-pki as a Pulumi component package, for programs in any language (Pulumi YAML, Go, Python, ...):
 * `pulumi package add <path to this directory>` reads PulumiPlugin.yaml here, runs this file (compiled to
 * dist/provider/index.js) through the Node.js language host, and `componentProviderHost` serves the components below
 * over the provider protocol; their schema (`pulumi package get-schema`) is inferred from this file's TypeScript
 * types and doc comments.
 *
 * These are thin wrappers of the library's components (components/), with args shaped for a schema: plain objects,
 * lists and maps of strings, numbers and booleans, no `any`. Secrets (keys, kubeconfigs, cloud-init documents)
 * stay secrets across the boundary. Not served here (use the npm package): Vault intermediates, a root stack's
 * intermediates (externalCas), the Kubernetes Secrets sink.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import * as lib from "../components";

/** A control-plane node: it runs etcd (unless external) and the apiserver. */
export interface ControlPlaneNode {
    /** Node name (DNS-1123 subdomain), as kubeadm's nodeRegistration.name. */
    name: string;
    /** The address the node's apiserver and etcd listen on (kubeadm localAPIEndpoint.advertiseAddress). */
    advertiseAddress: string;
    /** Extra SANs (DNS names or IPs) for this node's apiserver certificate. */
    extraSans?: string[];
}

/** A worker node. */
export interface WorkerNode {
    /** Node name (DNS-1123 subdomain). */
    name: string;
    /** The node's IPs (SANs of its kubelet serving certificate). */
    addresses?: string[];
}

/** An extra user with a client-certificate kubeconfig (users/<name>.conf). */
export interface ClusterUser {
    /** The user name: the client certificate's CN. */
    name: string;
    /** The group: the client certificate's O. */
    group?: string;
    /** Validity, e.g. "720h" or "30d"; default leafValidity. */
    validity?: string;
}

/** Arguments of ClusterPki: a kubeadm cluster's PKI. Durations are "<n>h" or "<n>d". */
export interface ClusterPkiArgs {
    /** kubeadm clusterName: names the cluster in every kubeconfig. */
    clusterName: string;
    /** kubeadm controlPlaneEndpoint: "host[:port]", port default 6443. */
    controlPlaneEndpoint: string;
    /** The control-plane nodes. */
    controlPlanes: ControlPlaneNode[];
    /** The worker nodes. */
    workers?: WorkerNode[];
    /** Extra users with a client-certificate kubeconfig. */
    users?: ClusterUser[];
    /** kubeadm networking.dnsDomain; default "cluster.local". */
    clusterDomain?: string;
    /** kubeadm networking.serviceSubnet (IPv4 or IPv6); default "10.96.0.0/12". */
    serviceCidr?: string;
    /** kubeadm localAPIEndpoint.bindPort: each control plane's own apiserver port; default 6443. */
    apiServerBindPort?: number;
    /** kubeadm apiServer.certSANs (DNS names or IPs). */
    apiServerExtraSans?: string[];
    /** Stacked etcd members (control-plane node names); default every control plane. */
    etcdMembers?: string[];
    /** External etcd: no etcd CA, no etcd certificates, no apiserver-etcd-client. */
    externalEtcd?: boolean;
    /** Allow an extra user in the system:masters group (it bypasses RBAC); default false. */
    allowSystemMastersUsers?: boolean;
    /** Leaf key algorithm (kubeadm encryptionAlgorithm): RSA-2048 (default), RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384. */
    keyAlgorithm?: string;
    /** Cluster CA key algorithm; default keyAlgorithm. */
    caKeyAlgorithm?: string;
    /** etcd CA key algorithm; default caKeyAlgorithm. */
    etcdCaKeyAlgorithm?: string;
    /** front-proxy CA key algorithm; default caKeyAlgorithm. */
    frontProxyCaKeyAlgorithm?: string;
    /** Service-account signing key algorithm; default keyAlgorithm. */
    serviceAccountKeyAlgorithm?: string;
    /** CA validity; default 87600h. */
    caValidity?: string;
    /** Leaf validity; default 8760h, at most caValidity. */
    leafValidity?: string;
    /** How long before expiry a CA is due for rotation; default 8760h. */
    caRenewBefore?: string;
    /** How long before expiry a leaf is renewed; default 720h. */
    leafRenewBefore?: string;
    /** Per-node kubelet serving certificates; default false. */
    kubeletServingCerts?: boolean;
    /** A kube-proxy kubeconfig per node; default false. */
    kubeProxy?: boolean;
    /** super-admin.conf (system:masters break-glass); default true. */
    superAdmin?: boolean;
    /** front-proxy CA and client certificate (API aggregation); default true. */
    frontProxy?: boolean;
    /** The clock for renewal decisions, RFC3339; default now. */
    now?: string;
    /** Manual rotation generations by selector (a cert id, "apiserver/cp-1", "node:worker-1", "group:all", ...). */
    rotate?: { [selector: string]: number };
    /** CA and SA-key rotation phase per CA ("ca", "etcd-ca", "front-proxy-ca", "sa"): stage, promote, distrust. */
    caRotation?: { [ca: string]: string };
}

/** One file of a node's kubeadm tree. */
export interface NodeFile {
    /** The content; a secret for keys and kubeconfigs. */
    content: string;
    /** Octal mode: "0600" for keys and kubeconfigs, "0644" for certificates. */
    mode: string;
    /** Whether the content is a secret. */
    secret: boolean;
}

/** A CA's rotation phase ("none", "stage", "promote", "distrust") and the generation that signs. */
export interface CaRotationStatus {
    /** none, stage, promote or distrust. */
    phase: string;
    /** The active generation (0 = the first CA). */
    generation: number;
}

/** When the next clock-driven renewal happens. */
export interface NextRotation {
    /** The time, RFC3339. */
    at: string;
    /** The certificates it renews. */
    certificates: string[];
    /** The clock of the run that planned it. */
    clock?: string;
}

/** What a ClusterPki remembers of a run (export it as the stack output kubePkiMemory). */
export interface ClusterPkiMemory {
    /** Rotation phase and active generation per CA. */
    rotationState?: { [ca: string]: CaRotationStatus };
    /** Each leaf's rotation token. */
    rotationTokens?: { [certificate: string]: string };
    /** Every certificate of the run (renewals are anchored on each one's notAfter). */
    inventory?: lib.InventoryEntry[];
    /** The run's next renewal and its clock. */
    nextRotation?: NextRotation;
}

/**
 * A Kubernetes cluster's PKI in kubeadm's layout and identities: the cluster, etcd and front-proxy CAs, the
 * service-account key pair, every leaf certificate and kubeconfig, one kubeadm file tree and one cloud-init
 * document per node. It remembers its CA rotation phases across runs when the program exports its `memory` output
 * as the stack output `kubePkiMemory`.
 */
export class ClusterPki extends pulumi.ComponentResource {
    /** CA certificates (public) by CA id (ca, etcd-ca, front-proxy-ca). */
    public readonly caCertificates: pulumi.Output<{ [ca: string]: string }>;
    /** Every trusted CA certificate by CA id (old and new while a rotation is staged). */
    public readonly trustBundles: pulumi.Output<{ [ca: string]: string }>;
    /** The service-account token signing public key(s) (sa.pub). */
    public readonly serviceAccountPublicKey: pulumi.Output<string>;
    /** Secret: every kubeconfig, e.g. "admin.conf", "worker-1/kubelet.conf", "users/alice.conf". */
    public readonly kubeconfigs: pulumi.Output<{ [name: string]: string }>;
    /** Per node: relative path (kubeadm layout) → file; key and kubeconfig contents are secrets. */
    public readonly nodeFiles: pulumi.Output<{ [node: string]: { [path: string]: NodeFile } }>;
    /** Secret: per node, a #cloud-config document that writes the node's tree (VM user data). */
    public readonly cloudInit: pulumi.Output<{ [node: string]: string }>;
    /** Every certificate with its identity and validity. */
    public readonly inventory: pulumi.Output<lib.InventoryEntry[]>;
    /** This run's memory: export it as the stack output kubePkiMemory so that the next run reads it back. */
    public readonly memory: pulumi.Output<{ [component: string]: ClusterPkiMemory }>;

    constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:ClusterPki", name, {}, opts);
        // The previous run is read asynchronously (a StackReference to this stack), so the library component is
        // created once it is known; every output waits for it.
        const pki = lib.ClusterPki.create(name, { ...args }, { parent: this });
        const from = <T>(f: (p: lib.ClusterPki) => pulumi.Input<T>): pulumi.Output<T> =>
            pulumi.output(pki.then(() => true)).apply(async () => f(await pki)) as pulumi.Output<T>;
        this.caCertificates = from((p) => pulumi.all(p.caCertificates));
        this.trustBundles = from((p) => pulumi.all(p.trustBundles));
        this.serviceAccountPublicKey = from((p) => p.serviceAccountPublicKey);
        this.kubeconfigs = from((p) => pulumi.secret(pulumi.all(p.kubeconfigs)));
        this.nodeFiles = from((p) => pulumi.output(p.nodeFiles as unknown) as unknown as pulumi.Output<{ [node: string]: { [path: string]: NodeFile } }>);
        this.cloudInit = from((p) => pulumi.secret(pulumi.all(lib.cloudInitByNode(p.nodeFiles))));
        this.inventory = from((p) => p.inventory);
        this.memory = from((p) => lib.memoryOf(p) as pulumi.Output<{ [component: string]: ClusterPkiMemory }>);
        this.registerOutputs({
            caCertificates: this.caCertificates,
            trustBundles: this.trustBundles,
            serviceAccountPublicKey: this.serviceAccountPublicKey,
            kubeconfigs: this.kubeconfigs,
            nodeFiles: this.nodeFiles,
            cloudInit: this.cloudInit,
            inventory: this.inventory,
            memory: this.memory,
        });
    }
}

/** A cluster whose intermediates a RootPki issues. */
export interface RootCluster {
    /** The cluster's name (its ClusterPki clusterName). */
    name: string;
    /** CA kinds issued as intermediates; default ca, etcd-ca, front-proxy-ca. */
    cas?: string[];
    /** Generations issued per CA kind (while a cluster rotates its CA: [0, 1]); default [0]. */
    generations?: { [ca: string]: number[] };
    /** Intermediate validity; default the root's intermediateValidity. */
    validity?: string;
}

/** Arguments of RootPki: a shared root CA and one intermediate per cluster and CA kind. */
export interface RootPkiArgs {
    /** The clusters to issue intermediates for. */
    clusters: RootCluster[];
    /** Root CA common name; default "kube-pki root CA". */
    commonName?: string;
    /** Root key algorithm; default RSA-2048. */
    keyAlgorithm?: string;
    /** Root validity; default 175200h. */
    validity?: string;
    /** Intermediate validity; default 87600h. */
    intermediateValidity?: string;
    /** Root basicConstraints pathlen; default 1. */
    pathLength?: number;
    /** Protect the root CA from deletion; default true. */
    protect?: boolean;
}

/** An intermediate CA issued by RootPki. */
export interface IssuedIntermediate {
    /** The generation (0 = the first). */
    generation: number;
    /** The intermediate's certificate. */
    certPem: string;
    /** Secret: the intermediate's key. */
    keyPem: string;
}

/** The shared trust root of several clusters: a protected root CA that signs one intermediate per cluster and CA kind. */
export class RootPki extends pulumi.ComponentResource {
    /** The root CA certificate. */
    public readonly rootCertificate: pulumi.Output<string>;
    /** cluster → CA id → issued generations (keys secret). */
    public readonly intermediates: pulumi.Output<{ [cluster: string]: { [ca: string]: IssuedIntermediate[] } }>;

    constructor(name: string, args: RootPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:RootPki", name, {}, opts);
        const root = new lib.RootPki(name, { ...args }, { parent: this });
        this.rootCertificate = root.rootCertificate;
        this.intermediates = pulumi.output(root.intermediates as unknown) as unknown as pulumi.Output<{ [cluster: string]: { [ca: string]: IssuedIntermediate[] } }>;
        this.registerOutputs({ rootCertificate: this.rootCertificate, intermediates: this.intermediates });
    }
}

/** Arguments of NodeFiles: one node's kubeadm tree written on the machine that runs `pulumi up`. */
export interface NodeFilesArgs {
    /** Root of the node trees; the files go to <rootDir>/<node>/. */
    rootDir: string;
    /** The node's name. */
    node: string;
    /** The node's files: ClusterPki.nodeFiles[node]. */
    files: pulumi.Input<{ [path: string]: pulumi.Input<NodeFile> }>;
}

/** Writes one node's kubeadm tree to local disk with exact modes, atomically; shows drift in a preview. */
export class NodeFiles extends pulumi.ComponentResource {
    /** The node's directory (<rootDir>/<node>). */
    public readonly directory: pulumi.Output<string>;
    /** Relative path → sha256 of the content written. */
    public readonly hashes: pulumi.Output<{ [path: string]: string }>;

    constructor(name: string, args: NodeFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:NodeFiles", name, {}, opts);
        this.directory = pulumi.output(path.join(path.resolve(args.rootDir), args.node));
        // The file map arrives as one value from another component: the sink is created once it is known.
        this.hashes = pulumi.output(args.files).apply((files) => {
            const map: lib.FileMap = {};
            for (const [rel, f] of Object.entries(files)) map[rel] = { content: pulumi.output(f.content), mode: f.mode, secret: f.secret };
            return new lib.NodeFiles(name, { rootDir: args.rootDir, node: args.node, files: map }, { parent: this }).hashes;
        });
        this.registerOutputs({ directory: this.directory, hashes: this.hashes });
    }
}

/** The provider's own directory (PulumiPlugin.yaml, package.json, tsconfig.json and this file's source). */
const PROVIDER_DIR = path.resolve(__dirname, __filename.endsWith(".ts") ? "." : "../../provider");

/** How the package is served (also what the schema test builds its ComponentProvider from). */
export const PROVIDER_OPTIONS = { components: [ClusterPki, RootPki, NodeFiles], name: "kube-pki", namespace: "kube-pki", dirname: PROVIDER_DIR };

// Serve, unless imported by a test (KUBE_PKI_PROVIDER_HOST=off).
if (process.env.KUBE_PKI_PROVIDER_HOST !== "off") void componentProviderHost(PROVIDER_OPTIONS);
