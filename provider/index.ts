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
import { main as serveProvider } from "@pulumi/pulumi/provider";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import * as lib from "../components/internal";
import { fileMapInputs } from "../components/sinks/file-map-inputs";
import { remoteNodeFilesArgsProblems } from "../components/sinks/remote-files";
import { NodeTree, RemoteNodeTree, sinkCrud } from "./sink-resources";

/**
 * Arguments of ClusterPki: a kubeadm cluster's PKI (the library's ClusterPkiSettings, documented there: ClusterPkiArgs
 * without what the component package does not serve, Vault and a root stack's intermediates, and without `previous`,
 * which the component reads itself). Durations are "<n>h" or "<n>d".
 */
export interface ClusterPkiArgs extends lib.ClusterPkiSettings {}

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
    /** Per worker pool: each live bootstrap token's generation and expiration. */
    workerPoolTokens?: { [pool: string]: PoolTokenStatus[] };
}

/** One live bootstrap token of a worker pool (no secret in it). */
export interface PoolTokenStatus {
    /** The token's generation (0 = the pool's first token). */
    generation: number;
    /** RFC3339. */
    expiration: string;
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

/**
 * Arguments of RootPki: a shared root CA and one intermediate per cluster and CA kind (the library's RootPkiArgs,
 * documented there).
 */
export interface RootPkiArgs extends lib.RootPkiArgs {}

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
    /** Root of the node trees; the files go to <rootDir>/<node>/ (a relative root resolves against the program's directory). */
    rootDir: string;
    /** The node's name. */
    node: string;
    /** The node's files: ClusterPki.nodeFiles[node]. */
    files: pulumi.Input<{ [path: string]: pulumi.Input<NodeFile> }>;
}

/**
 * A file map from the provider protocol (ClusterPki.nodeFiles[node] as a program passes it), checked by `check`
 * (the library's rules for the field `nodeFiles` or `remoteNodes.<node>`); throws a ConfigError naming each bad field.
 */
function fileMapOf(files: pulumi.Input<{ [path: string]: pulumi.Input<NodeFile> }>, check: (map: lib.FileMap) => string[], what: string): pulumi.Output<lib.FileMap> {
    return pulumi.output(files).apply((known) => {
        const map: lib.FileMap = {};
        for (const [rel, f] of Object.entries(known ?? {})) map[rel] = { content: pulumi.output(f?.content), mode: f?.mode, secret: f?.secret === true };
        const problems = check(map);
        if (problems.length > 0) throw new lib.ConfigError(what, problems);
        return map;
    });
}

/** The sink resource's two inputs from a file map: a plain manifest and the contents as one secret. */
function treeInputs(map: pulumi.Output<lib.FileMap>) {
    return {
        manifest: pulumi.unsecret(map.apply((m) => fileMapInputs(m).manifest)),
        contents: pulumi.secret(map.apply((m) => fileMapInputs(m).contents)),
    };
}

/**
 * Writes one node's kubeadm tree to local disk (the machine that runs `pulumi up`) with exact modes, atomically;
 * shows drift in a preview; destroy removes exactly the files it wrote. The library's NodeFiles sink, served by this
 * package's provider process, so programs in any language can use it.
 */
export class NodeFiles extends pulumi.ComponentResource {
    /** The node's directory (<rootDir>/<node>). */
    public readonly directory: pulumi.Output<string>;
    /** Relative path → sha256 of the content written. */
    public readonly hashes: pulumi.Output<{ [path: string]: string }>;

    constructor(name: string, args: NodeFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:NodeFiles", name, {}, opts);
        // root and node now (before anything is registered); the files once ClusterPki's output is known
        const early = lib.nodeFilesArgsProblems({ rootDir: args.rootDir, node: args.node, files: {} }).filter((p) => !p.startsWith("nodeFiles.files"));
        if (early.length > 0) throw new lib.ConfigError(`NodeFiles "${name}" args`, early);
        const root = path.resolve(args.rootDir);
        const map = fileMapOf(args.files, (files) => lib.nodeFilesArgsProblems({ rootDir: root, node: args.node, files }), `NodeFiles "${name}" args`);
        const tree = new NodeTree(`${name}-files`, { root, node: args.node, ...treeInputs(map) }, { parent: this });
        this.directory = pulumi.output(path.join(root, args.node));
        this.hashes = tree.files.apply((files) => Object.fromEntries(Object.entries(files ?? {}).map(([rel, st]) => [rel, st.sha256])));
        this.registerOutputs({ directory: this.directory, hashes: this.hashes });
    }
}

/** How to reach one node over SSH. */
export interface RemoteConnection {
    /** The node's address or name. */
    host: string;
    /** The SSH port (default 22). */
    port?: number;
    /** The SSH user (default "root"; any other user writes through `sudo -n` unless sudo is false). */
    user?: string;
    /** The node's host key, pinned: a public key line ("ssh-ed25519 AAAA...") or "SHA256:..." (no trust on first use). */
    hostKey: string;
    /** Secret: the client private key (OpenSSH or PEM). Or agent. */
    privateKey?: pulumi.Input<string>;
    /** An ssh-agent socket path instead of privateKey. */
    agent?: string;
    /** Whether the writes go through `sudo -n` (default: when user is not root). */
    sudo?: boolean;
}

