/**
 * kube-pki's CrossGuard policies: PKI hygiene for @pulumi/tls, kube-pki's components, @pulumi/vault PKI resources,
 * Kubernetes Secrets and stack outputs. index.ts wraps them in a PolicyPack; test/policy.spec.ts runs them directly.
 *
 * Every policy reads the resources' raw properties (see `raw`): during a preview, values that are not known yet
 * (a certificate's validityEndTime, a key's PEM) are skipped one by one instead of turning the whole policy into an
 * "can't run during preview" advisory, as @pulumi/policy does when a policy touches an unknown value.
 */
import type {
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

// ---------------------------------------------------------------------------------------------------------------
// Config: thresholds with kubeadm-like defaults (README "Policy pack" lists them).

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

function schema(...keys: (keyof PkiPolicyConfig)[]) {
    return { properties: Object.fromEntries(keys.map((k) => [k, CONFIG_SCHEMA[k]])) } as ResourceValidationPolicy["configSchema"];
}

function config(args: { getConfig<T extends object>(): T }): PkiPolicyConfig {
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

const TLS_CERTS: string[] = [T.selfSigned, T.locallySigned];

/** The engine's sentinels for values not known during a preview, as @pulumi/policy's deserializer leaves them. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sentinels = require("@pulumi/policy/proxy") as Record<string, unknown>;
const UNKNOWNS = new Set(Object.entries(sentinels).filter(([k, v]) => /^unknown[A-Z]\w*Value$/.test(k) && typeof v === "string").map(([, v]) => v));
if (UNKNOWNS.size !== 7) throw new Error(`kube-pki policy pack: expected 7 unknown-value sentinels in @pulumi/policy/proxy, found ${UNKNOWNS.size}`);

export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && UNKNOWNS.has(v);
}

/** Known value or undefined. */
function known<V>(v: V): V | undefined {
    return isUnknown(v) ? undefined : v;
}

/** The deserialized properties under @pulumi/policy's unknown-checking proxy (or the object itself, in tests). */
export function raw(props: Record<string, any>): Record<string, any> {
    return (props as any)?.["__getSpecialProxyTarget"] ?? props ?? {};
}

/** The name of the property under which secret-markers.ts records the paths of secret values. */
export const SECRET_PATHS = "__kubePkiSecretPaths";

function strings(v: unknown): string[] | undefined {
    if (isUnknown(v)) return undefined;
    return Array.isArray(v) ? v.filter((x) => typeof x === "string" && !isUnknown(x)) : [];
}

function hasUnknown(v: unknown): boolean {
    return isUnknown(v) || (Array.isArray(v) && v.some(isUnknown));
}

/** A glob (`*` = any text) match. */
export function globMatch(pattern: string, text: string): boolean {
    const re = new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return re.test(text);
}

/** The names of a resource and of its ancestors (a stack policy sees the parent chain). */
function lineageNames(r: PolicyResource): string[] {
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

const fmtHours = (h: number) => `${Math.round(h * 100) / 100}h`;

// ---------------------------------------------------------------------------------------------------------------
// Key strength

const CURVE_BITS: Record<string, number> = { P224: 224, P256: 256, P384: 384, P521: 521 };

/** Problems of one resource's key (tls PrivateKey, Vault keys and roles), or []. */
function keyStrengthProblems(type: string, p: Record<string, any>, cfg: PkiPolicyConfig): string[] {
    if (type === T.privateKey) {
        const algorithm = known(p.algorithm);
        if (algorithm === "RSA") {
            const bits = known(p.rsaBits) ?? 2048; // the tls provider's default
            return bits < cfg.minRsaBits ? [`RSA key of ${bits} bits; use rsaBits >= ${cfg.minRsaBits} (kubeadm: RSA-2048)`] : [];
        }
        if (algorithm === "ECDSA") {
            if (isUnknown(p.ecdsaCurve)) return [];
            const curve = known(p.ecdsaCurve) ?? "P224"; // the tls provider's default curve
            const bits = CURVE_BITS[curve] ?? 0;
            const dflt = p.ecdsaCurve === undefined ? " (the tls provider's default when ecdsaCurve is not set)" : "";
            return bits < cfg.minEcdsaBits ? [`ECDSA key on curve ${curve}${dflt}; set ecdsaCurve: "P256" or stronger (kubeadm: ECDSA-P256)`] : [];
        }
        return [];
    }
    if ([T.vaultRoot, T.vaultIntermediateCsr, T.vaultKey, T.vaultRole].includes(type as any)) {
        if (type === T.vaultRoot && (known(p.type) === "existing" || p.keyRef)) return []; // an existing key: judged where it was made
        const keyType = String(known(p.keyType) ?? "rsa");
        const bits = Number(known(p.keyBits) ?? 0);
        if (keyType === "rsa" && bits !== 0 && bits < cfg.minRsaBits) return [`Vault key_type rsa with key_bits ${bits}; use key_bits >= ${cfg.minRsaBits}`];
        if (keyType === "ec" && bits !== 0 && bits < cfg.minEcdsaBits) return [`Vault key_type ec with key_bits ${bits}; use key_bits >= ${cfg.minEcdsaBits} (P-256)`];
        return [];
    }
    return [];
}

export const keyStrength: ResourceValidationPolicy = {
    name: "pki-key-strength",
    description: "Private keys: RSA of at least 2048 bits, ECDSA on P-256 or stronger (tls PrivateKey, Vault PKI keys and roles).",
    enforcementLevel: "mandatory",
    configSchema: schema("minRsaBits", "minEcdsaBits"),
    validateResource: (args, report) => {
        for (const m of keyStrengthProblems(args.type, raw(args.props), config(args))) report(m);
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Lifetimes

/** A certificate's kind and validity in hours as declared by its resource, when the resource is a certificate. */
function certLifetime(type: string, p: Record<string, any>): { isCa: boolean; hours?: number; field: string } | undefined {
    if (TLS_CERTS.includes(type)) {
        const isCa = known(p.isCaCertificate) === true;
        const h = known(p.validityPeriodHours);
        return { isCa, hours: typeof h === "number" ? h : undefined, field: "validityPeriodHours" };
    }
    if (type === T.vaultRoot || type === T.vaultSignIntermediate) return { isCa: true, hours: vaultDurationHours(p.ttl), field: "ttl" };
    if (type === T.vaultCert || type === T.vaultSign) return { isCa: false, hours: vaultDurationHours(p.ttl), field: "ttl" };
    if (type === T.vaultRole) {
        const hours = Math.max(vaultDurationHours(p.maxTtl) ?? 0, vaultDurationHours(p.ttl) ?? 0);
        return { isCa: false, hours: hours || undefined, field: "maxTtl/ttl" };
    }
    return undefined;
}

/** A maximum-lifetime policy for leaves or for CAs: the same check with its own threshold and advice. */
function maxLifetime(name: string, description: string, kind: "leaf" | "CA", key: "leafMaxHours" | "caMaxHours", advice: string): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        configSchema: schema(key),
        validateResource: (args, report) => {
            const life = certLifetime(args.type, raw(args.props));
            const max = config(args)[key];
            if (life && life.isCa === (kind === "CA") && life.hours !== undefined && life.hours > max) {
                report(`${kind} certificate valid for ${fmtHours(life.hours)} (${life.field}); the maximum is ${max}h${advice}`);
            }
        },
    };
}

export const leafMaxLifetime = maxLifetime(
    "pki-leaf-max-lifetime",
    "Leaf certificates live at most leafMaxHours (default 8760h, kubeadm's 1 year).",
    "leaf",
    "leafMaxHours",
    ": shorten it and renew instead",
);

export const caMaxLifetime = maxLifetime("pki-ca-max-lifetime", "CA certificates live at most caMaxHours (default 87600h, kubeadm's 10 years).", "CA", "caMaxHours", "");

/** notAfter (ms) of a tls certificate: its validityEndTime when known, else now + validityPeriodHours. */
function tlsNotAfter(p: Record<string, any>, nowMs: number): number | undefined {
    const end = known(p.validityEndTime);
    if (typeof end === "string" && end && !Number.isNaN(Date.parse(end))) return Date.parse(end);
    const h = known(p.validityPeriodHours);
    return typeof h === "number" ? nowMs + h * 3_600_000 : undefined;
}

/** The tls CA certificate resource a LocallySignedCert's caCertPem comes from, when the stack holds it. */
function issuingCa(leaf: PolicyResource): PolicyResource | undefined {
    return (leaf.propertyDependencies?.caCertPem ?? []).find((d) => TLS_CERTS.includes(d.type));
}

export const leafOutlivesCa: StackValidationPolicy = {
    name: "pki-leaf-outlives-ca",
    description: "A tls LocallySignedCert must not outlive the CA certificate that signs it (when both are in the stack).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const now = Date.now();
        for (const leaf of args.resources.filter((r) => r.type === T.locallySigned)) {
            const ca = issuingCa(leaf);
            if (!ca) continue;
            const leafEnd = tlsNotAfter(raw(leaf.props), now);
            const caEnd = tlsNotAfter(raw(ca.props), now);
            if (leafEnd === undefined || caEnd === undefined) continue;
            if (leafEnd > caEnd) {
                report(
                    `${leaf.name} would expire ${new Date(leafEnd).toISOString()}, after its CA ${ca.name} (${new Date(caEnd).toISOString()}); ` +
                        `shorten the leaf's validityPeriodHours or renew the CA first`,
                    leaf.urn,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Identities

const SYSTEM_MASTERS = "system:masters";

function organizations(subject: unknown): string[] {
    const s = known(subject) as Record<string, any> | undefined;
    if (!s || typeof s !== "object") return [];
    const o = known(s.organization);
    return Array.isArray(o) ? o.filter((x) => typeof x === "string") : typeof o === "string" ? [o] : [];
}

function allowedUses(p: Record<string, any>): string[] | undefined {
    return strings(p.allowedUses);
}

export const systemMasters: StackValidationPolicy = {
    name: "pki-system-masters",
    description: "No client certificate with O=system:masters (it bypasses RBAC) except the allow-list (kube-pki's super-admin.conf).",
    enforcementLevel: "mandatory",
    configSchema: schema("systemMastersAllowList"),
    validateStack: (args, report) => {
        const allow = config(args).systemMastersAllowList;
        const allowed = (r: PolicyResource) => lineageNames(r).some((n) => allow.some((g) => globMatch(g, n)));
        const flag = (r: PolicyResource, what: string) => {
            if (allowed(r)) return;
            report(`${r.name}: ${what} with O=${SYSTEM_MASTERS} (cluster-admin that RBAC cannot revoke); bind a group with a ClusterRoleBinding instead, or add the name to systemMastersAllowList`, r.urn);
        };
        for (const r of args.resources) {
            const p = raw(r.props);
            if (r.type === T.selfSigned && organizations(p.subject).includes(SYSTEM_MASTERS) && (allowedUses(p) ?? []).includes("client_auth")) {
                flag(r, "self-signed client certificate");
            }
            if (r.type === T.locallySigned) {
                const uses = allowedUses(p);
                if (uses && !uses.includes("client_auth")) continue;
                const csr = (r.propertyDependencies?.certRequestPem ?? []).find((d) => d.type === T.certRequest);
                if (csr && organizations(raw(csr.props).subject).includes(SYSTEM_MASTERS) && !allowed(csr)) flag(r, "client certificate");
            }
            if (r.type === T.vaultRole && (strings(p.organizations) ?? []).includes(SYSTEM_MASTERS) && known(p.clientFlag) !== false) {
                flag(r, "Vault role issuing client certificates");
            }
        }
    },
};

export const caCertSigning: ResourceValidationPolicy = {
    name: "pki-ca-cert-signing",
    description: "A CA certificate carries the cert_signing key usage (else nothing it signs verifies).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = raw(args.props);
        if (TLS_CERTS.includes(args.type) && known(p.isCaCertificate) === true) {
            const uses = allowedUses(p);
            if (uses && !uses.includes("cert_signing")) report(`CA certificate without "cert_signing" in allowedUses (${uses.join(", ") || "none"}); add it (kubeadm CAs: digital_signature, key_encipherment, cert_signing)`);
        }
        if (args.type === T.vaultRoot || args.type === T.vaultSignIntermediate) {
            const uses = strings(p.keyUsages);
            if (uses && uses.length && !uses.some((u) => /^certsign$/i.test(u))) report(`Vault CA keyUsages (${uses.join(", ")}) lack CertSign`);
        }
    },
};

export const leafCertSigning: ResourceValidationPolicy = {
    name: "pki-leaf-cert-signing",
    description: "A leaf (non-CA) certificate does not carry the cert_signing key usage.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = raw(args.props);
        if (TLS_CERTS.includes(args.type) && known(p.isCaCertificate) !== true && !isUnknown(p.isCaCertificate)) {
            if ((allowedUses(p) ?? []).includes("cert_signing")) report(`leaf certificate with "cert_signing" in allowedUses; remove it, or make it a CA (isCaCertificate: true) on purpose`);
        }
        if (args.type === T.vaultRole && (strings(p.keyUsages) ?? []).some((u) => /^certsign$/i.test(u))) {
            report(`Vault role issues leaves with the CertSign key usage; remove it from keyUsages`);
        }
    },
};

function sans(p: Record<string, any>): { count: number; unknown: boolean } {
    const fields = [p.dnsNames, p.ipAddresses, p.uris];
    return { count: fields.reduce((n, f) => n + (strings(f)?.length ?? 0), 0), unknown: fields.some(hasUnknown) };
}

export const serverCertSans: StackValidationPolicy = {
    name: "pki-server-cert-sans",
    description: "A server certificate (server_auth) names its hosts in SANs (clients ignore the CN since Go 1.15).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const r of args.resources) {
            if (!TLS_CERTS.includes(r.type)) continue;
            const p = raw(r.props);
            if (!(allowedUses(p) ?? []).includes("server_auth")) continue;
            let source: Record<string, any> = p;
            if (r.type === T.locallySigned) {
                const csr = (r.propertyDependencies?.certRequestPem ?? []).find((d) => d.type === T.certRequest);
                if (!csr) continue; // a CSR made elsewhere: its SANs are not visible
                source = raw(csr.props);
            }
            const s = sans(source);
            if (s.count === 0 && !s.unknown) report(`${r.name}: server certificate (server_auth) without SANs; set dnsNames/ipAddresses${r.type === T.locallySigned ? " on its CertRequest" : ""}`, r.urn);
        }
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Renewal

export const earlyRenewal: ResourceValidationPolicy = {
    name: "pki-early-renewal",
    description: "A certificate renews before it expires: earlyRenewalHours on tls certificates (kube-pki: renewBefore), autoRenew on Vault certificates.",
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
        const p = raw(args.props);
        if (TLS_CERTS.includes(args.type)) {
            const h = p.earlyRenewalHours;
            if (isUnknown(h)) return;
            if (!h) report(`no early renewal (earlyRenewalHours is ${h ?? "unset"}): the certificate is replaced only after it has expired; set earlyRenewalHours (kube-pki: leafRenewBefore / caRenewBefore)`);
        }
        if ((args.type === T.vaultCert || args.type === T.vaultSign) && known(p.autoRenew) !== true && !isUnknown(p.autoRenew)) {
            report(`Vault certificate without autoRenew: set autoRenew: true and minSecondsRemaining`);
        }
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Secrecy

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----|client-key-data:\s*[A-Za-z0-9+/=]{16}/;

/**
 * Paths of the plain (not secret) strings under `value` that hold private key material: a PEM private key, or a
 * kubeconfig's client-key-data. Values not known yet are skipped: the Node.js SDK sends an unknown Output as the bare
 * unknown sentinel, secret or not, so during a preview of new resources secrecy cannot be judged (README).
 */
export function plainKeyMaterial(value: unknown, secretPaths: Set<string>, path: string[] = []): string[] {
    if (path.length && secretPaths.has(path.join("."))) return [];
    if (isUnknown(value)) return [];
    if (typeof value === "string") return PEM_PRIVATE_KEY.test(value) ? [path.join(".")] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => plainKeyMaterial(v, secretPaths, [...path, String(i)]));
    if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => plainKeyMaterial(v, secretPaths, [...path, k]));
    return [];
}

export const plainKeyOutput: StackValidationPolicy = {
    name: "pki-plain-key-output",
    description: "No private key material in a plain (non-secret) stack output: wrap it in pulumi.secret().",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const stack = args.resources.find((r) => r.type === T.stack && !r.parent);
        if (!stack) return;
        const outputs = raw(stack.props);
        const recorded = (outputs as any)[SECRET_PATHS];
        if (!Array.isArray(recorded)) {
            report(`cannot tell secret from plain stack outputs: the pack's secret-marker hook is not installed (policy/index.ts)`, stack.urn);
            return;
        }
        const secretPaths = new Set<string>(recorded);
        for (const at of plainKeyMaterial(outputs, secretPaths)) {
            report(`stack output "${at}" holds a private key in plain text (stored unencrypted in the state and printed by \`pulumi stack output\`); export it with pulumi.secret()`, stack.urn);
        }
    },
};

/** tls PrivateKeys that sign: the caPrivateKeyPem of a LocallySignedCert, or the key of a self-signed CA. */
function caKeyUrns(resources: PolicyResource[]): Set<string> {
    const urns = new Set<string>();
    for (const r of resources) {
        if (r.type === T.locallySigned) for (const d of r.propertyDependencies?.caPrivateKeyPem ?? []) if (d.type === T.privateKey) urns.add(d.urn);
        if (r.type === T.selfSigned && known(raw(r.props).isCaCertificate) === true) {
            for (const d of r.propertyDependencies?.privateKeyPem ?? []) if (d.type === T.privateKey) urns.add(d.urn);
        }
    }
    return urns;
}

const CA_KEY_DATA_NAME = /(^|[-_./])ca[-_.]?key$|^ca\.key$/i;

export const caKeySecret: StackValidationPolicy = {
    name: "pki-ca-key-secret",
    description: `No CA private key in a Kubernetes Secret unless opted in (annotation ${CA_KEY_OPT_IN_ANNOTATION}: "true", or caKeySecretAllowList).`,
    enforcementLevel: "mandatory",
    configSchema: schema("caKeySecretAllowList"),
    validateStack: (args, report) => {
        const allow = config(args).caKeySecretAllowList;
        const caKeys = caKeyUrns(args.resources);
        for (const r of args.resources.filter((x) => x.type === T.k8sSecret)) {
            const p = raw(r.props);
            const meta = (known(p.metadata) ?? {}) as Record<string, any>;
            const annotations = (known(meta.annotations) ?? {}) as Record<string, any>;
            const labels = (known(meta.labels) ?? {}) as Record<string, any>;
            const ref = `${known(meta.namespace) ?? "default"}/${known(meta.name) ?? r.name}`;
            if (String(annotations[CA_KEY_OPT_IN_ANNOTATION]) === "true") continue;
            if (allow.some((g) => globMatch(g, r.name) || globMatch(g, ref))) continue;
            const reasons: string[] = [];
            if (labels["kube-pki.io/kind"] === "ca-key") reasons.push(`label kube-pki.io/kind=ca-key`);
            const dataNames = [p.data, p.stringData].flatMap((d) => (d && typeof d === "object" && !isUnknown(d) ? Object.keys(d) : []));
            const named = dataNames.filter((k) => CA_KEY_DATA_NAME.test(k));
            if (named.length) reasons.push(`data key ${named.join(", ")}`);
            const deps = [...(r.propertyDependencies?.data ?? []), ...(r.propertyDependencies?.stringData ?? [])];
            const signing = deps.filter((d) => caKeys.has(d.urn));
            if (signing.length) reasons.push(`data from the CA key ${signing.map((d) => d.name).join(", ")}`);
            if (reasons.length) {
                report(
                    `Secret ${ref} (${r.name}) holds a CA private key (${reasons.join("; ")}): anyone who can read Secrets in its namespace can mint any identity. ` +
                        `Keep CA keys out of the cluster, or opt in with the annotation ${CA_KEY_OPT_IN_ANNOTATION}: "true" or caKeySecretAllowList`,
                    r.urn,
                );
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------------------------
// kube-pki stacks: CA rotation left staged

export const caRotationStaged: StackValidationPolicy = {
    name: "pki-ca-rotation-staged",
    description: "A kube-pki CA rotation does not stay in phase \"stage\" (two CAs trusted, the new one unused) longer than maxStagedHours.",
    enforcementLevel: "advisory",
    configSchema: schema("maxStagedHours"),
    validateStack: (args, report) => {
        const max = config(args).maxStagedHours;
        for (const r of args.resources.filter((x) => x.type === T.clusterPki)) {
            const p = raw(r.props);
            const states = known(p.rotationState) as Record<string, { phase?: string; generation?: number }> | undefined;
            if (!states || typeof states !== "object") continue;
            const clock = known(known(p.nextRotation)?.clock);
            const nowMs = typeof clock === "string" && !Number.isNaN(Date.parse(clock)) ? Date.parse(clock) : Date.now();
            const inventory = known(p.inventory);
            for (const [ca, s] of Object.entries(states)) {
                if (known(s?.phase) !== "stage") continue;
                const staged = Array.isArray(inventory)
                    ? inventory.find((e: any) => e && e.isCa === true && e.id === ca && e.generation === (s.generation ?? 0) + 1)
                    : undefined;
                const since = known(staged?.notBefore);
                if (typeof since !== "string" || Number.isNaN(Date.parse(since))) continue; // staged in this run, or the SA key
                const hours = (nowMs - Date.parse(since)) / 3_600_000;
                if (hours > max) {
                    report(
                        `${r.name}: CA ${ca} has been staged since ${since} (${fmtHours(hours)}, more than ${max}h): ` +
                            `promote it (kube-pki:caRotation.${ca}: promote) or abort the rotation (none)`,
                        r.urn,
                    );
                }
            }
        }
    },
};

/** Every policy of the pack, in the order of README "Policy pack". */
export const POLICIES = [
    keyStrength,
    leafMaxLifetime,
    caMaxLifetime,
    leafOutlivesCa,
    systemMasters,
    caCertSigning,
    leafCertSigning,
    serverCertSans,
    earlyRenewal,
    plainKeyOutput,
    caKeySecret,
    caRotationStaged,
];

export type { EnforcementLevel, PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy };
