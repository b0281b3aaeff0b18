/**
 * ClusterPki arguments: the plain interface, its validation, and the resolved form the component walks.
 *
 * Validation runs before any resource is registered. Every problem is reported with the field path and a fix,
 * all at once, in one `ConfigError`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CA_PHASES, CaRotationState, RotatableCa } from "./rotation";
import type { ExternalCa, ResolvedConfig } from "./resolved";
import type { VaultConfig } from "./vault";
import { validateKeys } from "./validation/keys";
import { validateNetwork } from "./validation/network";
import { validateNodes } from "./validation/nodes";
import { ConfigError, fieldPath, Problems } from "./validation/problems";
import { readPreviousRun, validateClock, validateRotation } from "./validation/rotation";
import { validateUsers } from "./validation/users";
import { validateValidity } from "./validation/validity";
import { validateVaultSection } from "./validation/vault";
import { validateWorkerPools } from "./validation/worker-pools";

export type { ExternalCa, ResolvedConfig, ResolvedNode, ResolvedUser } from "./resolved";
export { ConfigError, parseHours, canonicalIp, isIp, firstIp } from "./validation/problems";
export { ROTATION_GROUPS, ALLOW_CLOCK_BACKWARDS_ENV } from "./validation/rotation";
export { parseControlPlaneEndpoint, validateServiceSubnet } from "./validation/network";

export interface ControlPlaneNode {
    /** Node name (DNS-1123 subdomain), as kubeadm's `nodeRegistration.name`. */
    name: string;
    /** The address the node's apiserver and etcd listen on (kubeadm `localAPIEndpoint.advertiseAddress`). */
    advertiseAddress: string;
    /** Extra SANs (DNS names or IPs) for this node's apiserver certificate. */
    extraSans?: string[];
}

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

export interface ExtraUser {
    /** The user name: the client certificate's CN. */
    name: string;
    /** The group: the client certificate's O (one group; the tls provider takes a single organization). */
    group?: string;
    /** Validity, e.g. "720h" or "30d"; default: leafValidity. */
    validity?: string;
}

/**
 * The plain part of ClusterPki's arguments (strings, numbers, booleans, lists and maps of them): what the component
 * package serves to other languages as its schema (provider/index.ts). Durations are "<n>h", "<n>d" or a number of hours.
 */
export interface ClusterPkiSettings {
    /** kubeadm `clusterName`: names the cluster in every kubeconfig. */
    clusterName: string;
    /** kubeadm `networking.dnsDomain`; default "cluster.local". */
    clusterDomain?: string;
    /** kubeadm `networking.serviceSubnet`: one CIDR or a dual-stack pair "v4,v6" / "v6,v4"; default "10.96.0.0/12". */
    serviceCidr?: string;
    /** kubeadm `controlPlaneEndpoint`: "host[:port]", "[ipv6]:port" or a bare IPv6 address; port default apiServerBindPort. */
    controlPlaneEndpoint: string;
    /** kubeadm `localAPIEndpoint.bindPort`: the port of each control plane's own apiserver; default 6443. */
    apiServerBindPort?: number;
    /** kubeadm `apiServer.certSANs`. */
    apiServerExtraSans?: string[];
    /** The control-plane nodes (they run the apiserver and, unless external, etcd). */
    controlPlanes: ControlPlaneNode[];
    /** The worker nodes. */
    workers?: WorkerNode[];
    /** Worker pools that join by TLS bootstrap (a bootstrap token per pool, no per-node certificates). */
    workerPools?: WorkerPoolSpec[];
    /** Stacked etcd members (control-plane node names); default: every control plane. */
    etcdMembers?: string[];
    /** External etcd: no etcd CA, no etcd certs, no apiserver-etcd-client. */
    externalEtcd?: boolean;
    /** Extra users with a client-certificate kubeconfig (`users/<name>.conf`). */
    users?: ExtraUser[];
    /** Allows an extra user in the `system:masters` group (it bypasses RBAC). */
    allowSystemMastersUsers?: boolean;
    /** Key algorithms, kubeadm `encryptionAlgorithm` names: RSA-2048 (default), RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384. */
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
    /** How long before expiry a CA is due for rotation (a warning: CAs rotate through caRotation). */
    caRenewBefore?: string;
    /** How long before expiry a leaf is renewed; default 720h. */
    leafRenewBefore?: string;
    /** Per-node kubelet serving certificates (for clusters without kubelet serving-cert bootstrap); default false. */
    kubeletServingCerts?: boolean;
    /** A kube-proxy kubeconfig (not kubeadm; Kubernetes-the-hard-way style); default false. */
    kubeProxy?: boolean;
    /** super-admin.conf (system:masters break-glass, kubeadm ≥ 1.29); default true. */
    superAdmin?: boolean;
    /** front-proxy CA and client (API aggregation); default true. */
    frontProxy?: boolean;
    /**
     * The clock for renewal decisions, RFC3339 (preview "what rotates on date D"); default: now. Refused when earlier
     * than the previous run's clock unless env KUBE_PKI_ALLOW_CLOCK_BACKWARDS=1.
     */
    now?: string;
    /**
     * Manual rotation: generation numbers; raising one replaces exactly the certs it selects. Selectors:
     * a cert id (`apiserver`), a cert (`apiserver/cp-1`, `user/alice`), a node (`node:worker-1`) or a group
     * (`group:all`, `group:<ca id>`, `group:<scope>`, `group:kubeconfigs`).
     */
    rotate?: Record<string, number>;
    /** CA and SA-key rotation phase per CA (`ca`, `etcd-ca`, `front-proxy-ca`, `sa`): stage, promote, distrust. */
    caRotation?: Record<string, string>;
}