/** Arguments of RemoteNodeFiles: one node's kubeadm tree written on the node itself over SSH. */
export interface RemoteNodeFilesArgs {
    /** The node's name. */
    node: string;
    /** The node's files: ClusterPki.nodeFiles[node]. */
    files: pulumi.Input<{ [path: string]: pulumi.Input<NodeFile> }>;
    /** How to reach the node. */
    connection: RemoteConnection;
    /** Where the trees live on the machine: <remoteRoot>/<node>/etc/kubernetes/... (default "/"). */
    remoteRoot?: string;
    /** The files' owner on the machine: a user name or numeric uid (default root); the writes must run as root (root or sudo). */
    owner?: string;
    /** The files' group on the machine: a group name or numeric gid (default root). */
    group?: string;
}

/**
 * Writes one node's kubeadm tree on the node over SSH (pinned host key, staged temp files renamed into place, drift by
 * hashes computed on the machine, destroy removes exactly what it wrote). The library's RemoteNodeFiles sink, served
 * by this package's provider process.
 */
export class RemoteNodeFiles extends pulumi.ComponentResource {
    /** Relative path → sha256 of what is on the machine. */
    public readonly hashes: pulumi.Output<{ [path: string]: string }>;

    constructor(name: string, args: RemoteNodeFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:RemoteNodeFiles", name, {}, opts);
        const c = args.connection ?? ({} as RemoteConnection);
        const checked = (files: lib.FileMap) => remoteNodeFilesArgsProblems({ node: args.node, files, connection: c, remoteRoot: args.remoteRoot, owner: args.owner, group: args.group });
        const early = checked({ "etc/kubernetes/pki/ca.crt": { content: pulumi.output(""), mode: "0644", secret: false } });
        if (early.length > 0) throw new lib.ConfigError(`RemoteNodeFiles "${name}" args`, early);
        const map = fileMapOf(args.files, checked, `RemoteNodeFiles "${name}" args`);
        const user = c.user ?? "root";
        const tree = new RemoteNodeTree(
            `${name}-remote`,
            {
                node: args.node,
                root: args.remoteRoot ?? "/",
                host: c.host,
                port: c.port ?? 22,
                user,
                hostKey: c.hostKey,
                sudo: c.sudo ?? user !== "root",
                ...(args.owner !== undefined ? { owner: args.owner } : {}),
                ...(args.group !== undefined ? { group: args.group } : {}),
                ...(c.agent ? { agent: c.agent } : {}),
                ...(c.privateKey ? { privateKey: pulumi.secret(c.privateKey) } : {}),
                ...treeInputs(map),
            },
            { parent: this },
        );
        this.hashes = tree.files.apply((files) => Object.fromEntries(Object.entries(files ?? {}).map(([rel, st]) => [rel, st.sha256])));
        this.registerOutputs({ hashes: this.hashes });
    }
}

/** The provider's own directory (PulumiPlugin.yaml, package.json, tsconfig.json and this file's source). */
const PROVIDER_DIR = path.resolve(__dirname, __filename.endsWith(".ts") ? "." : "../../provider");

/** How the package is served (also what the schema test builds its KubePkiProvider from). */
export const PROVIDER_OPTIONS = { components: [ClusterPki, RootPki, NodeFiles, RemoteNodeFiles], name: "kube-pki", namespace: "kube-pki", dirname: PROVIDER_DIR };

/**
 * componentProviderHost's provider with one addition to the schema it infers: Go's `generateExtraInputTypes`. Without
 * it, the Go SDK generator of pulumi 3.248 (what `pulumi package add` runs for a Go program) declares ClusterPkiArgs'
 * plain lists of objects as []ControlPlaneNodeArgs, []WorkerNodeArgs, []ExtraUserArgs (RootPkiArgs: []RootClusterArgs)
 * but generates those structs only for objects it sees in an input position, so the generated SDK does not compile.
 */
export class KubePkiProvider extends ComponentProvider {
    // the sink resources' CRUD (provider/sink-resources.ts): NodeFiles and RemoteNodeFiles from any language
    check = sinkCrud.check;
    diff = sinkCrud.diff;
    create = sinkCrud.create;
    read = sinkCrud.read;
    update = sinkCrud.update;
    delete = sinkCrud.delete;

    async getSchema(): Promise<string> {
        const schema = JSON.parse(await super.getSchema());
        schema.language = { ...schema.language, go: { ...schema.language?.go, generateExtraInputTypes: true } };
        // RootPki's `requests` (cluster → CA → IntermediateRequest[]) is a map of maps of arrays of objects, for which
        // pulumi 3.248's Go SDK generator emits references to types it never declares (IntermediateRequestArgsArrayMap*),
        // so no Go program could build. Until RootPki reads its clusters' CSRs itself in the provider, the CSR handoff
        // is served to TypeScript/JavaScript programs only (docs/languages.md); the other languages use ClusterPki.
        const root = schema.resources?.["kube-pki:index:RootPki"];
        if (root?.inputProperties?.requests) {
            delete root.inputProperties.requests;
            root.requiredInputs = (root.requiredInputs ?? []).filter((k: string) => k !== "requests");
            delete schema.types?.["kube-pki:index:IntermediateRequest"];
        }
        return JSON.stringify(schema);
    }
}

// Serve, unless imported by a test (KUBE_PKI_PROVIDER_HOST=off).
if (process.env.KUBE_PKI_PROVIDER_HOST !== "off") void serveProvider(new KubePkiProvider(PROVIDER_OPTIONS), process.argv.slice(2));
