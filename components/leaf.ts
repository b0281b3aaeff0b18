import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { LEAF_KEY_USAGES } from "./catalog";
import { privateKeyArgs } from "./keys";
import { buildingBlockProblems } from "./validation/args";
import { ConfigError } from "./validation/problems";

export interface LeafCertificateArgs {
    caCertPem: pulumi.Input<string>;
    caKeyPem: pulumi.Input<string>;
    keyAlgorithm: string;
    commonName: string;
    organization?: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    /** Extended key usages in tls provider vocabulary (server_auth, client_auth). */
    extendedUsages: string[];
    /** An Output when it depends on the CA (a leaf is capped at its CA's remaining life). */
    validityHours: pulumi.Input<number>;
    renewBeforeHours: number;
    /** Changing this value replaces the key, CSR and certificate together (rotation hook). */
    rotationToken?: pulumi.Input<string>;
}

/** A leaf: private key + CSR + certificate signed by a CA, with kubeadm's key usages. */
export class LeafCertificate extends pulumi.ComponentResource {
    public readonly certPem: pulumi.Output<string>;
    /** The private key, always a Pulumi secret. */
    public readonly keyPem: pulumi.Output<string>;
    public readonly notBefore: pulumi.Output<string>;
    public readonly notAfter: pulumi.Output<string>;

    constructor(name: string, args: LeafCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = buildingBlockProblems(args, ["keyAlgorithm", "commonName", "validityHours", "renewBeforeHours", "ipAddresses"]);
        if (problems.length > 0) throw new ConfigError(`LeafCertificate "${name}" args`, problems);
        super("kube-pki:index:LeafCertificate", name, {}, opts);
        const key = new tls.PrivateKey(`${name}-key`, privateKeyArgs(args.keyAlgorithm), {
            parent: this,
            replacementTrigger: args.rotationToken,
        });
        const csr = new tls.CertRequest(
            `${name}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: args.commonName, organization: args.organization },
                dnsNames: args.dnsNames,
                ipAddresses: args.ipAddresses,
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${name}-cert`,
            {
                certRequestPem: csr.certRequestPem,
                caCertPem: args.caCertPem,
                caPrivateKeyPem: args.caKeyPem,
                validityPeriodHours: args.validityHours,
                earlyRenewalHours: args.renewBeforeHours,
                allowedUses: [...LEAF_KEY_USAGES, ...args.extendedUsages],
            },
            { parent: this },
        );
        this.certPem = cert.certPem;
        this.keyPem = pulumi.secret(key.privateKeyPem);
        this.notBefore = cert.validityStartTime;
        this.notAfter = cert.validityEndTime;
        // Only notAfter is recorded: the certificate and the key are already in the children's state (the key in the
        // PrivateKey's and the CertRequest's), and every copy is rewritten with the whole state at every checkpoint.
        this.registerOutputs({ notAfter: this.notAfter });
    }
}
