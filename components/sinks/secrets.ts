/**
 * KubernetesSecrets sink (docs/design.md#sinks): `kubernetes.io/tls` Secrets, a trust-bundle ConfigMap, CA key Secrets only
 * when asked, and optional ClusterRoleBindings, through its own kubernetes.Provider.
 *
 * Provider facts (docs/design.md#provider-facts): a fixed `clusterIdentifier` so that rotating the client certificate inside the
 * kubeconfig updates the provider instead of replacing it (and everything under it); `enableSecretMutable` and
 * `enableConfigMapMutable` so rotations update Secrets / the ConfigMap in place; `data` (base64), never
 * `stringData`; the bundle ConfigMap is never named `kube-root-ca.crt` (kube-controller-manager owns that name).
 */
import * as kubernetes from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../config";
import { b64 } from "../kubeconfig";

export interface TlsSecretSpec {
    /** Secret name suffix: the Secret is `<namePrefix><name>` (e.g. "apiserver" → kube-pki-apiserver). */
    name: string;
    certPem: pulumi.Input<string>;
    /** The private key: pass a secret Output. */
    keyPem: pulumi.Input<string>;
    /** The CA bundle for `ca.crt` (every CA currently trusted). */
    caPem: pulumi.Input<string>;
}

export interface CaKeySecretSpec {
    /** Secret name suffix (e.g. "ca" → kube-pki-ca), a kubernetes.io/tls Secret usable by a cert-manager CA Issuer. */
    name: string;
    certPem: pulumi.Input<string>;
    keyPem: pulumi.Input<string>;
}

export interface TrustBundleSpec {
    /** ConfigMap name; default `<namePrefix>trust-bundle`. Never `kube-root-ca.crt`. */
    name?: string;
    /** ConfigMap key (e.g. `ca.crt`, `etcd-ca.crt`, `front-proxy-ca.crt`) → PEM bundle. */
    bundles: Record<string, pulumi.Input<string>>;
}

export interface GroupBinding {
    /** The group (client certificate O), e.g. "dev-team". */
    group: string;
    /** The ClusterRole to bind, e.g. "view" or "edit". */
    clusterRole: string;
}

export interface RbacSpec {
    /**
     * The ClusterRoleBinding `kubeadm:cluster-admins` → ClusterRole `cluster-admin` for Group
     * `kubeadm:cluster-admins` (admin.conf's group), exactly as kubeadm creates it. Applied as a server-side-apply
     * patch (ClusterRoleBindingPatch): created when absent, adopted when kubeadm already made it, and retained on
     * destroy (admin.conf depends on it).
     */
    clusterAdmins?: boolean;
    /** ClusterRoleBindings `<namePrefix><clusterRole>:<group>` for extra users' groups. */
    groupBindings?: GroupBinding[];
}

export interface KubernetesSecretsArgs {
    /** kubeconfig contents (YAML) of the target cluster; pass a secret (e.g. pki.kubeconfigs["admin.conf"]). */
    kubeconfig: pulumi.Input<string>;
    /** kubernetes.Provider clusterIdentifier; default `kube-pki-<component name>` (stable across cert rotations). */
    clusterIdentifier?: string;
    /** Namespace of the Secrets and the ConfigMap; default "kube-system". Must exist. */
    namespace?: string;
    /** Prefix of every object name; default "kube-pki-". */
    namePrefix?: string;
    /** Extra labels on every object (merged over app.kubernetes.io/managed-by=pulumi, part-of=kube-pki). */
    labels?: Record<string, string>;
    certificates: TlsSecretSpec[];
    trustBundle?: TrustBundleSpec;
    /** CA certificate + private key Secrets: only when explicitly needed (e.g. a cert-manager CA Issuer). */
    caKeys?: CaKeySecretSpec[];
    rbac?: RbacSpec;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function q(s: unknown): string {
    return JSON.stringify(s);
}

function labelKeyProblem(key: string): string | undefined {
    const slash = key.lastIndexOf("/");
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return "prefix must be a DNS-1123 subdomain";
    if (name.length > 63 || !LABEL_NAME.test(name)) return "name must be ≤ 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric";
    return undefined;
}

/** Problems with a kubeconfig's contents, or [] when it parses and names clusters and users. */
export function kubeconfigProblems(text: unknown): string[] {
    if (typeof text !== "string" || text.trim() === "") return ["kubeconfig: empty (pass the kubeconfig contents, e.g. pki.kubeconfigs[\"admin.conf\"])"];
    let doc: any;
    try {
        doc = parseYaml(text);
    } catch (e) {
        return [`kubeconfig: does not parse as YAML (${(e as Error).message.split("\n")[0]}) (pass the kubeconfig contents, not a path)`];
    }
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
        return ["kubeconfig: not a kubeconfig document (pass the kubeconfig contents, not a path)"];
    }
    const problems: string[] = [];
    const clusters = doc.clusters;
    if (!Array.isArray(clusters) || clusters.length === 0) {
        problems.push("kubeconfig: has no clusters (need clusters[].cluster.server)");
    } else if (!clusters.every((c: any) => typeof c?.cluster?.server === "string" && c.cluster.server !== "")) {
        problems.push("kubeconfig: a cluster has no server (clusters[].cluster.server)");
    }
    if (!Array.isArray(doc.users) || doc.users.length === 0) problems.push("kubeconfig: has no users (need users[].user credentials)");
    return problems;
}

