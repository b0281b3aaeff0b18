/**
 * The one config schema. Every setting is written here once: its zod type (what validation accepts), its
 * description, its fixed default, how stack config reads it and, for required fields, what to put in it. From
 * these tables come:
 *  - the zod schema validateClusterPkiArgs parses (`settingsShape`, config.ts);
 *  - the ClusterPkiSettings interface and its node/user/pool types (settings-types.ts, generated);
 *  - STACK_CONFIG_KEYS (stack-config.ts);
 *  - Pulumi.yaml's typed `config:` section and docs/configuration.md (generated).
 * Regenerate with `npm run docs:config` (scripts/gen-config-docs.ts); test/config-schema.spec.ts fails when a
 * generated file is stale. This file imports nothing of ours.
 */
import { z } from "zod";

/** How a stack reads a key: a string as is, anything else as JSON/YAML (Pulumi config stores it as text). */
export type StackKind = "string" | "boolean" | "number" | "object";

export interface Setting {
    /** What validation accepts (without `.optional()`). */
    schema: z.ZodType;
    description: string;
    /** Absent fields are refused (with `hint`: what to put there). */
    required?: boolean;
    hint?: string;
    /** A fixed default: declared in Pulumi.yaml's typed config and shown in the docs. */
    default?: string | number | boolean | string[];
    /** How stack config reads it; absent: library only (not a `kube-pki:` key). */
    stack?: StackKind;
    /** The TypeScript type of the generated interface when it is narrower than the schema (durations: string). */
    ts?: string;
    /** The TypeScript type's name, for object types. */
    typeName?: string;
}

/** A duration: "<n>h", "<n>d" or a number of hours (validation/problems.ts parseDuration bounds it). */
const duration = z.union([z.string(), z.number()]);
const stringList = z.array(z.string());
const DURATION_TS = "string";

export type Table = Record<string, Setting>;

/** A table's entries, typed as settings (the tables keep their literal keys through `satisfies`). */
export const entriesOf = (table: Table): [string, Setting][] => Object.entries(table);

/** The zod shape of a table: required fields as they are, the others optional. */
export function shapeOf(table: Table): Record<string, z.ZodType> {
    return Object.fromEntries(Object.entries(table).map(([k, s]) => [k, s.required ? s.schema : s.schema.optional()]));
}

/** A list of objects described by `table`, named `typeName` in the generated types. */
function objectList(typeName: string, table: Table): { schema: z.ZodType; ts: string; typeName: string } {
    // strict: an unknown field is refused (a typo would otherwise be ignored)
    return { schema: z.array(z.strictObject(shapeOf(table))), ts: `${typeName}[]`, typeName };
}

export const CONTROL_PLANE_NODE = {
    name: { schema: z.string(), required: true, hint: `the node's name, e.g. "cp-1"`, description: "Node name (DNS-1123 subdomain), as kubeadm's `nodeRegistration.name`." },
    advertiseAddress: {
        schema: z.string(),
        required: true,
        hint: `the IP its apiserver and etcd listen on, e.g. "10.0.0.11"`,
        description: "The address the node's apiserver and etcd listen on (kubeadm `localAPIEndpoint.advertiseAddress`).",
    },
    extraSans: { schema: stringList, description: "Extra SANs (DNS names or IPs) for this node's apiserver certificate." },
} satisfies Table;

export const WORKER_NODE = {
    name: { schema: z.string(), required: true, hint: `the node's name, e.g. "worker-1"`, description: "Node name (DNS-1123 subdomain), as kubeadm's `nodeRegistration.name`." },
    addresses: { schema: stringList, description: "The node's IPs (used as SANs of its kubelet serving certificate)." },
} satisfies Table;

