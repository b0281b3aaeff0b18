/**
 * Where a cluster CA comes from, and who signs its leaves. ClusterPki asks `caSourceFor` for each catalog CA and
 * never looks at the kind: adding a source (an HSM, another secrets manager) is one new file here plus one line in
 * `caSourceFor`.
 *
 *   local       a tls key + self-signed certificate per generation (local.ts)
 *   root-stack  an intermediate issued by a shared RootPki stack, passed in as `externalCas` (root-stack.ts)
 *   vault       a Vault PKI intermediate signed by a local root; leaves issued by Vault roles or locally (vault.ts)
 */
import { localCaSource } from "./local";
import { rootStackCaSource } from "./root-stack";
import { CaSource, CaSourceContext } from "./types";
import { vaultCaSource } from "./vault";

export function caSourceFor(ctx: CaSourceContext): CaSource {
    if (ctx.external) return rootStackCaSource(ctx, ctx.external);
    if (ctx.cfg.vault.cas[ctx.entry.id]) return vaultCaSource(ctx);
    return localCaSource(ctx);
}

export * from "./types";
export { localLeafIssuer } from "./local";