/** Every problem with the (plain parts of the) args, as `field: what is wrong (fix)`. */
export function kubernetesSecretsArgsProblems(args: KubernetesSecretsArgs): string[] {
    const problems: string[] = [];
    if (args.kubeconfig === undefined || args.kubeconfig === null) {
        problems.push("kubeconfig: required (the kubeconfig contents of the target cluster)");
    } else if (typeof args.kubeconfig === "string") {
        problems.push(...kubeconfigProblems(args.kubeconfig));
    }
    const namespace = args.namespace ?? "kube-system";
    if (typeof namespace !== "string" || namespace.length > 63 || !DNS1123_LABEL.test(namespace)) {
        problems.push(`namespace: ${q(namespace)} is not a DNS-1123 label (lowercase alphanumerics and '-', ≤ 63 characters, e.g. kube-system)`);
    }
    const prefix = args.namePrefix ?? "kube-pki-";
    if (typeof prefix !== "string" || !/^([a-z0-9][-a-z0-9.]*)?$/.test(prefix)) {
        problems.push(`namePrefix: ${q(prefix)} must be lowercase alphanumerics, '-' or '.', starting alphanumeric (e.g. kube-pki-)`);
    }
    if (args.clusterIdentifier !== undefined && (typeof args.clusterIdentifier !== "string" || args.clusterIdentifier === "")) {
        problems.push("clusterIdentifier: must be a non-empty string (or leave it unset)");
    }
    for (const [k, v] of Object.entries(args.labels ?? {})) {
        const kp = labelKeyProblem(k);
        if (kp) problems.push(`labels[${q(k)}]: key ${kp}`);
        if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) {
            problems.push(`labels[${q(k)}]: value ${q(v)} must be ≤ 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric`);
        }
    }
    const secretNames = new Map<string, string>();
    const checkName = (field: string, name: unknown) => {
        if (typeof name !== "string" || name === "") {
            problems.push(`${field}: required`);
            return;
        }
        const full = `${typeof prefix === "string" ? prefix : ""}${name}`;
        if (full.length > 253 || !DNS1123_SUBDOMAIN.test(full)) {
            problems.push(`${field}: ${q(full)} is not a valid object name (DNS-1123 subdomain: lowercase alphanumerics, '-', '.')`);
        }
        const other = secretNames.get(full);
        if (other) problems.push(`${field}: Secret ${q(full)} is also named by ${other} (names must be unique)`);
        secretNames.set(full, field);
    };
    if (!Array.isArray(args.certificates)) {
        problems.push("certificates: required (a list of {name, certPem, keyPem, caPem}; may be empty)");
    } else {
        args.certificates.forEach((c, i) => {
            checkName(`certificates[${i}].name`, c?.name);
            for (const k of ["certPem", "keyPem", "caPem"] as const) {
                if (c?.[k] === undefined) problems.push(`certificates[${i}].${k}: required`);
            }
        });
    }
    (args.caKeys ?? []).forEach((c, i) => {
        checkName(`caKeys[${i}].name`, c?.name);
        for (const k of ["certPem", "keyPem"] as const) if (c?.[k] === undefined) problems.push(`caKeys[${i}].${k}: required`);
    });
    if (args.trustBundle) {
        const name = args.trustBundle.name ?? `${prefix}trust-bundle`;
        if (name === "kube-root-ca.crt") {
            problems.push("trustBundle.name: kube-root-ca.crt is owned by kube-controller-manager (choose another name, e.g. kube-pki-trust-bundle)");
        } else if (typeof name !== "string" || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
            problems.push(`trustBundle.name: ${q(name)} is not a valid ConfigMap name (DNS-1123 subdomain)`);
        }
        const keys = Object.keys(args.trustBundle.bundles ?? {});
        if (keys.length === 0) problems.push("trustBundle.bundles: empty (e.g. { \"ca.crt\": pki.trustBundles.ca })");
        for (const k of keys) {
            if (k.length > 253 || !CONFIGMAP_KEY.test(k)) problems.push(`trustBundle.bundles[${q(k)}]: not a valid ConfigMap key (alphanumerics, '-', '_', '.')`);
        }
    }
    const bindingKeys = new Map<string, number>();
    (args.rbac?.groupBindings ?? []).forEach((b, i) => {
        const key = `${slug(String(b?.clusterRole))}-${slug(String(b?.group))}`;
        if (bindingKeys.has(key)) problems.push(`rbac.groupBindings[${i}]: same binding as rbac.groupBindings[${bindingKeys.get(key)}]`);
        bindingKeys.set(key, i);
        for (const k of ["group", "clusterRole"] as const) {
            const v = b?.[k];
            if (typeof v !== "string" || v === "") problems.push(`rbac.groupBindings[${i}].${k}: required`);
            else if (/[/%]/.test(v) || v === "." || v === "..") problems.push(`rbac.groupBindings[${i}].${k}: ${q(v)} may not contain '/' or '%'`);
        }
        if (b?.group === "system:masters") {
            problems.push(`rbac.groupBindings[${i}].group: system:masters bypasses RBAC already; binding it is meaningless`);
        }
    });
    return problems;
}