export const WORKER_POOL = {
    name: { schema: z.string(), required: true, hint: `the pool's name, e.g. "general"`, description: "Pool name (DNS-1123 label): names its file tree, cloud-init document and token group." },
    tokenTtl: { schema: duration, ts: DURATION_TS, description: `Each bootstrap token's lifetime, e.g. "24h" (default, as kubeadm) or "7d"; at most caValidity.` },
    tokenRenewBefore: {
        schema: duration,
        ts: DURATION_TS,
        description: "A new token is made this long before the current one expires; the old one stays valid until then. Default: a third of tokenTtl.",
    },
    serverTLSBootstrap: { schema: z.boolean(), description: "kubelet serverTLSBootstrap: the serving certificate through a CSR too (approve it yourself); default true." },
    labels: { schema: z.record(z.string(), z.string()), description: "Node labels (kubelet --node-labels)." },
} satisfies Table;

export const EXTRA_USER = {
    name: { schema: z.string(), required: true, hint: `the user name, the certificate's CN, e.g. "alice"`, description: "The user name: the client certificate's CN." },
    group: { schema: z.string(), description: "The group: the client certificate's O (one group; the tls provider takes a single organization)." },
    validity: { schema: duration, ts: DURATION_TS, description: `Validity, e.g. "720h" or "30d"; default: leafValidity.` },
} satisfies Table;

const controlPlanes = objectList("ControlPlaneNode", CONTROL_PLANE_NODE);
const workers = objectList("WorkerNode", WORKER_NODE);
const workerPools = objectList("WorkerPoolSpec", WORKER_POOL);
const users = objectList("ExtraUser", EXTRA_USER);

/** The object types of the settings, by TypeScript name, with their doc comments (generated interfaces). */
export const SETTING_TYPES: Record<string, { description: string; fields: Table }> = {
    ControlPlaneNode: { description: "A control-plane node.", fields: CONTROL_PLANE_NODE },
    WorkerNode: { description: "A worker node with its own kubelet certificates.", fields: WORKER_NODE },
    WorkerPoolSpec: { description: "A pool of identical workers that join with a bootstrap token (kubeadm TLS bootstrap); see components/worker-pool.ts.", fields: WORKER_POOL },
    ExtraUser: { description: "An extra user with a client-certificate kubeconfig.", fields: EXTRA_USER },
};

/**
 * ClusterPkiSettings: the plain part of ClusterPki's arguments (strings, numbers, booleans, lists and maps of
 * them), what the component package serves to other languages, and (but `now`'s env override) the stack keys.
 */
