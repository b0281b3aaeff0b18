/**
 * Optional Vault intermediate (DESIGN §7): a cluster CA that lives in a Vault (or OpenBao) PKI secrets engine,
 * signed by our own root, with one Vault role per catalog kind and leaves issued by Vault.
 *
 *  - `VaultIntermediateCa`: PKI mount → CSR generated in Vault (`internal`: the key never leaves Vault;
 *    `exported`: Vault returns it once) → signed locally by the parent CA (tls.LocallySignedCert) → signed
 *    certificate + chain set back → default issuer and AIA/CRL URLs configured. Its outputs have the
 *    `CaMaterial` shape (certPem, keyPem, notBefore, notAfter).
 *  - `VaultRoles` / `vaultRolesFromCatalog`: one `SecretBackendRole` per catalog leaf kind of the CA, derived from
 *    the same table as local issuance (CN/O, key usages, EKU flags, key type, TTLs).
 *  - `VaultLeafCertificate`: a leaf issued by Vault (`SecretBackendCert`) with the outputs of `LeafCertificate`.
 *  - `vaultProviderFromConfig`, `validateVaultConfig`: connection and stack-config validation.
 *
 * Provider facts this file relies on (checked in terraform-provider-vault / Vault sources, see the report):
 *  - `name` is always set on roles and certs (the SDK would auto-name roles with a random suffix; on
 *    SecretBackendCert `name` is the ROLE name).
 *  - TTLs are sent as seconds strings: Vault reads role ttl/max_ttl back as seconds, a "8760h" would diff forever.
 *  - Roles set `notBeforeDuration: "0s"`: Vault refuses to issue when now − not_before_duration is before the
 *    issuer's NotBefore ("notBefore before signer's notBefore"); the default 30s breaks every leaf issued in the
 *    first 30 s of a fresh intermediate (our tls-signed intermediate starts "now"). Vault still backdates the
 *    issued certificate by 30 s.
 *  - `server_flag` / `client_flag` default to true in Vault and the provider: both are always set explicitly.
 *  - Leaf requests set `excludeCnFromSans`: otherwise Vault adds a hostname-like CN ("kube-apiserver",
 *    "kubernetes-admin") as a DNS SAN, which kubeadm's certificates do not carry.
 *  - A role's max_ttl caps a longer requested ttl silently (a Vault warning, not an error): VaultLeafCertificate
 *    warns when the issued validity is shorter than asked. A ttl beyond the issuer's NotAfter is an error.
 */
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as vault from "@pulumi/vault";
import { CaId, CAS, DEFAULT_LEAF_VALIDITY_HOURS, LEAF_KEY_USAGES, LeafEntry, LEAVES } from "./catalog";
import { ConfigError, parseHours } from "./validation/problems";

// ------------------------------------------------------------------------------------------ vocabulary

export const VAULT_KEY_MODES = ["internal", "exported"] as const;
/** `internal`: the CA key is generated in Vault and never leaves it; `exported`: Vault returns it once (secret). */
export type VaultKeyMode = (typeof VAULT_KEY_MODES)[number];

/** Vault role key usages (x509.KeyUsage names, matched case-insensitively by Vault) for the tls usage names. */
const VAULT_KEY_USAGE: Record<string, string> = {
    digital_signature: "DigitalSignature",
    key_encipherment: "KeyEncipherment",
    cert_signing: "CertSign",
};

/** Usages of the intermediate certificate our parent signs (kubeadm CA usages plus CRL signing for Vault's CRLs). */
export const VAULT_INTERMEDIATE_USAGES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"];

/** Vault's PKI key parameters for a kubeadm encryptionAlgorithm name (RSA-2048 → rsa/2048, ECDSA-P256 → ec/256). */
export function vaultKeyParams(algorithm: string, field = "keyAlgorithm"): { keyType: "rsa" | "ec"; keyBits: number } {
    const m = /^(RSA|ECDSA)-(?:P)?(\d+)$/.exec(algorithm ?? "");
    const bits = m ? Number(m[2]) : NaN;
    if (m && m[1] === "RSA" && [2048, 3072, 4096].includes(bits)) return { keyType: "rsa", keyBits: bits };
    if (m && m[1] === "ECDSA" && /^ECDSA-P/.test(algorithm) && [256, 384].includes(bits)) return { keyType: "ec", keyBits: bits };
    throw new ConfigError("Vault key algorithm", [
        `${field}: "${algorithm}" is not supported (one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384)`,
    ]);
}

const seconds = (hours: number) => String(Math.round(hours * 3600));

