/**
 * VaultIntermediateCa: PKI mount → CSR generated in Vault (`internal`: the key never leaves Vault; `exported`:
 * Vault returns it once) → signed locally by the parent CA (tls.LocallySignedCert) → signed certificate + chain set
 * back → default issuer and AIA/CRL URLs configured. Its outputs have the `CaMaterial` shape. See docs/vault.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as vault from "@pulumi/vault";
import { DEFAULT_LEAF_VALIDITY_HOURS } from "../catalog";
import type { VaultIssuerUrls } from "../resolved";
import { buildingBlockProblems } from "../validation/args";
import { ConfigError } from "../validation/problems";
import { mountPathProblem, normalizePem, providerOpts, VAULT_INTERMEDIATE_USAGES, VAULT_KEY_MODES, vaultKeyParams, VaultKeyMode } from "./common";

export type { VaultIssuerUrls } from "../resolved";

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
    try {
        vaultKeyParams(args.keyAlgorithm);
    } catch (e) {
        problems.push(...(e as ConfigError).problems);
    }
    problems.push(...buildingBlockProblems(args, ["commonName", "validityHours", "renewBeforeHours"]));
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
 * A CA whose key lives in Vault's PKI engine, signed by a parent CA we hold (docs/vault.md).
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