export const CLUSTER_SETTINGS = {
    clusterName: { schema: z.string(), required: true, stack: "string", hint: `the cluster's name, e.g. "prod-eu1"`, description: "kubeadm `clusterName`: names the cluster in every kubeconfig." },
    clusterDomain: { schema: z.string(), stack: "string", default: "cluster.local", description: "kubeadm `networking.dnsDomain`." },
    serviceCidr: {
        schema: z.string(),
        stack: "string",
        default: "10.96.0.0/12",
        description: `kubeadm \`networking.serviceSubnet\`: one CIDR or a dual-stack pair "v4,v6" / "v6,v4"; its first IP is an apiserver SAN.`,
    },
    controlPlaneEndpoint: {
        schema: z.string(),
        required: true,
        stack: "string",
        hint: `the address clients reach the apiservers at, "host[:port]", e.g. "k8s.example.com:6443"`,
        description: `kubeadm \`controlPlaneEndpoint\`: "host[:port]", "[ipv6]:port" or a bare IPv6 address; port default apiServerBindPort.`,
    },
    apiServerBindPort: {
        schema: z.number(),
        stack: "number",
        default: 6443,
        description: "kubeadm `localAPIEndpoint.bindPort`: the port of each control plane's own apiserver (the server of controller-manager.conf and scheduler.conf).",
    },
    apiServerExtraSans: { schema: stringList, stack: "object", default: [], description: "kubeadm `apiServer.certSANs` (DNS names or IPs)." },
    controlPlanes: {
        ...controlPlanes,
        required: true,
        stack: "object",
        hint: `the control-plane nodes, e.g. [{name: "cp-1", advertiseAddress: "10.0.0.11"}]`,
        description: "The control-plane nodes (they run the apiserver and, unless external, etcd).",
    },
    workers: { ...workers, stack: "object", description: "The worker nodes." },
    workerPools: { ...workerPools, stack: "object", description: "Worker pools that join by TLS bootstrap (a bootstrap token per pool, no per-node certificates)." },
    etcdMembers: { schema: stringList, stack: "object", description: "Stacked etcd members (control-plane node names); default: every control plane." },
    externalEtcd: { schema: z.boolean(), stack: "boolean", default: false, description: "External etcd: no etcd CA, no etcd certs, no apiserver-etcd-client." },
    users: { ...users, stack: "object", description: "Extra users with a client-certificate kubeconfig (`users/<name>.conf`)." },
    allowSystemMastersUsers: { schema: z.boolean(), stack: "boolean", default: false, description: "Allows an extra user in the `system:masters` group (it bypasses RBAC)." },
    keyAlgorithm: {
        schema: z.string(),
        stack: "string",
        default: "RSA-2048",
        description: "Key algorithm, kubeadm `encryptionAlgorithm` names: RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384.",
    },
    caKeyAlgorithm: { schema: z.string(), stack: "string", description: "Cluster CA key algorithm; default keyAlgorithm." },
    etcdCaKeyAlgorithm: { schema: z.string(), stack: "string", description: "etcd CA key algorithm; default caKeyAlgorithm." },
    frontProxyCaKeyAlgorithm: { schema: z.string(), stack: "string", description: "front-proxy CA key algorithm; default caKeyAlgorithm." },
    serviceAccountKeyAlgorithm: { schema: z.string(), stack: "string", description: "Service-account signing key algorithm; default keyAlgorithm." },
    caValidity: { schema: duration, ts: DURATION_TS, stack: "string", default: "87600h", description: `CA validity ("<n>h" or "<n>d"; 2h to 100 years).` },
    leafValidity: { schema: duration, ts: DURATION_TS, stack: "string", default: "8760h", description: `Leaf validity ("<n>h" or "<n>d"; at least 2h, at most caValidity).` },
    caRenewBefore: {
        schema: duration,
        ts: DURATION_TS,
        stack: "string",
        description: "How long before expiry a CA is due for rotation (a warning: CAs rotate through caRotation); default 8760h, at most a third of caValidity.",
    },
    leafRenewBefore: {
        schema: duration,
        ts: DURATION_TS,
        stack: "string",
        description: "How long before expiry a leaf is renewed; default 720h, at most a third of leafValidity (at least 1h).",
    },
    kubeletServingCerts: {
        schema: z.boolean(),
        stack: "boolean",
        default: false,
        description: "Per-node kubelet serving certificates, var/lib/kubelet/pki/kubelet.crt (for clusters without kubelet serving-cert bootstrap).",
    },
    kubeProxy: { schema: z.boolean(), stack: "boolean", default: false, description: "A kube-proxy kubeconfig (system:kube-proxy) for every node (not kubeadm; Kubernetes-the-hard-way style)." },
    superAdmin: { schema: z.boolean(), stack: "boolean", default: true, description: "super-admin.conf (system:masters break-glass, kubeadm ≥ 1.29) on the first control plane." },
    frontProxy: { schema: z.boolean(), stack: "boolean", default: true, description: "The front-proxy CA and client certificate (API aggregation)." },
    now: {
        schema: z.string(),
        stack: "string",
        description:
            `The clock for renewal decisions, RFC3339 (preview "what rotates on date D"); default: now. Refused when earlier ` +
            `than the previous run's clock unless env KUBE_PKI_ALLOW_CLOCK_BACKWARDS=1.`,
    },
    rotate: {
        schema: z.record(z.string(), z.number().int().nonnegative()),
        ts: "Record<string, number>",
        stack: "object",
        description:
            "Manual rotation: generation numbers; raising one replaces exactly the certs it selects. Selectors: a cert id " +
            "(`apiserver`), a cert (`apiserver/cp-1`, `user/alice`), a node (`node:worker-1`) or a group (`group:all`, " +
            "`group:<ca id>`, `group:<scope>`, `group:kubeconfigs`).",
    },
    caRotation: {
        schema: z.record(z.string(), z.string()),
        stack: "object",
        description: "CA and SA-key rotation phase per CA (`ca`, `etcd-ca`, `front-proxy-ca`, `sa`): stage, promote, distrust.",
    },
} satisfies Table;

