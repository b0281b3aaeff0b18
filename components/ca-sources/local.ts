/** Local CAs (a tls key and self-signed certificate per generation) and the local leaf issuer (tls CSR + signature). */
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "../ca";
import { LeafCertificate } from "../leaf";
import { hoursToMs } from "../time";
import { CaMaterial, CaSource, CaSourceContext, generationName, LeafIssuer, selfTrusted } from "./types";

/** Signs leaves here with the CA's key: tls PrivateKey + CertRequest + LocallySignedCert per leaf. */
export function localLeafIssuer(ca: CaMaterial, keyAlgorithm: string, parent: pulumi.Resource): LeafIssuer {
    return {
        capsValidity: false,
        issue: (r) =>
            new LeafCertificate(
                r.name,
                {
                    caCertPem: ca.certPem,
                    caKeyPem: ca.keyPem,
                    keyAlgorithm,
                    commonName: r.identity.commonName,
                    organization: r.identity.organization,
                    dnsNames: r.identity.dnsNames,
                    ipAddresses: r.identity.ipAddresses,
                    extendedUsages: r.entry.extendedUsages,
                    validityHours: r.validityHours,
                    renewBeforeHours: r.renewBeforeHours,
                    rotationToken: r.rotationToken,
                },
                { parent },
            ),
    };
}

export function localCaSource(ctx: CaSourceContext): CaSource {
    const { cfg, entry } = ctx;
    const generations = ctx.generations.map((gen) =>
        selfTrusted(
            new CertificateAuthority(
                generationName(ctx, gen),
                {
                    commonName: entry.commonName,
                    keyAlgorithm: cfg.keys[entry.id],
                    validityHours: cfg.validityHours.ca,
                    renewBeforeHours: cfg.renewBeforeHours.ca,
                },
                { parent: ctx.parent },
            ),
        ),
    );
    return {
        generations,
        keyInTree: true,
        plannedNotAfterMs: cfg.nowMs + hoursToMs(cfg.validityHours.ca),
        issuer: localLeafIssuer(generations[0], cfg.keys.leaf, ctx.parent),
    };
}
