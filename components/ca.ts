import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CA_USAGES } from "./catalog";
import { privateKeyArgs } from "./keys";
import { buildingBlockProblems } from "./validation/args";
import { ConfigError } from "./validation/problems";

export interface CertificateAuthorityArgs {
    commonName: string;
    /** kubeadm encryptionAlgorithm name, e.g. "RSA-2048" or "ECDSA-P256". */
    keyAlgorithm: string;
    validityHours: number;
    renewBeforeHours: number;
    /** When set, the CA is an intermediate signed by this parent instead of self-signed. */
    parentCertPem?: pulumi.Input<string>;
    parentKeyPem?: pulumi.Input<string>;
    /** basicConstraints pathlen (≥ 1; the tls provider cannot emit pathlen 0). Default: none. */
    maxPathLength?: number;
    /** Changing this value replaces the key and therefore the CA (rotation hook). */
    rotationToken?: pulumi.Input<string>;
}

/** A CA: a private key and a self-signed (or parent-signed) CA certificate. */
export class CertificateAuthority extends pulumi.ComponentResource {
    public readonly certPem: pulumi.Output<string>;
    /** The CA private key, always a Pulumi secret. */
    public readonly keyPem: pulumi.Output<string>;
    public readonly notBefore: pulumi.Output<string>;
    public readonly notAfter: pulumi.Output<string>;

    constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = buildingBlockProblems(args, ["keyAlgorithm", "commonName", "validityHours", "renewBeforeHours"]);
        if (args?.maxPathLength !== undefined && (!Number.isInteger(args.maxPathLength) || args.maxPathLength < 1)) {
            problems.push(`maxPathLength: ${args.maxPathLength} must be a whole number ≥ 1 (the tls provider emits no pathlen for 0: omit it for no limit)`);
        }
        if (problems.length > 0) throw new ConfigError(`CertificateAuthority "${name}" args`, problems);
        super("kube-pki:index:CertificateAuthority", name, {}, opts);
        const key = new tls.PrivateKey(
            `${name}-key`,
            privateKeyArgs(args.keyAlgorithm),
            { parent: this, replacementTrigger: args.rotationToken },
        );
        const common = {
            validityPeriodHours: args.validityHours,
            earlyRenewalHours: args.renewBeforeHours,
            allowedUses: CA_USAGES,
            isCaCertificate: true,
            setSubjectKeyId: true,
            ...(args.maxPathLength !== undefined ? { maxPathLength: args.maxPathLength } : {}),
        };
        const subject = { commonName: args.commonName };
        // kubeadm (pkiutil.NewSelfSignedCACert) puts the CN in a DNS SAN of its CAs (when it is a DNS-like name).
        const dnsNames = /^[A-Za-z0-9.-]+$/.test(args.commonName) ? [args.commonName] : [];
        let cert: tls.SelfSignedCert | tls.LocallySignedCert;
        if (args.parentCertPem && args.parentKeyPem) {
            const csr = new tls.CertRequest(
                `${name}-csr`,
                { privateKeyPem: key.privateKeyPem, subject, dnsNames },
                { parent: this },
            );
            cert = new tls.LocallySignedCert(
                `${name}-cert`,
                { ...common, certRequestPem: csr.certRequestPem, caCertPem: args.parentCertPem, caPrivateKeyPem: args.parentKeyPem },
                { parent: this },
            );
        } else {
            cert = new tls.SelfSignedCert(
                `${name}-cert`,
                { ...common, privateKeyPem: key.privateKeyPem, subject, dnsNames, setAuthorityKeyId: true },
                { parent: this },
            );
        }
        this.certPem = cert.certPem;
        this.keyPem = pulumi.secret(key.privateKeyPem);
        this.notBefore = cert.validityStartTime;
        this.notAfter = cert.validityEndTime;
        // As LeafCertificate: the children's state holds the certificate and the key; the component records notAfter.
        this.registerOutputs({ notAfter: this.notAfter });
    }
}