/** Stack keys of ClusterPkiArgs beyond the settings (their TypeScript types are written in config.ts / vault). */
export const CLUSTER_ARGS_STACK_KEYS = {
    vault: {
        schema: z.any(),
        ts: "VaultConfig",
        stack: "object",
        description:
            "CAs in HashiCorp Vault's PKI engine instead of local keys, per CA id, plus the connection (docs/vault.md): " +
            "`{address?, namespace?, caCertFile?, issuerUrls?, ca?: {mountPath, keyMode: internal|exported, leaves: vault|local, trust: chain|vault, validity?}, ...}`. " +
            "No token here: use kube-pki:vaultToken.",
    },
} satisfies Table;

/** The sink keys (components/sinks/wiring.ts reads them). */
export const SINK_SETTINGS = {
    nodeFilesRoot: { schema: z.string(), stack: "string", description: "Write every node's kubeadm tree under this directory (NodeFiles sink)." },
    cloudInit: { schema: z.boolean(), stack: "boolean", default: false, description: "Export a secret '#cloud-config' document (write_files) per node in the cloudInit output." },
    secretsSink: { schema: z.any(), ts: "SecretsSinkConfig", stack: "object", description: "Push Secrets, a trust-bundle ConfigMap and RBAC to the cluster; its fields are below." },
    remoteNodes: {
        // its own zod schema lives with the sink (components/sinks/remote-config.ts), which names every field's problem
        schema: z.any(),
        ts: "RemoteNodesConfig",
        stack: "object",
        description:
            "Write each named node's tree on that machine over SSH (RemoteNodeFiles sink, docs/delivery.md): " +
            "`{\"<node>\": {host, port?, user?, hostKey, remoteRoot?, sudo?, owner?, group?, agent?, reload?}}`; hostKey is pinned (key line or SHA256 fingerprint); " +
            "owner/group: the files' user and group on the machine (default root; set through root or sudo); " +
            "`reload` overrides kube-pki:rollout.reload for that node.",
    },
    remoteSshKey: {
        schema: z.any(),
        ts: "string",
        stack: "string",
        description: "The SSH client private key for kube-pki:remoteNodes; always secret: `pulumi config set --secret kube-pki:remoteSshKey < key`.",
    },
    rollout: {
        // its own zod schema lives with the rollout (components/rollout/config.ts), which names every field's problem
        schema: z.any(),
        ts: "RolloutConfigInput",
        stack: "object",
        description:
            "Roll each remote node's update through its components (docs/rollout.md): restart what must restart, gate, then the next node. " +
            "`{maxUnavailable? (1), workerBatchSize? (10), gateTimeout? (\"5m\"), etcdClientPort? (2379), staticPodHold? (\"25s\"), " +
            "reload?: {<component>: \"<sh>\"}, poolsRolled?: {<pool>: {<ca id>: <generation>}}}`; set `{}` for the defaults. Unset: files only.",
    },
} satisfies Table;