/** RFC 3339 at whole seconds, from an X.509 time as node prints it. */
function rfc3339(x509Time: string): string {
    return new Date(x509Time).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const normalizePem = (pem: string | undefined) => (pem ? pem.trim() + "\n" : "");

/** Vault mount paths: segments of letters, digits, '_', '-', '.', no leading/trailing '/'. */
const MOUNT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

function mountPathProblem(path: unknown): string | undefined {
    if (typeof path !== "string" || path === "") return "is required (e.g. \"pki-kubernetes\")";
    if (!MOUNT_PATH.test(path)) {
        return `"${path}" is not a Vault mount path (letters, digits, '_', '-', '.', '/'-separated; no leading or trailing '/')`;
    }
    if (/^(sys|auth|cubbyhole|identity)(\/|$)/.test(path)) return `"${path}" is reserved by Vault (pick e.g. "pki-${path}")`;
    return undefined;
}

/** Two mount paths conflict when equal or when one is nested under the other (Vault refuses both). */
function mountsConflict(a: string, b: string): boolean {
    return a === b || a.startsWith(b + "/") || b.startsWith(a + "/");
}

function providerOpts(parent: pulumi.Resource, provider?: vault.Provider): pulumi.CustomResourceOptions {
    return provider ? { parent, provider } : { parent };
}

// ------------------------------------------------------------------------------------------ the intermediate CA

export interface VaultIssuerUrls {
    /** AIA caIssuers URLs written into every certificate Vault issues (e.g. "https://vault:8200/v1/pki-k8s/ca"). */
    issuingCertificates?: string[];
    /** CRL distribution points (e.g. "https://vault:8200/v1/pki-k8s/crl"). */
    crlDistributionPoints?: string[];
    ocspServers?: string[];
}

export interface VaultIntermediateCaArgs {
    /** The catalog CA id this intermediate serves ("ca", "etcd-ca", "front-proxy-ca"): names the mount's purpose. */
    caId: string;
    /** The PKI mount path, e.g. "pki-kubernetes-dev". One mount per CA (roles and issuers are per mount). */
    mountPath: string;
    /** "internal" (key stays in Vault) or "exported" (key returned once, stored as a Pulumi secret). */
    keyMode: VaultKeyMode;
    /** The intermediate's subject CN (kubeadm: "kubernetes", "etcd-ca", "front-proxy-ca"). */
    commonName: string;
    /** kubeadm encryptionAlgorithm name: RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384. */
    keyAlgorithm: string;
    /** Validity of the intermediate certificate our parent signs. */
    validityHours: number;
    /** tls earlyRenewalHours: the parent re-signs the same Vault key this long before expiry. Default 0. */
    renewBeforeHours?: number;
    /** The signing parent (our root, a root stack's intermediate...). The key must be a Pulumi secret. */
    parentCertPem: pulumi.Input<string>;
    parentKeyPem: pulumi.Input<string>;
    /**
     * The parent's NotAfter (RFC 3339). A plain string is checked at construction: a validity outliving the
     * parent's remaining validity is refused with a ConfigError (pass it when a signing is planned). An Output
     * (a parent created in the same program) is checked when known and only warns: the program cannot tell whether
     * this run signs, and an unchanged intermediate must not fail later runs.
     */
    parentNotAfter?: pulumi.Input<string>;
    /** Extra certificates appended after the parent in the chain set into Vault (the parent's own chain). */
    parentChainPem?: pulumi.Input<string>;
    /** AIA / CRL URLs configured on the mount (`config/urls`). */
    issuerUrls?: VaultIssuerUrls;
    /** Mount lease TTLs; default: max = validityHours, default = min(8760h, validityHours). */
    maxLeaseTtlHours?: number;
    defaultLeaseTtlHours?: number;
    /**
     * The clock for the parent-validity check (ms since epoch); default Date.now(). Keep the real clock (the
     * signer's): not a what-if clock such as KUBE_PKI_NOW.
     */
    nowMs?: number;
    /** Changing this value generates a new key and CSR in Vault (CA rotation hook). */
    rotationToken?: pulumi.Input<string>;
    /** The Vault provider for the Vault resources (else the default provider / `opts.providers.vault`). */
    provider?: vault.Provider;
}

function intermediateArgProblems(args: VaultIntermediateCaArgs, nowMs: number): string[] {
    const problems: string[] = [];
    if (!args || typeof args !== "object") return ["(args): must be an object"];
    const add = (field: string, msg: string) => problems.push(`${field}: ${msg}`);
    const mp = mountPathProblem(args.mountPath);
    if (mp) add("mountPath", mp);
    if (!(VAULT_KEY_MODES as readonly string[]).includes(args.keyMode as string)) {
        add("keyMode", `"${args.keyMode}" is not one of internal, exported (internal keeps the CA key in Vault; exported returns it once)`);
    }
    if (typeof args.commonName !== "string" || args.commonName === "") add("commonName", "is required (e.g. \"kubernetes\")");
    try {
        vaultKeyParams(args.keyAlgorithm);
    } catch (e) {
        problems.push(...(e as ConfigError).problems);
    }
    if (!Number.isInteger(args.validityHours) || args.validityHours <= 0) add("validityHours", "must be a positive whole number of hours");
    if (args.renewBeforeHours !== undefined && (!Number.isInteger(args.renewBeforeHours) || args.renewBeforeHours < 0 || args.renewBeforeHours >= args.validityHours)) {
        add("renewBeforeHours", "must be a whole number of hours, ≥ 0 and shorter than validityHours");
    }
    if (typeof args.parentNotAfter === "string") {
        const p = parentValidityProblem(args.validityHours, args.parentNotAfter, nowMs);
        if (p) add("validityHours", p);
    }
    return problems;
}

/** Refuses an intermediate that would outlive its parent (the parent's remaining validity, not its total). */
export function parentValidityProblem(validityHours: number, parentNotAfter: string, nowMs: number): string | undefined {
    const end = Date.parse(parentNotAfter);
    if (Number.isNaN(end)) return `parent NotAfter "${parentNotAfter}" is not an RFC 3339 time`;
    const remaining = Math.floor((end - nowMs) / 3_600_000);
    if (validityHours > remaining) {
        return (
            `${validityHours}h outlives the parent CA, which expires ${new Date(end).toISOString()} ` +
            `(${Math.max(remaining, 0)}h left): shorten the validity to at most ${Math.max(remaining, 0)}h or renew the parent first`
        );
    }
    return undefined;
}

/**
 * A CA whose key lives in Vault's PKI engine, signed by a parent CA we hold (DESIGN §7).
 *
 * keyPem: with `keyMode: "exported"` the intermediate's private key (secret, PEM). With `"internal"` the key never
 * leaves Vault and `keyPem` is an Output of "" (secret): callers must check `exported` and must not write a
 * `ca.key` file. That is kubeadm's "external CA" mode: `pki/ca.crt` present without `ca.key`; kubeadm then signs
 * nothing itself (every leaf and kubeconfig must be provisioned, which kube-pki does) and kube-controller-manager's
 * CSR signer (`--cluster-signing-*`) has no key: kubelet serving/client certificate rotation through CSRs must be
 * served by another signer (or use `kubeletServingCerts` issued here).
 */
export class VaultIntermediateCa extends pulumi.ComponentResource {
    /** The intermediate certificate (PEM), signed by the parent. */
    public readonly certPem: pulumi.Output<string>;
    /** The intermediate followed by the parent (and the parent's chain): what was set into Vault. */
    public readonly chainPem: pulumi.Output<string>;
    /** Secret. The exported key (PEM), or "" when `exported` is false (internal key). */
    public readonly keyPem: pulumi.Output<string>;
    public readonly notBefore: pulumi.Output<string>;
    public readonly notAfter: pulumi.Output<string>;
    public readonly mountPath: pulumi.Output<string>;
    /** true for keyMode "exported": keyPem holds the key. */
    public readonly exported: boolean;
    /** The Vault issuer id of the intermediate (the mount's default issuer). */
    public readonly issuerId: pulumi.Output<string>;
    /** The CSR Vault generated. */
    public readonly csrPem: pulumi.Output<string>;

    constructor(name: string, args: VaultIntermediateCaArgs, opts?: pulumi.ComponentResourceOptions) {
        const nowMs = args?.nowMs ?? Date.now();
        const problems = intermediateArgProblems(args, nowMs);
        if (problems.length > 0) throw new ConfigError(`VaultIntermediateCa "${name}" args`, problems);
        super("kube-pki:index:VaultIntermediateCa", name, {}, opts);
        const vopts = providerOpts(this, args.provider);
        const { keyType, keyBits } = vaultKeyParams(args.keyAlgorithm);
        this.exported = args.keyMode === "exported";

        const maxLease = args.maxLeaseTtlHours ?? args.validityHours;
        const defaultLease = args.defaultLeaseTtlHours ?? Math.min(DEFAULT_LEAF_VALIDITY_HOURS, maxLease);
        const mount = new vault.Mount(
            `${name}-mount`,
            {
                path: args.mountPath,
                type: "pki",
                description: `kube-pki ${args.caId} intermediate CA (${args.commonName})`,
                defaultLeaseTtlSeconds: defaultLease * 3600,
                maxLeaseTtlSeconds: maxLease * 3600,
            },
            vopts,
        );
        const csr = new vault.pkisecret.SecretBackendIntermediateCertRequest(
            `${name}-csr`,
            {
                backend: mount.path,
                type: args.keyMode,
                commonName: args.commonName,
                keyType,
                keyBits,
                // the CN is not a SAN of a kubeadm CA
                excludeCnFromSans: true,
                format: "pem",
                privateKeyFormat: "der",
            },
            { ...vopts, replacementTrigger: args.rotationToken },
        );
        if (args.parentNotAfter !== undefined && typeof args.parentNotAfter !== "string") {
            // Known only at run time (e.g. a parent created in this stack): a warning, not an error, since the
            // program cannot tell whether this run signs: an unchanged intermediate must not fail later runs.
            pulumi.output(args.parentNotAfter).apply((notAfter) => {
                const p = notAfter ? parentValidityProblem(args.validityHours, notAfter, nowMs) : undefined;
                if (p) pulumi.log.warn(`${name}: validityHours: ${p} (an intermediate signed now would outlive its parent)`, this);
            });
        }
        // Our parent signs Vault's CSR locally: the parent key never reaches Vault.
        const cert = new tls.LocallySignedCert(
            `${name}-cert`,
            {
                certRequestPem: csr.csr,
                caCertPem: args.parentCertPem,
                caPrivateKeyPem: pulumi.secret(args.parentKeyPem),
                isCaCertificate: true,
                setSubjectKeyId: true,
                allowedUses: VAULT_INTERMEDIATE_USAGES,
                validityPeriodHours: args.validityHours,
                earlyRenewalHours: args.renewBeforeHours ?? 0,
            },
            { parent: this },
        );
        this.chainPem = pulumi
            .all([cert.certPem, args.parentCertPem, args.parentChainPem ?? ""])
            .apply(([c, p, rest]) => [c, p, rest].filter((x) => x && x.trim()).map((x) => x.trim() + "\n").join(""));
        const signed = new vault.pkisecret.SecretBackendIntermediateSetSigned(
            `${name}-signed`,
            { backend: mount.path, certificate: this.chainPem },
            vopts,
        );
        // The bundle is intermediate first: Vault imports issuers in bundle order, so [0] is the intermediate
        // (the parent, if new to the mount, is imported after it, without a key).
        this.issuerId = signed.importedIssuers.apply((ids) => {
            if (!ids || ids.length === 0) {
                throw new Error(`VaultIntermediateCa "${name}": Vault imported no new issuer from the signed certificate`);
            }
            return ids[0];
        });
        // Explicit default issuer: on a fresh mount Vault makes the first imported issuer the default; after a re-key it
        // would keep the old one.
        new vault.pkisecret.SecretBackendConfigIssuers(
            `${name}-issuers`,
            { backend: mount.path, default: this.issuerId, defaultFollowsLatestIssuer: false },
            vopts,
        );
        const urls = args.issuerUrls;
        if (urls && (urls.issuingCertificates?.length || urls.crlDistributionPoints?.length || urls.ocspServers?.length)) {
            // AIA / CRL DP written into every certificate Vault issues from this mount
            new vault.pkisecret.SecretBackendConfigUrls(
                `${name}-urls`,
                {
                    backend: mount.path,
                    issuingCertificates: urls.issuingCertificates,
                    crlDistributionPoints: urls.crlDistributionPoints,
                    ocspServers: urls.ocspServers,
                },
                vopts,
            );
        }
        this.mountPath = mount.path;
        this.csrPem = csr.csr;
        this.certPem = cert.certPem;
        this.keyPem = this.exported
            ? pulumi.secret(csr.privateKey.apply((k) => normalizePem(k)))
            : pulumi.secret(pulumi.output(""));
        this.notBefore = cert.validityStartTime;
        this.notAfter = cert.validityEndTime;
        this.registerOutputs({
            certPem: this.certPem,
            keyPem: this.keyPem,
            notAfter: this.notAfter,
            mountPath: this.mountPath,
            exported: this.exported,
            issuerId: this.issuerId,
        });
    }
}

// ------------------------------------------------------------------------------------------ roles

/** An extra user of the `user` catalog kind (one Vault role per group: the role fixes the O). */
export interface VaultRoleUser {
    name: string;
    group?: string;
    validityHours?: number;
}

export interface VaultRolesArgs {
    /** Roles are made for the catalog leaves whose `ca` is this id. */
    caId: string;
    mountPath: pulumi.Input<string>;
    /** Leaf key algorithm (kubeadm name): the role's key_type / key_bits (Vault generates leaf keys). */
    keyAlgorithm: string;
    /** Default leaf validity (role ttl). */
    validityHours: number;
    /** Role max_ttl; default validityHours (a longer request is capped by Vault, with a warning). */
    maxValidityHours?: number;
    /** Issuer the roles sign with (an issuer id); default "default" (the mount's default issuer). */
    issuerRef?: pulumi.Input<string>;
    /** Optional features (catalog `feature`) that are on; entries of a feature that is off get no role. Default: all on. */
    features?: Record<string, boolean>;
    /** Node names `{node}` stands for; without them `{node}` is the glob `*` (e.g. `system:node:*`). */
    nodeNames?: string[];
    /**
     * The exact DNS SANs a leaf kind may carry, by leaf id (e.g. apiserver: node names, kubernetes.default.svc...,
     * the endpoint host, extra SANs). Without it the apiserver role allows any DNS SAN (`*`).
     */
    allowedDnsSans?: Record<string, string[]>;
    /** Extra users: one role per group (`kube-pki-user-<group>`), allowing exactly these users' names as CN. */
    users?: VaultRoleUser[];
    /** Vault `no_store`: do not keep issued certificates in Vault storage (no revocation by serial then). */
    noStore?: boolean;
    provider?: vault.Provider;
}

/** A SecretBackendRole's arguments as plain data (what `VaultRoles` registers). */
export interface VaultRoleSpec {
    /** Key in `VaultRoles.roles`: the leaf id, or `user/<group>` (`user` for users without a group). */
    key: string;
    leafId: string;
    name: string;
    allowedDomains: string[];
    allowBareDomains: boolean;
    allowGlobDomains: boolean;
    allowSubdomains: boolean;
    allowAnyName: boolean;
    allowWildcardCertificates: boolean;
    allowLocalhost: boolean;
    enforceHostnames: boolean;
    allowIpSans: boolean;
    serverFlag: boolean;
    clientFlag: boolean;
    codeSigningFlag: boolean;
    emailProtectionFlag: boolean;
    keyUsages: string[];
    organizations: string[];
    keyType: string;
    keyBits: number;
    ttl: string;
    maxTtl: string;
    notBeforeDuration: string;
    noStore: boolean;
    requireCn: boolean;
}

/** A Vault role name for a catalog leaf id (and user group): `kube-pki-<id>[-<group>]`, [A-Za-z0-9_-] only. */
export function vaultRoleName(leafId: string, group?: string): string {
    const raw = `kube-pki-${leafId}${group ? `-${group}` : ""}`;
    return raw.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/-+/g, "-").replace(/-$/, "");
}

