/** VaultLeafCertificate: a leaf issued by Vault (`SecretBackendCert`) with the outputs of LeafCertificate. */
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { buildingBlockProblems } from "../validation/args";
import { ConfigError } from "../validation/problems";
import { normalizePem, providerOpts, rfc3339, seconds } from "./common";

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
        const problems = buildingBlockProblems(args, ["commonName", "validityHours", "renewBeforeHours", "ipAddresses"]);
        if (args && args.renewBeforeHours === undefined) problems.push("renewBeforeHours: is required (Vault's min_seconds_remaining for autoRenew)");
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