/** Arguments of `ClusterPki`: the settings, plus CAs from elsewhere and what the previous run recorded. */
export interface ClusterPkiArgs extends ClusterPkiSettings {
    /**
     * CAs provided from outside instead of created here, per CA id: e.g. a root stack's intermediates, one entry
     * per generation (see caRotation). Keys must be Pulumi secrets.
     */
    externalCas?: Record<string, ExternalCa[]>;
    /**
     * CAs in HashiCorp Vault's PKI engine instead of local keys, per CA id, plus the connection:
     * `{address?, namespace?, caCertFile?, issuerUrls?, ca?: {mountPath, keyMode: internal|exported, leaves: vault|local, validity?}, ...}`.
     */
    vault?: VaultConfig;
    /**
     * What the previous run recorded (the stack's own outputs, see PREVIOUS_RUN_OUTPUTS): CA phases (to refuse
     * illegal changes), rotation tokens, the inventory (each leaf's notAfter: renewal is anchored on it) and
     * nextRotation (its `clock`: a clock that goes backwards is refused).
     */
    previous?: {
        rotationState?: Record<string, CaRotationState>;
        rotationTokens?: Record<string, string>;
        /** The previous `inventory` output (InventoryEntry[]). */
        inventory?: unknown[];
        /** The previous `nextRotation` output. */
        nextRotation?: { at?: string; certificates?: string[]; clock?: string };
        /** The previous `workerPoolTokens` output: per pool, each live token's generation and expiration. */
        workerPoolTokens?: Record<string, { generation: number; expiration: string }[]>;
    };
}

/** The stack outputs a program passes back as `previous` (same names as ClusterPki's outputs). */
export const PREVIOUS_RUN_OUTPUTS = ["rotationState", "rotationTokens", "inventory", "nextRotation", "workerPoolTokens"] as const;



const duration = z.union([z.string(), z.number()]);
const stringList = z.array(z.string());

const schema = z.strictObject({
    clusterName: z.string(),
    clusterDomain: z.string().optional(),
    serviceCidr: z.string().optional(),
    controlPlaneEndpoint: z.string(),
    apiServerBindPort: z.number().optional(),
    apiServerExtraSans: stringList.optional(),
    controlPlanes: z.array(
        z.strictObject({ name: z.string(), advertiseAddress: z.string(), extraSans: stringList.optional() }),
    ),
    workers: z.array(z.strictObject({ name: z.string(), addresses: stringList.optional() })).optional(),
    workerPools: z
        .array(
            z.strictObject({
                name: z.string(),
                tokenTtl: duration.optional(),
                tokenRenewBefore: duration.optional(),
                serverTLSBootstrap: z.boolean().optional(),
                labels: z.record(z.string(), z.string()).optional(),
            }),
        )
        .optional(),
    etcdMembers: stringList.optional(),
    externalEtcd: z.boolean().optional(),
    users: z
        .array(z.strictObject({ name: z.string(), group: z.string().optional(), validity: duration.optional() }))
        .optional(),
    allowSystemMastersUsers: z.boolean().optional(),
    keyAlgorithm: z.string().optional(),
    caKeyAlgorithm: z.string().optional(),
    etcdCaKeyAlgorithm: z.string().optional(),
    frontProxyCaKeyAlgorithm: z.string().optional(),
    serviceAccountKeyAlgorithm: z.string().optional(),
    caValidity: duration.optional(),
    leafValidity: duration.optional(),
    caRenewBefore: duration.optional(),
    leafRenewBefore: duration.optional(),
    kubeletServingCerts: z.boolean().optional(),
    kubeProxy: z.boolean().optional(),
    superAdmin: z.boolean().optional(),
    frontProxy: z.boolean().optional(),
    now: z.string().optional(),
    rotate: z.record(z.string(), z.number().int().nonnegative()).optional(),
    caRotation: z.record(z.string(), z.string()).optional(),
    vault: z.any().optional(),
    externalCas: z.record(z.string(), z.array(z.object({ generation: z.number().int().nonnegative(), certPem: z.any(), keyPem: z.any() }))).optional(),
    previous: z
        .object({
            rotationState: z
                .record(z.string(), z.object({ phase: z.enum(["none", ...CA_PHASES]), generation: z.number().int().nonnegative() }))
                .optional(),
            rotationTokens: z.record(z.string(), z.string()).optional(),
            inventory: z.array(z.any()).optional(),
            nextRotation: z.object({ clock: z.string().optional() }).optional(),
            workerPoolTokens: z.record(z.string(), z.array(z.object({ generation: z.number().int().nonnegative(), expiration: z.string() }))).optional(),
        })
        .optional(),
});