const HOSTNAME = /^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const unique = (xs: string[]) => [...new Set(xs)];

/**
 * One role spec per catalog leaf kind of `caId` (users: one per group). Pure: no resources.
 * CN patterns come from the CN template (`{node}` → the node names or `*`, `{user}` → the users' names); DNS SAN
 * patterns from the SAN set; O from the O template; server/client flags from the extended usages; key usages
 * DigitalSignature + KeyEncipherment (kubeadm leaves); hostname enforcement only when every allowed name is a
 * hostname (not for `system:...` names).
 */
export function vaultRolesFromCatalog(args: Omit<VaultRolesArgs, "mountPath" | "provider" | "issuerRef">): VaultRoleSpec[] {
    const { keyType, keyBits } = vaultKeyParams(args.keyAlgorithm);
    const nodes = args.nodeNames && args.nodeNames.length > 0 ? args.nodeNames : ["*"];
    const specs: VaultRoleSpec[] = [];
    const entries = LEAVES.filter((e) => e.ca === args.caId && (!e.feature || args.features?.[e.feature] !== false));

    const make = (
        entry: LeafEntry,
        key: string,
        cns: string[],
        organization: string | undefined,
        group: string | undefined,
        maxHours: number,
        ttlHours = Math.min(args.validityHours, maxHours),
    ): VaultRoleSpec => {
        let dns: string[] = [];
        if (entry.sans) {
            const explicit = args.allowedDnsSans?.[entry.id];
            if (explicit) dns = explicit;
            else if (entry.sans === "etcd") dns = [...nodes, "localhost"];
            else if (entry.sans === "kubelet-serving") dns = [...nodes];
            else dns = ["*"]; // apiserver: cluster-specific names unknown here
        }
        const allowed = unique([...cns, ...dns]);
        const hostnameLike = entry.commonName !== "{user}" && allowed.every((p) => HOSTNAME.test(p.replace(/\*/g, "x")));
        return {
            key,
            leafId: entry.id,
            name: vaultRoleName(entry.id, group),
            allowedDomains: allowed,
            allowBareDomains: true,
            allowGlobDomains: allowed.some((p) => p.includes("*")),
            allowSubdomains: false,
            allowAnyName: false,
            // only for explicit wildcard SANs such as apiServerExtraSans "*.example.com"
            allowWildcardCertificates: allowed.some((p) => p.startsWith("*.")),
            allowLocalhost: dns.includes("localhost"),
            enforceHostnames: hostnameLike,
            allowIpSans: !!entry.sans,
            serverFlag: entry.extendedUsages.includes("server_auth"),
            clientFlag: entry.extendedUsages.includes("client_auth"),
            codeSigningFlag: false,
            emailProtectionFlag: false,
            keyUsages: LEAF_KEY_USAGES.map((u) => VAULT_KEY_USAGE[u]),
            organizations: organization ? [organization] : [],
            keyType,
            keyBits,
            ttl: seconds(ttlHours),
            maxTtl: seconds(maxHours),
            notBeforeDuration: "0s",
            noStore: args.noStore ?? false,
            requireCn: true,
        };
    };

    const maxDefault = Math.max(args.maxValidityHours ?? args.validityHours, args.validityHours);
    for (const entry of entries) {
        if (entry.scope === "user") {
            const byGroup = new Map<string, VaultRoleUser[]>();
            for (const u of args.users ?? []) byGroup.set(u.group ?? "", [...(byGroup.get(u.group ?? "") ?? []), u]);
            for (const [group, users] of byGroup) {
                // the group's longest user validity: ttl and max_ttl (a user certificate asks for its own validity)
                const hours = Math.max(...users.map((u) => u.validityHours ?? args.validityHours));
                specs.push(make(entry, group ? `user/${group}` : "user", unique(users.map((u) => u.name)), group || undefined, group || undefined, hours, hours));
            }
            continue;
        }
        const cns = entry.commonName.includes("{node}") ? nodes.map((n) => entry.commonName.replace("{node}", n)) : [entry.commonName];
        specs.push(make(entry, entry.id, unique(cns), entry.organization, undefined, maxDefault));
    }
    const seen = new Map<string, string>();
    for (const s of specs) {
        const other = seen.get(s.name);
        if (other) throw new ConfigError("Vault roles", [`users: role name "${s.name}" is shared by ${other} and ${s.key} (rename a group)`]);
        seen.set(s.name, s.key);
    }
    return specs;
}