/** The fields of `kube-pki:secretsSink` (components/sinks/wiring.ts SecretsSinkConfig). */
export const SECRETS_SINK_SETTINGS = {
    kubeconfig: { schema: z.string(), description: `Which kubeconfig of ClusterPki.kubeconfigs reaches the cluster; default "admin.conf".` },
    clusterIdentifier: { schema: z.string(), description: "The Kubernetes provider's clusterIdentifier (a rotated client certificate does not replace the provider)." },
    namespace: { schema: z.string(), description: "Namespace of the Secrets and the ConfigMap." },
    namePrefix: { schema: z.string(), description: "Prefix of the object names." },
    labels: { schema: z.record(z.string(), z.string()), description: "Labels on every object." },
    certificates: { schema: stringList, description: "Leaves by ClusterPki.leaves key (`front-proxy-client/cp-1`, `admin.conf`, ...) → kubernetes.io/tls Secrets." },
    trustBundle: { schema: z.boolean(), description: "The trust-bundle ConfigMap with every CA (`ca.crt`, `etcd-ca.crt`, `front-proxy-ca.crt`); default true." },
    trustBundleName: { schema: z.string(), description: "The trust-bundle ConfigMap's name." },
    caKeys: { schema: stringList, description: `CA ids whose key goes into a Secret (e.g. ["ca"] for a cert-manager CA Issuer); default none.` },
    clusterAdmins: { schema: z.boolean(), description: "The kubeadm:cluster-admins ClusterRoleBinding; default false." },
    groupBindings: { schema: z.array(z.any()), ts: "GroupBinding[]", description: "ClusterRoleBindings of groups to cluster roles." },
} satisfies Table;

/** The program's own keys (index.ts): what a stack is and where its CAs come from. */
export const PROGRAM_SETTINGS = {
    role: { schema: z.string(), stack: "string", description: `"cluster" (default: one cluster's PKI) or "root" (the shared root CA of a multi-stack environment).` },
    rootStack: { schema: z.string(), stack: "string", description: "Cluster stacks: the root stack (org/project/stack) that signs this cluster's intermediate CSRs (docs/multi-stack.md)." },
    rootCa: { schema: z.any(), ts: "RootPkiArgs", stack: "object", description: "Root stacks: the root CA's settings (RootPki args)." },
    clusters: { schema: z.any(), ts: "RootCluster[]", stack: "object", description: "Root stacks: the clusters whose intermediate CSRs it signs: [{name, stack?, cas?, generations?, validity?, pathLength?, keyAlgorithms?}], e.g. [{name: prod, stack: organization/kube-pki/prod, cas: [ca, etcd-ca, front-proxy-ca]}]." },
    allowRemoveClusters: { schema: stringList, stack: "object", description: "Root stacks: clusters whose intermediates may be dropped this run." },
    vaultToken: {
        schema: z.string(),
        stack: "string",
        description: "The Vault token, a secret: `pulumi config set --secret kube-pki:vaultToken` (prompts) or `... < token-file`; else VAULT_TOKEN.",
    },
} satisfies Table;

/** What to put in a required field, by path with `[]` for any index (schema messages). */
export const REQUIRED_HINTS: Record<string, string> = Object.fromEntries([
    ...entriesOf(CLUSTER_SETTINGS).filter(([, s]) => s.hint).map(([k, s]) => [k, s.hint!]),
    ...Object.entries(SETTING_TYPES).flatMap(([type, t]) => {
        const key = entriesOf(CLUSTER_SETTINGS).find(([, s]) => s.typeName === type)?.[0];
        return entriesOf(t.fields).filter(([, s]) => s.hint).map(([k, s]) => [`${key}[].${k}`, s.hint!]);
    }),
    ["externalCas.[].generation", `the CA generation, e.g. 0`],
]);

/** The zod shape of ClusterPkiSettings plus the args' stack keys. */
export const settingsShape: Record<string, z.ZodType> = { ...shapeOf(CLUSTER_SETTINGS), ...shapeOf(CLUSTER_ARGS_STACK_KEYS) };

/** Every ClusterPki key the program reads from stack config, with how it is parsed. */
export const STACK_CONFIG_KEYS: Record<string, StackKind> = Object.fromEntries(
    entriesOf({ ...CLUSTER_SETTINGS, ...CLUSTER_ARGS_STACK_KEYS })
        .filter(([, s]) => s.stack)
        .map(([k, s]) => [k, s.stack!]),
);