/**
 * The kubeconfig as a secret Output that fails with a ConfigError naming `kubeconfig` when it resolves to
 * something that is not a kubeconfig (for Outputs, which cannot be checked at construction).
 */
export function validatedKubeconfig(kubeconfig: pulumi.Input<string>, context: string): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.output(kubeconfig).apply((text) => {
            const bad = kubeconfigProblems(text);
            if (bad.length > 0) throw new ConfigError(context, bad);
            return text;
        }),
    );
}

/** Pulumi resource-name fragment of a Kubernetes name (stable; ':' is fine in URNs but keep them readable). */
export function slug(s: string): string {
    return s.replace(/[^A-Za-z0-9._-]+/g, "-");
}

/**
 * Pushes certificates, trust bundles, requested CA keys and RBAC bindings to a cluster
 * (`kube-pki:index:KubernetesSecrets`). Bad args throw a ConfigError before any resource is registered; an
 * Output kubeconfig is validated when it resolves (the provider then fails with the same message).
 */
export class KubernetesSecrets extends pulumi.ComponentResource {
    public readonly provider: kubernetes.Provider;
    public readonly namespace: string;
    /** TLS Secrets by certificate name. */
    public readonly secrets: Record<string, kubernetes.core.v1.Secret> = {};
    /** CA key Secrets by name (only those requested). */
    public readonly caKeySecrets: Record<string, kubernetes.core.v1.Secret> = {};
    public readonly trustBundle?: kubernetes.core.v1.ConfigMap;
    public readonly clusterAdminsBinding?: kubernetes.rbac.v1.ClusterRoleBindingPatch;
    public readonly groupBindings: Record<string, kubernetes.rbac.v1.ClusterRoleBinding> = {};
    /** Object names, for outputs: Secrets, the ConfigMap and the bindings. */
    public readonly names: { secrets: string[]; caKeySecrets: string[]; trustBundle?: string; clusterRoleBindings: string[] };