/** One Vault role per catalog leaf kind of a CA. `roleNames` are the names VaultLeafCertificate requests against. */
export class VaultRoles extends pulumi.ComponentResource {
    public readonly specs: VaultRoleSpec[];
    public readonly roles: Record<string, vault.pkisecret.SecretBackendRole> = {};
    /** By spec key (leaf id or `user/<group>`): the role name, as an Output that depends on the role. */
    public readonly roleNames: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: VaultRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        const specs = vaultRolesFromCatalog(args);
        super("kube-pki:index:VaultRoles", name, {}, opts);
        this.specs = specs;
        const vopts = providerOpts(this, args.provider);
        for (const spec of specs) {
            const { key, leafId, organizations, ...rest } = spec;
            void leafId;
            const role = new vault.pkisecret.SecretBackendRole(
                `${name}-${key.replace("/", "-")}`,
                {
                    backend: args.mountPath,
                    ...rest,
                    ...(organizations.length > 0 ? { organizations } : {}),
                    ...(args.issuerRef !== undefined ? { issuerRef: args.issuerRef } : {}),
                },
                vopts,
            );
            this.roles[key] = role;
            this.roleNames[key] = role.name;
        }
        this.registerOutputs({ roleNames: this.roleNames });
    }
}

// ------------------------------------------------------------------------------------------ leaves

