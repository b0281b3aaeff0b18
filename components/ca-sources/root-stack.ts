/** CAs issued by a shared RootPki stack (multi-stack environments): certificate and key come in as `externalCas`. */
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { localLeafIssuer } from "./local";
import { CaSource, CaSourceContext, ExternalCa, selfTrusted } from "./types";

export function rootStackCaSource(ctx: CaSourceContext, external: ExternalCa[]): CaSource {
    const generations = ctx.generations.map((gen) => {
        const ca = external.find((e) => e.generation === gen)!;
        const certPem = pulumi.output(ca.certPem);
        const parsed = certPem.apply((pem) => new X509Certificate(pem));
        return selfTrusted({
            certPem,
            keyPem: pulumi.secret(ca.keyPem),
            notBefore: parsed.apply((c) => new Date(c.validFrom).toISOString()),
            notAfter: parsed.apply((c) => new Date(c.validTo).toISOString()),
        });
    });
    // The root stack decides the intermediate's life: not known at plan time here.
    return { generations, keyInTree: true, issuer: localLeafIssuer(generations[0], ctx.cfg.keys.leaf, ctx.parent) };
}
