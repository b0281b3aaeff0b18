/**
 * The CA half of ClusterPki's walk over the catalog: one catalog CA (every trusted generation, from its CA
 * source) and the service-account key, each returned as what it adds to the run (files, trust bundle, inventory).
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CaEntry, SERVICE_ACCOUNT_KEY } from "./catalog";
import { CaSource, caSourceFor, ExternalCa } from "./ca-sources";
import type { ResolvedConfig } from "./config";
import { privateKeyArgs } from "./keys";
import { allNodesOf, Placed, placed } from "./leaves";
import type { InventoryEntry } from "./model";
import { joinPems } from "./pem";
import { renewalStatus, renewAtMs, trustedGenerations } from "./rotation";
import { toWholeSeconds } from "./time";

/** The PEMs one after the other, each ending in a newline. */
export function bundle(pems: pulumi.Output<string>[]): pulumi.Output<string> {
    return pulumi.all(pems).apply(joinPems);
}

/** What one catalog CA adds to the run. */
export interface CaContribution {
    source: CaSource;
    /** Every trusted certificate, active first (ca.crt's content). */
    trustBundle: pulumi.Output<string>;
    files: Placed[];
    inventory: pulumi.Output<InventoryEntry>[];
}

export interface CaContext {
    name: string;
    cfg: ResolvedConfig;
    parent: pulumi.ComponentResource;
    vaultProvider: Parameters<typeof caSourceFor>[0]["vaultProvider"];
}

/** One catalog CA: every trusted generation exists; the active one (first) signs; the bundle holds them all. */
export function caContribution(ctx: CaContext, entry: CaEntry, external: ExternalCa[] | undefined): CaContribution {
    const { cfg } = ctx;
    const generationIds = trustedGenerations(cfg.caStates[entry.id]);
    const allNodes = allNodesOf(cfg);
    const source = caSourceFor({ parent: ctx.parent, name: ctx.name, entry, cfg, generations: generationIds, allNodes, external, vaultProvider: ctx.vaultProvider });
    const generations = source.generations;
    const ca = generations[0];
    const trustBundle = generations.length === 1 && ca.trustPem === ca.certPem ? ca.certPem : bundle(generations.map((g) => g.trustPem));
    // Every node trusts the cluster CA (kubelet client CA); control planes hold all CA pairs (kubeadm join
    // --control-plane). ca.crt is the bundle, active CA first: kubeadm pairs its first cert with ca.key.
    const files = [placed(entry.id === "ca" ? allNodes : cfg.controlPlanes, `${entry.file}.crt`, trustBundle, false)];
    if (source.keyInTree) files.push(placed(cfg.controlPlanes, `${entry.file}.key`, ca.keyPem, true));
    // the CSR signer's certificate: the one ca.key belongs to, alone (the signer refuses a bundle)
    if (source.keyInTree && entry.signingCertFile) files.push(placed(cfg.controlPlanes, entry.signingCertFile, ca.certPem, false));
    const inventory = generations.map((c, i) => {
        // CAs are never replaced by the clock: inside their window the operator is told to rotate.
        c.notAfter.apply((notAfter) => {
            const notAfterMs = Date.parse(notAfter);
            if (Number.isNaN(notAfterMs) || cfg.caStates[entry.id].phase !== "none") return;
            if (renewalStatus(cfg.nowMs, notAfterMs, renewAtMs(notAfterMs, cfg.renewBeforeHours.ca)) !== "ok") {
                pulumi.log.warn(
                    `${entry.id} (generation ${generationIds[i]}) expires ${notAfter}: inside its renewal window; ` +
                        `rotate it with caRotation.${entry.id}: stage → promote → distrust`,
                    ctx.parent,
                );
            }
        });
        return pulumi.all([c.notBefore, c.notAfter]).apply(
            ([notBefore, notAfter]): InventoryEntry => ({
                id: entry.id,
                file: `${entry.file}.crt`,
                commonName: entry.commonName,
                issuer: entry.id,
                isCa: true,
                generation: generationIds[i],
                active: i === 0,
                dnsNames: [],
                ipAddresses: [],
                extendedUsages: [],
                keyAlgorithm: cfg.keys[entry.id],
                validityHours: cfg.validityHours.ca,
                renewBeforeHours: cfg.renewBeforeHours.ca,
                notBefore: toWholeSeconds(notBefore),
                notAfter: toWholeSeconds(notAfter),
            }),
        );
    });
    return { source, trustBundle, files, inventory };
}

/** The service-account signing key (no certificate): same phases; sa.pub holds every trusted public key. */
export function serviceAccountKey(ctx: Omit<CaContext, "vaultProvider">): { publicKeys: pulumi.Output<string>; files: Placed[] } {
    const { cfg, name } = ctx;
    const saKeys = trustedGenerations(cfg.caStates.sa).map(
        (gen) => new tls.PrivateKey(`${name}-${SERVICE_ACCOUNT_KEY.id}${gen === 0 ? "" : `-g${gen}`}`, privateKeyArgs(cfg.keys.sa), { parent: ctx.parent }),
    );
    const publicKeys = saKeys.length === 1 ? saKeys[0].publicKeyPem : bundle(saKeys.map((k) => k.publicKeyPem));
    return {
        publicKeys,
        files: [
            placed(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.keyFile, pulumi.secret(saKeys[0].privateKeyPem), true),
            placed(cfg.controlPlanes, SERVICE_ACCOUNT_KEY.publicKeyFile, publicKeys, false),
        ],
    };
}