/** What to put in a required field (path with `[]` for any index). */
const REQUIRED_HINTS: Record<string, string> = {
    clusterName: `the cluster's name, e.g. "prod-eu1"`,
    controlPlaneEndpoint: `the address clients reach the apiservers at, "host[:port]", e.g. "k8s.example.com:6443"`,
    controlPlanes: `the control-plane nodes, e.g. [{name: "cp-1", advertiseAddress: "10.0.0.11"}]`,
    "controlPlanes[].name": `the node's name, e.g. "cp-1"`,
    "controlPlanes[].advertiseAddress": `the IP its apiserver and etcd listen on, e.g. "10.0.0.11"`,
    "workers[].name": `the node's name, e.g. "worker-1"`,
    "workerPools[].name": `the pool's name, e.g. "general"`,
    "users[].name": `the user name, the certificate's CN, e.g. "alice"`,
    "externalCas.[].generation": `the CA generation, e.g. 0`,
};

/** One schema issue as `field: problem (fix)`. */
function schemaProblem(issue: z.core.$ZodIssue): string {
    const where = fieldPath(issue.path) || "(args)";
    if (issue.code === "unrecognized_keys") {
        return `${where}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")} (check the spelling; README "Configuration reference" lists the fields)`;
    }
    if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) {
        const hint = REQUIRED_HINTS[where.replace(/\[\d+\]/g, "[]")];
        return `${where}: is required${hint ? ` (${hint})` : ""}`;
    }
    if (issue.code === "invalid_type") {
        return `${where}: must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected} (${issue.message.replace(/^Invalid input: /, "")})`;
    }
    return `${where}: ${issue.message}`;
}

/**
 * Validates ClusterPki args and resolves defaults. Throws one ConfigError naming every bad field: the schema's
 * problems (types, required and unknown fields) and every section's (network, nodes, users, validity, keys,
 * rotation, Vault) in one pass; a check that depends on a field the schema refused is skipped.
 * Runs before any resource is registered, so bad config creates nothing. It needs no engine: a CI job can call it.
 */
export function validateClusterPkiArgs(args: ClusterPkiArgs, context = "ClusterPki config"): ResolvedConfig {
    const p = new Problems();
    const input = (args ?? {}) as ClusterPkiArgs;
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            p.list.push(schemaProblem(issue));
            // An unknown key does not make its object unusable; any other issue does for the checks below.
            if (issue.code !== "unrecognized_keys") p.refuse(fieldPath(issue.path));
        }
    }
    if (typeof input !== "object" || Array.isArray(input)) throw new ConfigError(context, p.list);
    const a = input;

    const network = validateNetwork(a, p);
    const nodes = validateNodes(a, p);
    const validity = validateValidity(a, p);
    const keys = validateKeys(a, p);
    const users = validateUsers(a, validity.validityHours.leaf, validity.renewBeforeHours.leaf, validity.validityHours.ca, p);
    const previous = readPreviousRun(p.ok("previous") ? a.previous : undefined);
    const nowMs = validateClock(a.now, previous, p);
    const nodeNames = new Set([...nodes.controlPlanes, ...nodes.workers].map((n) => n.name));
    const { rotate, caStates } = validateRotation(
        a,
        nodeNames,
        new Set(users.map((u) => u.name)),
        nodes.externalEtcd,
        (p.ok("previous") ? a.previous?.rotationState : undefined) ?? {},
        p,
    );
    const vault = validateVaultSection(a, validity.validityHours.ca, nodes.externalEtcd, p);
    const workerPools = validateWorkerPools(a, nodeNames, validity.validityHours.ca, p);

    if (p.list.length > 0) throw new ConfigError(context, p.list);

    return {
        vault,
        nowMs,
        rotate,
        caStates: caStates as Record<RotatableCa, CaRotationState>,
        previous,
        ...network,
        controlPlanes: nodes.controlPlanes,
        workers: nodes.workers,
        workerPools,
        etcdMembers: nodes.etcdMembers,
        users,
        features: {
            stackedEtcd: !nodes.externalEtcd,
            frontProxy: a.frontProxy ?? true,
            superAdmin: a.superAdmin ?? true,
            kubeProxy: a.kubeProxy ?? false,
            kubeletServing: nodes.kubeletServing,
        },
        keys,
        validityHours: validity.validityHours,
        renewBeforeHours: validity.renewBeforeHours,
    };
}
