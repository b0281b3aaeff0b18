/**
 * ClusterPki arguments: the plain interface, its validation, and the resolved form the component walks.
 *
 * Validation runs before any resource is registered. Every problem is reported with the field path and a fix,
 * all at once, in one `ConfigError`.
 */
import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import {
    DEFAULT_CA_RENEW_BEFORE_HOURS,
    DEFAULT_CA_VALIDITY_HOURS,
    DEFAULT_KEY_ALGORITHM,
    DEFAULT_LEAF_RENEW_BEFORE_HOURS,
    DEFAULT_LEAF_VALIDITY_HOURS,
    Feature,
    KEY_ALGORITHMS,
    KeyAlgorithm,
    LEAVES,
    Scope,
} from "./catalog";
import { serverUrl } from "./kubeconfig";
import { ResolvedVaultConfig, validateVaultConfig, VaultConfig } from "./vault";
import { CA_PHASES, CaPhase, CaRotationState, nextCaState, RotatableCa, ROTATABLE_CAS, trustedGenerations } from "./rotation";

export interface ControlPlaneNode {
    /** Node name (DNS-1123 subdomain), as kubeadm's `nodeRegistration.name`. */
    name: string;
    /** The address the node's apiserver and etcd listen on (kubeadm `localAPIEndpoint.advertiseAddress`). */
    advertiseAddress: string;
    /** Extra SANs (DNS names or IPs) for this node's apiserver certificate. */
    extraSans?: string[];
}

export interface WorkerNode {
    name: string;
    /** The node's IPs (used as SANs of its kubelet serving certificate). */
    addresses?: string[];
}

export interface ExtraUser {
    /** The user name: the client certificate's CN. */
    name: string;
    /** The group: the client certificate's O (one group; the tls provider takes a single organization). */
    group?: string;
    /** Validity, e.g. "720h" or "30d"; default: leafValidity. */
    validity?: string;
}