    constructor(name: string, args: KubernetesSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = kubernetesSecretsArgsProblems(args);
        if (problems.length > 0) throw new ConfigError(`KubernetesSecrets "${name}" args`, problems);
        super("kube-pki:index:KubernetesSecrets", name, {}, opts);
        const namespace = (this.namespace = args.namespace ?? "kube-system");
        const prefix = args.namePrefix ?? "kube-pki-";
        const labels = { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "kube-pki", ...(args.labels ?? {}) };
        // The provider deletes with foreground propagation by default: the object then waits for the garbage
        // collector (kube-controller-manager) to clear the foregroundDeletion finalizer, and a destroy hangs while
        // the controller-manager is down, e.g. during bootstrap (seen live in npm run e2e). These objects own
        // nothing, so background deletion removes them at once with the same result.
        const annotations = { "pulumi.com/deletionPropagationPolicy": "background" };
        const kubeconfig = validatedKubeconfig(args.kubeconfig, `KubernetesSecrets "${name}" args`);
        this.provider = new kubernetes.Provider(
            `${name}-k8s`,
            {
                kubeconfig,
                clusterIdentifier: args.clusterIdentifier ?? `kube-pki-${name}`,
                enableSecretMutable: true,
                enableConfigMapMutable: true,
            },
            { parent: this },
        );
        const child = { parent: this, provider: this.provider };
        const names = { secrets: [] as string[], caKeySecrets: [] as string[], trustBundle: undefined as string | undefined, clusterRoleBindings: [] as string[] };

        for (const c of args.certificates) {
            const secretName = `${prefix}${c.name}`;
            const data = pulumi.secret(
                pulumi.all([c.certPem, c.keyPem, c.caPem]).apply(([crt, key, ca]) => ({ "tls.crt": b64(crt), "tls.key": b64(key), "ca.crt": b64(ca) })),
            );
            this.secrets[c.name] = new kubernetes.core.v1.Secret(
                `${name}-tls-${slug(c.name)}`,
                { metadata: { name: secretName, namespace, labels: { ...labels, "kube-pki.io/kind": "certificate" }, annotations }, type: "kubernetes.io/tls", data },
                child,
            );
            names.secrets.push(secretName);
        }
        for (const c of args.caKeys ?? []) {
            const secretName = `${prefix}${c.name}`;
            const data = pulumi.secret(pulumi.all([c.certPem, c.keyPem]).apply(([crt, key]) => ({ "tls.crt": b64(crt), "tls.key": b64(key) })));
            this.caKeySecrets[c.name] = new kubernetes.core.v1.Secret(
                `${name}-ca-key-${slug(c.name)}`,
                { metadata: { name: secretName, namespace, labels: { ...labels, "kube-pki.io/kind": "ca-key" }, annotations }, type: "kubernetes.io/tls", data },
                child,
            );
            names.caKeySecrets.push(secretName);
        }
        if (args.trustBundle) {
            const cmName = args.trustBundle.name ?? `${prefix}trust-bundle`;
            this.trustBundle = new kubernetes.core.v1.ConfigMap(
                `${name}-trust-bundle`,
                { metadata: { name: cmName, namespace, labels: { ...labels, "kube-pki.io/kind": "trust-bundle" }, annotations }, data: pulumi.all(args.trustBundle.bundles) },
                child,
            );
            names.trustBundle = cmName;
        }
        if (args.rbac?.clusterAdmins) {
            // kubeadm (phases/kubeconfig EnsureAdminClusterRoleBinding): the binding admin.conf's group relies on.
            this.clusterAdminsBinding = new kubernetes.rbac.v1.ClusterRoleBindingPatch(
                `${name}-cluster-admins`,
                {
                    metadata: { name: "kubeadm:cluster-admins" },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
                    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "kubeadm:cluster-admins" }],
                },
                { ...child, retainOnDelete: true },
            );
            names.clusterRoleBindings.push("kubeadm:cluster-admins");
        }
        for (const b of args.rbac?.groupBindings ?? []) {
            const crbName = `${prefix}${b.clusterRole}:${b.group}`;
            this.groupBindings[`${b.clusterRole}:${b.group}`] = new kubernetes.rbac.v1.ClusterRoleBinding(
                `${name}-crb-${slug(b.clusterRole)}-${slug(b.group)}`,
                {
                    metadata: { name: crbName, labels, annotations },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: b.clusterRole },
                    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: b.group }],
                },
                child,
            );
            names.clusterRoleBindings.push(crbName);
        }
        this.names = names;
        this.registerOutputs({ namespace, names });
    }
}
