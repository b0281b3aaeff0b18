/**
 * CAs under a shared RootPki stack (multi-stack environments, docs/multi-stack.md): the certificate was signed by
 * the root from this cluster's CSR and comes in as `externalCas`; the key is this stack's own (IntermediateRequests;
 * a generation issued before the CSR handoff brings the root-generated key instead, until a rotation retires it).
 */
import { X509Certificate, createPublicKey } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { localLeafIssuer } from "./local";
import { CaSource, CaSourceContext, ExternalCa, selfTrusted } from "./types";

/** SPKI of a certificate and of a private key are equal: the certificate is for that key. */
function certMatchesKey(certPem: string, keyPem: string): boolean {
    const der = (k: ReturnType<typeof createPublicKey>) => k.export({ type: "spki", format: "der" }).toString("hex");
    return der(new X509Certificate(certPem).publicKey) === der(createPublicKey(keyPem));
}

export function rootStackCaSource(ctx: CaSourceContext, external: ExternalCa[]): CaSource {
    const generations = ctx.generations.map((gen) => {
        const ca = external.find((e) => e.generation === gen)!;
        const parsed = pulumi.output(ca.certPem).apply((pem) => new X509Certificate(pem));
        // a leaf signed with a key the certificate does not certify would not verify: fail the run instead
        const certPem = pulumi.all([ca.certPem, pulumi.secret(ca.keyPem)]).apply(([cert, key]) => {
            if (!certMatchesKey(cert, key)) {
                throw new Error(`${ctx.entry.id} generation ${gen}: the root stack's certificate is not for this stack's intermediate key; run \`up\` on the root stack first`);
            }
            return cert;
        });
        return selfTrusted({
            certPem: pulumi.unsecret(certPem),
            keyPem: pulumi.secret(ca.keyPem),
            notBefore: parsed.apply((c) => new Date(c.validFrom).toISOString()),
            notAfter: parsed.apply((c) => new Date(c.validTo).toISOString()),
        });
    });
    // The root stack decides the intermediate's life: not known at plan time here.
    return { generations, keyInTree: true, issuer: localLeafIssuer(generations[0], ctx.cfg.keys.leaf, ctx.parent) };
}