/** Arguments of `ClusterPki`. Durations are "<n>h", "<n>d" or a number of hours. */
export interface ClusterPkiArgs {
    /** kubeadm `clusterName`: names the cluster in every kubeconfig. */
    clusterName: string;
    /** kubeadm `networking.dnsDomain`; default "cluster.local". */
    clusterDomain?: string;
    /** kubeadm `networking.serviceSubnet` (IPv4 or IPv6); default "10.96.0.0/12". */
    serviceCidr?: string;
    /** kubeadm `controlPlaneEndpoint`: "host[:port]", port default 6443. */
    controlPlaneEndpoint: string;
    /** kubeadm `localAPIEndpoint.bindPort`: the port of each control plane's own apiserver; default 6443. */
    apiServerBindPort?: number;
    /** kubeadm `apiServer.certSANs`. */
    apiServerExtraSans?: string[];
    controlPlanes: ControlPlaneNode[];
    workers?: WorkerNode[];
    /** Stacked etcd members (control-plane node names); default: every control plane. */
    etcdMembers?: string[];
    /** External etcd: no etcd CA, no etcd certs, no apiserver-etcd-client. */
    externalEtcd?: boolean;
    users?: ExtraUser[];
    /** Allows an extra user in the `system:masters` group (it bypasses RBAC). */
    allowSystemMastersUsers?: boolean;
    /** Key algorithms, kubeadm `encryptionAlgorithm` names: RSA-2048 (default), RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384. */
    keyAlgorithm?: string;
    caKeyAlgorithm?: string;
    etcdCaKeyAlgorithm?: string;
    frontProxyCaKeyAlgorithm?: string;
    serviceAccountKeyAlgorithm?: string;
    caValidity?: string;
    leafValidity?: string;
    caRenewBefore?: string;
    leafRenewBefore?: string;
    /** Per-node kubelet serving certificates (for clusters without kubelet serving-cert bootstrap); default false. */
    kubeletServingCerts?: boolean;
    /** A kube-proxy kubeconfig (not kubeadm; Kubernetes-the-hard-way style); default false. */
    kubeProxy?: boolean;
    /** super-admin.conf (system:masters break-glass, kubeadm ≥ 1.29); default true. */
    superAdmin?: boolean;
    /** front-proxy CA and client (API aggregation); default true. */
    frontProxy?: boolean;
    /** The clock for renewal decisions, RFC3339 (preview "what rotates on date D"); default: now. */
    now?: string;
    /**
     * Manual rotation: generation numbers; raising one replaces exactly the certs it selects. Selectors:
     * a cert id (`apiserver`), a cert (`apiserver/cp-1`, `user/alice`), a node (`node:worker-1`) or a group
     * (`group:all`, `group:<ca id>`, `group:<scope>`, `group:kubeconfigs`).
     */
    rotate?: Record<string, number>;
    /** CA and SA-key rotation phase per CA (`ca`, `etcd-ca`, `front-proxy-ca`, `sa`): stage, promote, distrust. */
    caRotation?: Record<string, string>;
    /**
     * CAs provided from outside instead of created here, per CA id: e.g. a root stack's intermediates, one entry
     * per generation (see caRotation). Keys must be Pulumi secrets.
     */
    externalCas?: Record<string, { generation: number; certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> }[]>;
    /**
     * CAs in HashiCorp Vault's PKI engine instead of local keys, per CA id, plus the connection:
     * `{address?, namespace?, caCertFile?, issuerUrls?, ca?: {mountPath, keyMode: internal|exported, leaves: vault|local, validity?}, ...}`.
     */
    vault?: VaultConfig;
    /** What the previous run recorded (the stack's own outputs), to check phase changes and explain rotations. */
    previous?: {
        rotationState?: Record<string, CaRotationState>;
        rotationTokens?: Record<string, string>;
    };
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

export interface ResolvedConfig {
    /** The clock, ms since the epoch. */
    nowMs: number;
    rotate: Record<string, number>;
    /** Rotation state of each CA and the SA key for this run. */
    caStates: Record<RotatableCa, CaRotationState>;
    previousTokens: Record<string, string>;
    /** Vault mode per CA (empty `cas` when every CA is local). */
    vault: ResolvedVaultConfig;
    clusterName: string;
    clusterDomain: string;
    serviceCidr: string;
    /** The first IP of the service CIDR: the `kubernetes` Service's ClusterIP. */
    serviceIp: string;
    endpoint: { host: string; port: number; hostIsIp: boolean; url: string };
    apiServerBindPort: number;
    apiServerExtraSans: { dns: string[]; ips: string[] };
    controlPlanes: ResolvedNode[];
    workers: ResolvedNode[];
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

/**
 * Thrown by `validateClusterPkiArgs`: lists every problem as `field: what is wrong (fix)`. A `RunError`, so that
 * Pulumi prints the message alone, without a JavaScript stack (and without the seconds-long, gigabyte-hungry
 * source-mapped inspection it does for other uncaught errors).
 */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly context: string,
        readonly problems: string[],
    ) {
        super(`kube-pki: invalid ${context}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
        // Pulumi's run script also passes every uncaught error, RunErrors included, through util.inspect for its
        // trace span; formatting a V8 stack through the source maps then took 40-100 s and GBs of memory on Node 20.
        // The message names the field and the fix: a stack adds nothing for the user, so there is none to format.
        this.stack = this.message;
    }
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SAN_DNS = /^(\*\.)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;

/** Parses "8760h", "365d" or a number of hours into whole hours; undefined if malformed. */
export function parseHours(value: string | number): number | undefined {
    if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
    const m = /^\s*(\d+)\s*(h|d)\s*$/.exec(value);
    if (!m) return undefined;
    const n = Number(m[1]) * (m[2] === "d" ? 24 : 1);
    return n > 0 ? n : undefined;
}

/** Canonical text form of an IP (IPv6 compressed, IPv4-mapped kept as given family). */
export function canonicalIp(ip: string): string {
    return ipaddr.parse(ip).toString();
}

export function isIp(value: string): boolean {
    return net.isIP(value) !== 0;
}

/** The first usable IP of a CIDR (kubeadm: GetAPIServerVirtualIP → the network address + 1). */
export function firstIp(cidr: string): string {
    const [network] = ipaddr.parseCIDR(cidr);
    const bytes = network.toByteArray();
    for (let i = bytes.length - 1; i >= 0; i--) {
        bytes[i] = (bytes[i] + 1) & 0xff;
        if (bytes[i] !== 0) break;
    }
    return ipaddr.fromByteArray(bytes).toString();
}

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
        })
        .optional(),
});

/** Rotation groups (`group:<name>`), derived from the catalog: every CA id and scope, plus these. */
export const ROTATION_GROUPS: string[] = [
    "all",
    "kubeconfigs",
    "certificates",
    ...new Set(LEAVES.map((l) => l.ca)),
    ...new Set<Scope>(LEAVES.map((l) => l.scope)),
];

function fieldPath(path: PropertyKey[]): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/**
 * Validates ClusterPki args and resolves defaults. Throws a ConfigError naming every bad field.
 * Runs before any resource is registered, so bad config creates nothing.
 */
export function validateClusterPkiArgs(args: ClusterPkiArgs, context = "ClusterPki config"): ResolvedConfig {
    const problems: string[] = [];
    const add = (field: string, message: string) => problems.push(`${field}: ${message}`);

    const parsed = schema.safeParse(args ?? {});
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            const where = fieldPath(issue.path) || "(args)";
            if (issue.code === "unrecognized_keys") {
                add(where, `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")} (check the spelling)`);
            } else if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) {
                add(where, "is required");
            } else {
                add(where, issue.message);
            }
        }
        throw new ConfigError(context, problems);
    }
    const a = parsed.data;

    // --- names and addresses ---
    const clusterName = a.clusterName;
    if (!DNS1123_SUBDOMAIN.test(clusterName) || clusterName.length > 253) {
        add("clusterName", `"${clusterName}" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'; e.g. "prod-eu1")`);
    }
    const clusterDomain = a.clusterDomain ?? "cluster.local";
    if (!DNS1123_SUBDOMAIN.test(clusterDomain)) {
        add("clusterDomain", `"${clusterDomain}" is not a DNS domain (e.g. "cluster.local")`);
    }

    const serviceCidr = a.serviceCidr ?? "10.96.0.0/12";
    let serviceIp = "";
    if (!ipaddr.isValidCIDR(serviceCidr) || !serviceCidr.includes("/")) {
        add("serviceCidr", `"${serviceCidr}" is not a CIDR (e.g. "10.96.0.0/12" or "fd00:10:96::/108")`);
    } else {
        const [addr, prefix] = ipaddr.parseCIDR(serviceCidr);
        const network =
            addr.kind() === "ipv4"
                ? ipaddr.IPv4.networkAddressFromCIDR(serviceCidr)
                : ipaddr.IPv6.networkAddressFromCIDR(serviceCidr);
        const bits = addr.kind() === "ipv4" ? 32 : 128;
        if (network.toString() !== addr.toString()) {
            add("serviceCidr", `"${serviceCidr}" has host bits set (use "${network.toString()}/${prefix}")`);
        } else if (bits - prefix < 3) {
            add("serviceCidr", `"${serviceCidr}" is too small: the service range needs at least 8 addresses (a prefix of /${bits - 3} or shorter)`);
        } else if (addr.kind() === "ipv6" && prefix < 108) {
            add("serviceCidr", `"${serviceCidr}" is too large: kube-apiserver accepts an IPv6 service range of /108 or longer`);
        } else {
            serviceIp = firstIp(serviceCidr);
        }
    }

    let endpoint = { host: "", port: 6443, hostIsIp: false, url: "" };
    {
        const raw = a.controlPlaneEndpoint.trim();
        const portText = /:(\d*)$/.exec(raw.replace(/^\[[^\]]*\]/, ""))?.[1];
        let url: URL | undefined;
        try {
            url = new URL(`https://${portText !== undefined ? raw.slice(0, raw.length - portText.length - 1) : raw}`);
        } catch {
            url = undefined;
        }
        if (!url || raw === "" || url.pathname !== "/" || url.search || url.username || url.port) {
            add("controlPlaneEndpoint", `"${raw}" is not "host[:port]" (e.g. "k8s.example.com:6443" or "[fd00::10]:6443")`);
        } else if (portText !== undefined && (!/^\d+$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535)) {
            add("controlPlaneEndpoint", `port "${portText}" is not a TCP port (1-65535)`);
        } else {
            const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
            const hostIsIp = isIp(host);
            if (!hostIsIp && !DNS1123_SUBDOMAIN.test(host)) {
                add("controlPlaneEndpoint", `host "${host}" is neither an IP nor a DNS name`);
            }
            const port = portText ? Number(portText) : 6443;
            endpoint = { host, port, hostIsIp, url: serverUrl(host, port) };
        }
    }

    const sans = (list: string[] | undefined, field: string) => {
        const out = { dns: [] as string[], ips: [] as string[] };
        (list ?? []).forEach((san, i) => {
            if (isIp(san)) out.ips.push(canonicalIp(san));
            else if (SAN_DNS.test(san) && san.length <= 253) out.dns.push(san);
            else add(`${field}[${i}]`, `"${san}" is neither an IP address nor a DNS name`);
        });
        return out;
    };
    const apiServerBindPort = a.apiServerBindPort ?? 6443;
    if (!Number.isInteger(apiServerBindPort) || apiServerBindPort < 1 || apiServerBindPort > 65535) {
        add("apiServerBindPort", `${apiServerBindPort} is not a TCP port (1-65535)`);
    }
    const apiServerExtraSans = sans(a.apiServerExtraSans, "apiServerExtraSans");

    const checkIp = (ip: string, field: string): string | undefined => {
        if (!isIp(ip)) {
            add(field, `"${ip}" is not an IP address`);
            return undefined;
        }
        const range = ipaddr.parse(ip).range();
        if (range === "unspecified") {
            add(field, `"${ip}" is the unspecified address; give the node's real IP`);
            return undefined;
        }
        return canonicalIp(ip);
    };

    const seen = new Map<string, string>();
    const checkName = (name: string, field: string) => {
        if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
            add(field, `"${name}" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'; e.g. "cp-1")`);
        }
        const prior = seen.get(name);
        if (prior) add(field, `duplicate node name "${name}" (already used by ${prior})`);
        else seen.set(name, field);
    };

    if (a.controlPlanes.length === 0) {
        add("controlPlanes", "needs at least one control-plane node ({name, advertiseAddress})");
    }
    const controlPlanes: ResolvedNode[] = a.controlPlanes.map((cp, i) => {
        checkName(cp.name, `controlPlanes[${i}].name`);
        const ip = checkIp(cp.advertiseAddress, `controlPlanes[${i}].advertiseAddress`);
        return {
            name: cp.name,
            role: "control-plane" as const,
            addresses: ip ? [ip] : [],
            extraSans: sans(cp.extraSans, `controlPlanes[${i}].extraSans`),
        };
    });
    const kubeletServing = a.kubeletServingCerts ?? false;
    const workers: ResolvedNode[] = (a.workers ?? []).map((w, i) => {
        checkName(w.name, `workers[${i}].name`);
        const addresses = (w.addresses ?? [])
            .map((ip, j) => checkIp(ip, `workers[${i}].addresses[${j}]`))
            .filter((ip): ip is string => ip !== undefined);
        if (kubeletServing && (w.addresses ?? []).length === 0) {
            add(`workers[${i}].addresses`, "needs at least one IP when kubeletServingCerts is on (the serving cert's SANs)");
        }
        return { name: w.name, role: "worker" as const, addresses, extraSans: { dns: [], ips: [] } };
    });

    // --- etcd ---
    const externalEtcd = a.externalEtcd ?? false;
    let etcdMembers: string[] = [];
    if (externalEtcd) {
        if (a.etcdMembers && a.etcdMembers.length > 0) {
            add("etcdMembers", "stacked etcd members are set while externalEtcd is true; remove one of the two");
        }
    } else if (a.etcdMembers) {
        const cpNames = new Set(controlPlanes.map((n) => n.name));
        const dup = new Set<string>();
        a.etcdMembers.forEach((m, i) => {
            if (!cpNames.has(m)) {
                const kind = workers.some((w) => w.name === m) ? "a worker; stacked etcd runs on control planes" : "not a node";
                add(`etcdMembers[${i}]`, `"${m}" is ${kind} (use a controlPlanes[].name)`);
            }
            if (dup.has(m)) add(`etcdMembers[${i}]`, `duplicate etcd member "${m}"`);
            dup.add(m);
        });
        if (a.etcdMembers.length === 0) {
            add("etcdMembers", "is empty; omit it (every control plane) or set externalEtcd: true");
        }
        etcdMembers = [...dup];
    } else {
        etcdMembers = controlPlanes.map((n) => n.name);
    }

    // --- keys ---
    const keyAlg = (value: string | undefined, field: string): KeyAlgorithm => {
        if (value === undefined) return DEFAULT_KEY_ALGORITHM;
        if (!(KEY_ALGORITHMS as readonly string[]).includes(value)) {
            add(field, `"${value}" is not a supported key algorithm (one of ${KEY_ALGORITHMS.join(", ")})`);
            return DEFAULT_KEY_ALGORITHM;
        }
        return value as KeyAlgorithm;
    };
    const leafKey = keyAlg(a.keyAlgorithm, "keyAlgorithm");
    const caKey = a.caKeyAlgorithm === undefined ? leafKey : keyAlg(a.caKeyAlgorithm, "caKeyAlgorithm");
    const keys = {
        leaf: leafKey,
        ca: caKey,
        "etcd-ca": a.etcdCaKeyAlgorithm === undefined ? caKey : keyAlg(a.etcdCaKeyAlgorithm, "etcdCaKeyAlgorithm"),
        "front-proxy-ca":
            a.frontProxyCaKeyAlgorithm === undefined ? caKey : keyAlg(a.frontProxyCaKeyAlgorithm, "frontProxyCaKeyAlgorithm"),
        sa: a.serviceAccountKeyAlgorithm === undefined ? leafKey : keyAlg(a.serviceAccountKeyAlgorithm, "serviceAccountKeyAlgorithm"),
    };

    // --- validity ---
    const hours = (value: string | number | undefined, field: string, dflt: number): number => {
        if (value === undefined) return dflt;
        const h = parseHours(value);
        if (h === undefined) {
            add(field, `"${value}" is not a duration (whole hours or days, e.g. "8760h" or "365d")`);
            return dflt;
        }
        return h;
    };
    const validityHours = {
        ca: hours(a.caValidity, "caValidity", DEFAULT_CA_VALIDITY_HOURS),
        leaf: hours(a.leafValidity, "leafValidity", DEFAULT_LEAF_VALIDITY_HOURS),
    };
    const renewBeforeHours = {
        ca: hours(a.caRenewBefore, "caRenewBefore", Math.min(DEFAULT_CA_RENEW_BEFORE_HOURS, Math.floor(validityHours.ca / 3))),
        leaf: hours(a.leafRenewBefore, "leafRenewBefore", Math.min(DEFAULT_LEAF_RENEW_BEFORE_HOURS, Math.floor(validityHours.leaf / 3))),
    };
    if (validityHours.leaf > validityHours.ca) {
        add("leafValidity", `${validityHours.leaf}h is longer than caValidity (${validityHours.ca}h): a leaf must not outlive its CA`);
    }
    if (renewBeforeHours.ca >= validityHours.ca) {
        add("caRenewBefore", `${renewBeforeHours.ca}h must be shorter than caValidity (${validityHours.ca}h)`);
    }
    if (renewBeforeHours.leaf >= validityHours.leaf) {
        add("leafRenewBefore", `${renewBeforeHours.leaf}h must be shorter than leafValidity (${validityHours.leaf}h)`);
    }

    // --- users ---
    const userNames = new Set<string>();
    const users: ResolvedUser[] = (a.users ?? []).map((u, i) => {
        const field = `users[${i}]`;
        if (u.name.trim() === "") add(`${field}.name`, "is empty");
        else if (u.name.startsWith("system:")) add(`${field}.name`, `"${u.name}" is in the reserved "system:" namespace; pick a plain user name`);
        if (userNames.has(u.name)) add(`${field}.name`, `duplicate user "${u.name}"`);
        userNames.add(u.name);
        if (u.group !== undefined && u.group.trim() === "") add(`${field}.group`, "is empty; omit it for no group");
        if (u.group === "system:masters" && !a.allowSystemMastersUsers) {
            add(`${field}.group`, `"system:masters" bypasses RBAC; set allowSystemMastersUsers: true to allow it, or bind a group with RBAC`);
        }
        const validity = hours(u.validity, `${field}.validity`, validityHours.leaf);
        if (validity > validityHours.ca) {
            add(`${field}.validity`, `${validity}h is longer than caValidity (${validityHours.ca}h)`);
        }
        // A short-lived user cert renews in the last third of its life when leafRenewBefore would not fit.
        const renewBefore = Math.min(renewBeforeHours.leaf, Math.floor(validity / 3));
        return { name: u.name, group: u.group, validityHours: validity, renewBeforeHours: renewBefore };
    });

    // --- rotation ---
    let nowMs = Date.now();
    if (a.now !== undefined) {
        nowMs = Date.parse(a.now);
        if (!/^\d{4}-\d{2}-\d{2}T/.test(a.now) || Number.isNaN(nowMs)) {
            add("now", `"${a.now}" is not an RFC3339 time (e.g. "2027-01-31T12:00:00Z")`);
            nowMs = Date.now();
        }
    }
    const nodeNames = new Set([...controlPlanes, ...workers].map((n) => n.name));
    const leafIds = new Set(LEAVES.map((l) => l.id));
    for (const selector of Object.keys(a.rotate ?? {})) {
        const field = `rotate["${selector}"]`;
        if (selector.startsWith("node:")) {
            if (!nodeNames.has(selector.slice(5))) add(field, `"${selector.slice(5)}" is not a node`);
        } else if (selector.startsWith("group:")) {
            if (!ROTATION_GROUPS.includes(selector.slice(6))) add(field, `unknown group (one of ${ROTATION_GROUPS.join(", ")})`);
        } else {
            const [id, target, extra] = selector.split("/");
            if (ROTATABLE_CAS.includes(id as RotatableCa)) add(field, `CAs and the SA key rotate through caRotation phases, not generations`);
            else if (!leafIds.has(id) || extra !== undefined) add(field, `unknown certificate (a catalog id such as "apiserver", optionally "/<node or user>")`);
            else if (target !== undefined && !nodeNames.has(target) && !userNames.has(target)) add(field, `"${target}" is not a node or user`);
        }
    }
    const previousState = a.previous?.rotationState ?? {};
    const caStates = {} as Record<RotatableCa, CaRotationState>;
    for (const key of Object.keys(a.caRotation ?? {})) {
        if (!ROTATABLE_CAS.includes(key as RotatableCa)) add(`caRotation.${key}`, `unknown CA (one of ${ROTATABLE_CAS.join(", ")})`);
    }
    for (const ca of ROTATABLE_CAS) {
        const requested = (a.caRotation ?? {})[ca] ?? "none";
        const prev = previousState[ca] ?? { phase: "none", generation: 0 };
        if (requested !== "none" && !CA_PHASES.includes(requested as CaPhase)) {
            add(`caRotation.${ca}`, `"${requested}" is not a phase (stage, promote, distrust; one \`pulumi up\` each)`);
            caStates[ca] = prev;
            continue;
        }
        const disabled = (ca === "etcd-ca" && externalEtcd) || (ca === "front-proxy-ca" && a.frontProxy === false);
        if (disabled && requested !== "none") add(`caRotation.${ca}`, `${ca} is not part of this cluster`);
        const next = nextCaState(prev, requested as "none" | CaPhase);
        if (typeof next === "string") {
            add(`caRotation.${ca}`, `"${requested}" refused (previous phase "${prev.phase}", generation ${prev.generation}): ${next}`);
            caStates[ca] = prev;
        } else {
            caStates[ca] = next;
        }
    }

    for (const [id, list] of Object.entries(a.externalCas ?? {})) {
        if (!["ca", "etcd-ca", "front-proxy-ca"].includes(id)) {
            add(`externalCas.${id}`, "unknown CA (one of ca, etcd-ca, front-proxy-ca)");
            continue;
        }
        for (const gen of trustedGenerations(caStates[id as RotatableCa])) {
            if (!list.some((e) => e.generation === gen)) {
                add(`externalCas.${id}`, `generation ${gen} is needed (rotation phase "${caStates[id as RotatableCa].phase}") but not provided; issue it in the root stack (clusters[].generations) and update the root stack first`);
            }
        }
    }

    // --- Vault (validated by components/vault.ts; its problems are merged here) ---
    let vaultCfg: ResolvedVaultConfig = { cas: {} };
    try {
        // A local root per Vault CA signs its intermediate; it lives twice as long as the CA validity.
        vaultCfg = validateVaultConfig(a.vault, { caValidityHours: validityHours.ca, parentValidityHours: 2 * validityHours.ca });
    } catch (e) {
        if (e instanceof ConfigError) problems.push(...e.problems);
        else throw e;
    }
    for (const id of Object.keys(vaultCfg.cas)) {
        if (a.externalCas?.[id]) add(`vault.${id}`, `${id} comes from a root stack (rootStack); a Vault intermediate under it is not supported — drop one of the two`);
        if ((id === "etcd-ca" && externalEtcd) || (id === "front-proxy-ca" && a.frontProxy === false)) add(`vault.${id}`, `${id} is not part of this cluster`);
    }

    if (problems.length > 0) throw new ConfigError(context, problems);

    return {
        vault: vaultCfg,
        nowMs,
        rotate: a.rotate ?? {},
        caStates,
        previousTokens: a.previous?.rotationTokens ?? {},
        clusterName,
        clusterDomain,
        serviceCidr,
        serviceIp,
        endpoint,
        apiServerBindPort,
        apiServerExtraSans,
        controlPlanes,
        workers,
        etcdMembers,
        users,
        features: {
            stackedEtcd: !externalEtcd,
            frontProxy: a.frontProxy ?? true,
            superAdmin: a.superAdmin ?? true,
            kubeProxy: a.kubeProxy ?? false,
            kubeletServing,
        },
        keys,
        validityHours,
        renewBeforeHours,
    };
}