export interface VaultLeafCertificateArgs {
    mountPath: pulumi.Input<string>;
    /** The role to issue against (VaultRoles.roleNames[...]); the role fixes O, key usages, EKU and key type. */
    roleName: pulumi.Input<string>;
    commonName: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    validityHours: number;
    /** Vault's min_seconds_remaining for autoRenew (see the class comment). */
    renewBeforeHours: number;
    /** Changing this value issues a new key and certificate (same rotation hook as LeafCertificate). */
    rotationToken?: pulumi.Input<string>;
    /** Revoke the certificate in Vault when it is replaced or destroyed (needs the role's noStore false). */
    revokeOnDestroy?: boolean;
    provider?: vault.Provider;
}

/**
 * A leaf certificate issued by Vault (`pki/issue/<role>`): Vault generates the key and signs with the mount's
 * issuer. Same outputs as LeafCertificate. Renewal: the rotation token (replacementTrigger) renews it exactly like
 * a local leaf. Vault's own `autoRenew` (set, with min_seconds_remaining = renewBefore) is only a safety net and
 * only acts after a refresh: the provider sets `renewPending` during a read, so it needs `pulumi up --refresh`
 * (or `pulumi refresh` first) to replace a certificate that entered its window.
 */
export class VaultLeafCertificate extends pulumi.ComponentResource {
    public readonly certPem: pulumi.Output<string>;
    /** The private key, always a Pulumi secret. */
    public readonly keyPem: pulumi.Output<string>;
    public readonly notBefore: pulumi.Output<string>;
    public readonly notAfter: pulumi.Output<string>;
    /** The issuing CA (the intermediate) and the chain Vault returned (intermediate first). */
    public readonly issuingCaPem: pulumi.Output<string>;
    public readonly caChainPem: pulumi.Output<string>;
    public readonly serialNumber: pulumi.Output<string>;

