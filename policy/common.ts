/**
 * What every policy of the pack shares: the thresholds (config), the resource types, and raw property access that
 * skips values not known during a preview (see policies.ts).
 */
import type { PolicyResource, ResourceValidationPolicy } from "@pulumi/policy";

// ---------------------------------------------------------------------------------------------------------------
// Config: thresholds with kubeadm-like defaults (docs/policy.md lists them).

export interface PkiPolicyConfig {
    /** Smallest RSA key (bits). kubeadm: RSA-2048. */
    minRsaBits: number;
    /** Smallest ECDSA curve (bits). kubeadm: ECDSA-P256; P-224 is the tls provider's default curve. */
    minEcdsaBits: number;
    /** Longest leaf certificate (hours). kubeadm: 8760 h = 1 year (CertificateValidityPeriod). */
    leafMaxHours: number;
    /** Longest CA certificate (hours). kubeadm: 87600 h = 10 years (CACertificateValidityPeriod). */
    caMaxHours: number;
    /** Resource names (glob, `*` = any text) allowed to carry O=system:masters; a match on an ancestor counts. */
    systemMastersAllowList: string[];
    /** Kubernetes Secrets (resource name or metadata `namespace/name`, glob) allowed to hold a CA private key. */
    caKeySecretAllowList: string[];
    /** Longest time a kube-pki CA rotation may stay in phase "stage" (hours). */
    maxStagedHours: number;
}

export const DEFAULTS: PkiPolicyConfig = {
    minRsaBits: 2048,
    minEcdsaBits: 256,
    leafMaxHours: 8760,
    caMaxHours: 87600,
    systemMastersAllowList: ["*super-admin.conf*"],
    caKeySecretAllowList: [],
    maxStagedHours: 720,
};

/** The annotation that opts one Kubernetes Secret into holding a CA private key. */
export const CA_KEY_OPT_IN_ANNOTATION = "policy.kube-pki.io/allow-ca-key";

const CONFIG_SCHEMA: Record<keyof PkiPolicyConfig, { type: "integer" | "array"; minimum?: number; items?: { type: "string" }; default: unknown }> = {
    minRsaBits: { type: "integer", minimum: 1024, default: DEFAULTS.minRsaBits },
    minEcdsaBits: { type: "integer", minimum: 224, default: DEFAULTS.minEcdsaBits },
    leafMaxHours: { type: "integer", minimum: 1, default: DEFAULTS.leafMaxHours },
    caMaxHours: { type: "integer", minimum: 1, default: DEFAULTS.caMaxHours },
    systemMastersAllowList: { type: "array", items: { type: "string" }, default: DEFAULTS.systemMastersAllowList },
    caKeySecretAllowList: { type: "array", items: { type: "string" }, default: DEFAULTS.caKeySecretAllowList },
    maxStagedHours: { type: "integer", minimum: 1, default: DEFAULTS.maxStagedHours },
};

export function schema(...keys: (keyof PkiPolicyConfig)[]) {
    return { properties: Object.fromEntries(keys.map((k) => [k, CONFIG_SCHEMA[k]])) } as ResourceValidationPolicy["configSchema"];
}

export function config(args: { getConfig<T extends object>(): T }): PkiPolicyConfig {
    return { ...DEFAULTS, ...(args.getConfig<Partial<PkiPolicyConfig>>() ?? {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// Resource types and raw property access.

export const T = {
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    locallySigned: "tls:index/locallySignedCert:LocallySignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    vaultRoot: "vault:pkiSecret/secretBackendRootCert:SecretBackendRootCert",
    vaultIntermediateCsr: "vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest",
    vaultSignIntermediate: "vault:pkiSecret/secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate",
    vaultKey: "vault:pkiSecret/secretBackendKey:SecretBackendKey",
    vaultRole: "vault:pkiSecret/secretBackendRole:SecretBackendRole",
    vaultCert: "vault:pkiSecret/secretBackendCert:SecretBackendCert",
    vaultSign: "vault:pkiSecret/secretBackendSign:SecretBackendSign",
    k8sSecret: "kubernetes:core/v1:Secret",
    clusterPki: "kube-pki:index:ClusterPki",
    stack: "pulumi:pulumi:Stack",
} as const;

export const TLS_CERTS: string[] = [T.selfSigned, T.locallySigned];

/** The engine's sentinels for values not known during a preview, as @pulumi/policy's deserializer leaves them. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sentinels = require("@pulumi/policy/proxy") as Record<string, unknown>;
const UNKNOWNS = new Set(Object.entries(sentinels).filter(([k, v]) => /^unknown[A-Z]\w*Value$/.test(k) && typeof v === "string").map(([, v]) => v));
if (UNKNOWNS.size !== 7) throw new Error(`kube-pki policy pack: expected 7 unknown-value sentinels in @pulumi/policy/proxy, found ${UNKNOWNS.size}`);

export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && UNKNOWNS.has(v);
}

/** Known value or undefined. */
export function known<V>(v: V): V | undefined {
    return isUnknown(v) ? undefined : v;
}

/** The deserialized properties under @pulumi/policy's unknown-checking proxy (or the object itself, in tests). */
export function raw(props: Record<string, any>): Record<string, any> {
    return (props as any)?.["__getSpecialProxyTarget"] ?? props ?? {};
}

/** The name of the property under which secret-markers.ts records the paths of secret values. */
export const SECRET_PATHS = "__kubePkiSecretPaths";

export function strings(v: unknown): string[] | undefined {
    if (isUnknown(v)) return undefined;
    return Array.isArray(v) ? v.filter((x) => typeof x === "string" && !isUnknown(x)) : [];
}

export function hasUnknown(v: unknown): boolean {
    return isUnknown(v) || (Array.isArray(v) && v.some(isUnknown));
}

/** A glob (`*` = any text) match. */
export function globMatch(pattern: string, text: string): boolean {
    const re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return re.test(text);
}

/** The names of a resource and of its ancestors (a stack policy sees the parent chain). */
export function lineageNames(r: PolicyResource): string[] {
    const names: string[] = [];
    for (let p: PolicyResource | undefined = r; p; p = p.parent) names.push(p.name);
    return names;
}

/** Vault durations: seconds ("86400") or Go/Vault durations ("8760h", "30d", "1h30m"). Undefined when not a duration. */
export function vaultDurationHours(v: unknown): number | undefined {
    if (v === undefined || v === null || v === "" || isUnknown(v)) return undefined;
    if (typeof v === "number") return v / 3600;
    const s = String(v).trim();
    if (/^\d+$/.test(s)) return Number(s) / 3600;
    const units: Record<string, number> = { d: 24, h: 1, m: 1 / 60, s: 1 / 3600 };
    let hours = 0;
    let rest = s;
    while (rest) {
        const m = /^(\d+(?:\.\d+)?)(d|h|m|s)/.exec(rest);
        if (!m) return undefined;
        hours += Number(m[1]) * units[m[2]];
        rest = rest.slice(m[0].length);
    }
    return hours;
}

export const fmtHours = (h: number) => `${Math.round(h * 100) / 100}h`;