    constructor(name: string, args: VaultLeafCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems: string[] = [];
        if (typeof args?.commonName !== "string" || args.commonName === "") problems.push("commonName: is required");
        if (!Number.isInteger(args?.validityHours) || args.validityHours <= 0) problems.push("validityHours: must be a positive whole number of hours");
        if (!Number.isInteger(args?.renewBeforeHours) || args.renewBeforeHours < 0 || args.renewBeforeHours >= args.validityHours) {
            problems.push("renewBeforeHours: must be a whole number of hours, ≥ 0 and shorter than validityHours");
        }
        if (problems.length > 0) throw new ConfigError(`VaultLeafCertificate "${name}" args`, problems);
        super("kube-pki:index:VaultLeafCertificate", name, {}, opts);
        const cert = new vault.pkisecret.SecretBackendCert(
            `${name}-cert`,
            {
                backend: args.mountPath,
                name: args.roleName,
                commonName: args.commonName,
                altNames: args.dnsNames && args.dnsNames.length > 0 ? args.dnsNames : undefined,
                ipSans: args.ipAddresses && args.ipAddresses.length > 0 ? args.ipAddresses : undefined,
                excludeCnFromSans: true,
                ttl: seconds(args.validityHours),
                format: "pem",
                privateKeyFormat: "der",
                autoRenew: true,
                minSecondsRemaining: args.renewBeforeHours * 3600,
                revoke: args.revokeOnDestroy ?? false,
            },
            { ...providerOpts(this, args.provider), replacementTrigger: args.rotationToken },
        );
        this.certPem = cert.certificate.apply(normalizePem);
        this.keyPem = pulumi.secret(cert.privateKey.apply(normalizePem));
        this.issuingCaPem = cert.issuingCa.apply(normalizePem);
        this.caChainPem = cert.caChain.apply(normalizePem);
        this.serialNumber = cert.serialNumber;
        const parsed = this.certPem.apply((pem) => (pem ? new X509Certificate(pem) : undefined));
        this.notBefore = parsed.apply((c) => (c ? rfc3339(c.validFrom) : ""));
        this.notAfter = parsed.apply((c) => (c ? rfc3339(c.validTo) : ""));
        parsed.apply((c) => {
            if (!c) return;
            // Vault backdates NotBefore by 30 s; a role max_ttl / mount max lease shorter than asked caps silently.
            const hours = (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 3_600_000;
            if (hours < args.validityHours - 0.05) {
                pulumi.log.warn(
                    `${name}: Vault issued ${args.commonName} for ${hours.toFixed(2)}h instead of ${args.validityHours}h ` +
                        `(the role's max_ttl or the mount's max lease TTL is shorter): renewal is planned for ${args.validityHours}h, ` +
                        `raise the role's maxValidityHours`,
                    this,
                );
            }
        });
        this.registerOutputs({ certPem: this.certPem, keyPem: this.keyPem, notAfter: this.notAfter });
    }
}

// ------------------------------------------------------------------------------------------ connection

export interface VaultConnectionConfig {
    /** e.g. "https://vault.example:8200"; default $VAULT_ADDR. */
    address?: string;
    /** default $VAULT_TOKEN (else the provider's own lookup, e.g. ~/.vault-token). Always wrapped in pulumi.secret. */
    token?: pulumi.Input<string>;
    /** Vault Enterprise / OpenBao namespace; default $VAULT_NAMESPACE. */
    namespace?: string;
    /** CA bundle to verify Vault's TLS certificate; default $VAULT_CACERT. */
    caCertFile?: string;
}

export interface ResolvedVaultConnection {
    address: string;
    /** Secret, when set. */
    token?: pulumi.Output<string>;
    namespace?: string;
    caCertFile?: string;
}

function addressProblem(address: string | undefined, field: string): string | undefined {
    if (!address) return `${field}: is required when a CA is in Vault mode (set ${field} in stack config or VAULT_ADDR, e.g. "https://vault.example:8200")`;
    if (!/^https?:\/\/[^\s/]+/.test(address)) return `${field}: "${address}" is not an http(s) URL (e.g. "https://vault.example:8200")`;
    return undefined;
}

/** Stack config first, then VAULT_ADDR / VAULT_TOKEN / VAULT_NAMESPACE / VAULT_CACERT. The token is never logged. */
export function resolveVaultConnection(cfg: VaultConnectionConfig = {}, env: NodeJS.ProcessEnv = process.env, field = "vault.address"): ResolvedVaultConnection {
    const address = cfg.address || env.VAULT_ADDR || undefined;
    const p = addressProblem(address, field);
    if (p) throw new ConfigError("Vault connection", [p]);
    const token = cfg.token ?? (env.VAULT_TOKEN || undefined);
    return {
        address: address!,
        ...(token !== undefined ? { token: pulumi.secret(pulumi.output(token)) } : {}),
        ...((cfg.namespace || env.VAULT_NAMESPACE) ? { namespace: cfg.namespace || env.VAULT_NAMESPACE } : {}),
        ...((cfg.caCertFile || env.VAULT_CACERT) ? { caCertFile: cfg.caCertFile || env.VAULT_CACERT } : {}),
    };
}

/** An explicit Vault provider from stack config / environment (the token is a secret in the provider's state). */
export function vaultProviderFromConfig(
    cfg: VaultConnectionConfig = {},
    name = "vault",
    opts?: pulumi.CustomResourceOptions,
    env: NodeJS.ProcessEnv = process.env,
): vault.Provider {
    const c = resolveVaultConnection(cfg, env);
    return new vault.Provider(
        name,
        {
            address: c.address,
            ...(c.token ? { token: c.token } : {}),
            ...(c.namespace ? { namespace: c.namespace } : {}),
            ...(c.caCertFile ? { caCertFile: c.caCertFile } : {}),
        },
        opts,
    );
}

// ------------------------------------------------------------------------------------------ stack config

/** Per-CA Vault settings in stack config. */
export interface VaultCaConfig {
    /** "vault" (default when the entry is present) or "local" (ignore the entry: a local CA). */
    mode?: string;
    mountPath?: string;
    /** "internal" (default) or "exported". */
    keyMode?: string;
    /** Who signs the leaves: "vault" (default: Vault roles) or "local" (tls, needs the exported key). */
    leaves?: string;
    /** The intermediate's validity ("<n>h" / "<n>d"); default: the program's CA validity. */
    validity?: string | number;
}

/** The `vault` stack-config object: the connection plus one optional entry per CA id. */
export interface VaultConfig extends VaultConnectionConfig {
    ca?: VaultCaConfig;
    "etcd-ca"?: VaultCaConfig;
    "front-proxy-ca"?: VaultCaConfig;
    /** AIA / CRL URLs for every Vault CA; `{mount}` is replaced by its mount path. */
    issuerUrls?: VaultIssuerUrls;
}

export interface ResolvedVaultCa {
    caId: CaId;
    mountPath: string;
    keyMode: VaultKeyMode;
    leaves: "vault" | "local";
    validityHours: number;
    issuerUrls?: VaultIssuerUrls;
}

export interface ResolvedVaultConfig {
    /** Undefined when no CA is in Vault mode. */
    connection?: ResolvedVaultConnection;
    cas: Partial<Record<CaId, ResolvedVaultCa>>;
}

export interface VaultConfigContext {
    env?: NodeJS.ProcessEnv;
    /** Default intermediate validity (the program's caValidity). */
    caValidityHours?: number;
    /**
     * The parent's NotAfter per CA id (or one for all): an intermediate validity longer than the parent's
     * remaining validity is refused. Pass it when this run signs (first creation, rotation), e.g. from a root
     * stack's output; for a standing intermediate prefer parentValidityHours (a check that does not age).
     */
    parentNotAfter?: string | Partial<Record<CaId, string>>;
    /** Else the parent's total validity (a locally created root): the intermediate may not be longer. */
    parentValidityHours?: number;
    /** The real clock (ms) for parentNotAfter; default Date.now(). Not a what-if clock (KUBE_PKI_NOW). */
    nowMs?: number;
    /** Field prefix in messages; default "vault". */
    prefix?: string;
}

const CA_IDS = CAS.map((c) => c.id) as CaId[];
const KNOWN_TOP = new Set(["address", "token", "namespace", "caCertFile", "issuerUrls", ...CA_IDS]);
const KNOWN_CA = new Set(["mode", "mountPath", "keyMode", "leaves", "validity"]);

/**
 * Validates the `vault` stack config and resolves defaults. Every problem is reported at once in a ConfigError,
 * as `field: what is wrong (fix)`: unknown keys, mount path collisions between CAs (equal or nested), keyMode
 * outside {internal, exported}, `leaves: "local"` with an internal key (nothing to sign with), an intermediate
 * validity longer than its parent, and a missing Vault address.
 */
export function validateVaultConfig(cfg: VaultConfig | undefined, ctx: VaultConfigContext = {}): ResolvedVaultConfig {
    const prefix = ctx.prefix ?? "vault";
    const env = ctx.env ?? process.env;
    const nowMs = ctx.nowMs ?? Date.now();
    const problems: string[] = [];
    const add = (field: string, msg: string) => problems.push(`${prefix}.${field}: ${msg}`);
    const resolved: ResolvedVaultConfig = { cas: {} };
    if (cfg === undefined || cfg === null) return resolved;
    if (typeof cfg !== "object" || Array.isArray(cfg)) {
        throw new ConfigError("Vault config", [`${prefix}: must be an object`]);
    }
    for (const k of Object.keys(cfg)) {
        if (!KNOWN_TOP.has(k)) add(k, `unknown field (expected one of ${[...KNOWN_TOP].join(", ")})`);
    }
    const mounts: { caId: CaId; path: string }[] = [];
    for (const caId of CA_IDS) {
        const c = (cfg as Record<string, unknown>)[caId] as VaultCaConfig | undefined;
        if (c === undefined) continue;
        if (typeof c !== "object" || c === null || Array.isArray(c)) {
            add(caId, "must be an object like { mode: vault, mountPath: pki-kubernetes, keyMode: internal }");
            continue;
        }
        for (const k of Object.keys(c)) if (!KNOWN_CA.has(k)) add(`${caId}.${k}`, `unknown field (expected one of ${[...KNOWN_CA].join(", ")})`);
        const mode = c.mode ?? "vault";
        if (mode !== "vault" && mode !== "local") {
            add(`${caId}.mode`, `"${mode}" is not one of vault, local`);
            continue;
        }
        if (mode === "local") continue;
        const mp = mountPathProblem(c.mountPath);
        if (mp) add(`${caId}.mountPath`, mp);
        else {
            const clash = mounts.find((m) => mountsConflict(m.path, c.mountPath!));
            if (clash) {
                add(
                    `${caId}.mountPath`,
                    `"${c.mountPath}" collides with ${prefix}.${clash.caId}.mountPath "${clash.path}" ` +
                        `(each CA needs its own PKI mount, not nested in another: e.g. "pki-${caId}")`,
                );
            } else mounts.push({ caId, path: c.mountPath! });
        }
        const keyMode = c.keyMode ?? "internal";
        const keyModeOk = (VAULT_KEY_MODES as readonly string[]).includes(keyMode);
        if (!keyModeOk) {
            add(`${caId}.keyMode`, `"${keyMode}" is not one of internal, exported (internal keeps the CA key in Vault; exported returns it once)`);
        }
        const leaves = c.leaves ?? "vault";
        if (leaves !== "vault" && leaves !== "local") add(`${caId}.leaves`, `"${leaves}" is not one of vault, local`);
        else if (leaves === "local" && keyMode === "internal") {
            add(
                `${caId}.leaves`,
                `"local" signs leaves with the CA key, but keyMode "internal" keeps that key inside Vault ` +
                    `(use keyMode: exported, or leaves: vault)`,
            );
        }
        let validityHours = ctx.caValidityHours ?? 87600;
        if (c.validity !== undefined) {
            const h = parseHours(c.validity);
            if (h === undefined) add(`${caId}.validity`, `"${c.validity}" is not a duration ("<n>h" or "<n>d", e.g. "43800h")`);
            else validityHours = h;
        }
        const parentNotAfter = typeof ctx.parentNotAfter === "string" ? ctx.parentNotAfter : ctx.parentNotAfter?.[caId];
        const field = c.validity !== undefined ? `${caId}.validity` : `${caId}.validity (default ${validityHours}h)`;
        if (parentNotAfter) {
            const p = parentValidityProblem(validityHours, parentNotAfter, nowMs);
            if (p) add(field, p);
        } else if (ctx.parentValidityHours !== undefined && validityHours > ctx.parentValidityHours) {
            add(field, `${validityHours}h is longer than the parent CA's ${ctx.parentValidityHours}h validity (shorten it)`);
        }
        const urls = cfg.issuerUrls
            ? {
                  issuingCertificates: cfg.issuerUrls.issuingCertificates?.map((u) => u.replace("{mount}", c.mountPath ?? "")),
                  crlDistributionPoints: cfg.issuerUrls.crlDistributionPoints?.map((u) => u.replace("{mount}", c.mountPath ?? "")),
                  ocspServers: cfg.issuerUrls.ocspServers?.map((u) => u.replace("{mount}", c.mountPath ?? "")),
              }
            : undefined;
        resolved.cas[caId] = {
            caId,
            mountPath: c.mountPath ?? "",
            keyMode: (keyModeOk ? keyMode : "internal") as VaultKeyMode,
            leaves: leaves === "local" ? "local" : "vault",
            validityHours,
            ...(urls ? { issuerUrls: urls } : {}),
        };
    }
    if (Object.keys(resolved.cas).length > 0) {
        const address = cfg.address || env.VAULT_ADDR || undefined;
        const p = addressProblem(address, `${prefix}.address`);
        if (p) problems.push(p);
        else resolved.connection = resolveVaultConnection(cfg, env, `${prefix}.address`);
    }
    if (problems.length > 0) throw new ConfigError("Vault config", problems);
    return resolved;
}
