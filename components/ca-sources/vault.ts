/**
 * basicConstraints pathlen of the local root that signs a Vault intermediate: 1, one CA level below it (the
 * intermediate), so neither the root's key (in the Pulumi state) nor the intermediate can add a CA under that.
 */
export const VAULT_ROOT_PATH_LENGTH = 1;

/**
 * Vault mode: a local root (this CA's only signer) signs one Vault PKI intermediate per generation; leaves are
 * issued by Vault roles derived from the catalog (`leaves: vault`) or signed here with the exported key (`local`).
 */
import { LEAVES } from "../catalog";
import { CertificateAuthority } from "../ca";
import { identityOf } from "../identity";
import { VaultIntermediateCa, VaultLeafCertificate, VaultRoles } from "../vault";
import { localLeafIssuer } from "./local";
import { CaSource, CaSourceContext, generationName, LeafIssuer } from "./types";

/** Issues leaves with Vault (`<mount>/issue/<role>`): Vault generates the key; the role fixes O, usages and EKUs. */
function vaultLeafIssuer(ctx: CaSourceContext, ca: VaultIntermediateCa, roles: VaultRoles): LeafIssuer {
    return {
        capsValidity: true,
        issue: (r) =>
            new VaultLeafCertificate(
                r.name,
                {
                    mountPath: ca.mountPath,
                    roleName: roles.roleNames[r.user ? (r.user.group ? `user/${r.user.group}` : "user") : r.entry.id],
                    commonName: r.identity.commonName,
                    dnsNames: r.identity.dnsNames,
                    ipAddresses: r.identity.ipAddresses,
                    validityHours: r.validityHours as number,
                    renewBeforeHours: r.renewBeforeHours,
                    rotationToken: r.rotationToken,
                    provider: ctx.vaultProvider(),
                },
                { parent: ctx.parent },
            ),
    };
}

export function vaultCaSource(ctx: CaSourceContext): CaSource {
    const { cfg, entry, name, parent } = ctx;
    const inVault = cfg.vault.cas[entry.id]!;
    const root = new CertificateAuthority(
        `${name}-${entry.id}-root`,
        {
            commonName: `${entry.commonName}-root`,
            keyAlgorithm: cfg.keys[entry.id],
            validityHours: 2 * cfg.validityHours.ca,
            renewBeforeHours: cfg.renewBeforeHours.ca,
            // pathlen:1: the root signs the Vault intermediate and no CA below it (docs/vault.md)
            maxPathLength: VAULT_ROOT_PATH_LENGTH,
        },
        { parent },
    );
    const intermediates = ctx.generations.map(
        (gen) =>
            new VaultIntermediateCa(
                generationName(ctx, gen),
                {
                    caId: entry.id,
                    mountPath: gen === 0 ? inVault.mountPath : `${inVault.mountPath}-g${gen}`,
                    keyMode: inVault.keyMode,
                    commonName: entry.commonName,
                    keyAlgorithm: cfg.keys[entry.id],
                    validityHours: inVault.validityHours,
                    renewBeforeHours: cfg.renewBeforeHours.ca,
                    parentCertPem: root.certPem,
                    parentKeyPem: root.keyPem,
                    parentNotAfter: root.notAfter,
                    issuerUrls: inVault.issuerUrls,
                    provider: ctx.vaultProvider(),
                },
                { parent },
            ),
    );
    const active = intermediates[0];
    // A Vault intermediate is trusted with its chain (intermediate, then its local root), or alone (`trust: vault`).
    const generations = intermediates.map((c) => ({
        certPem: c.certPem,
        keyPem: c.keyPem,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        trustPem: inVault.trust === "vault" ? c.certPem : c.chainPem,
    }));
    if (inVault.leaves !== "vault") {
        return { generations, keyInTree: active.exported, issuer: localLeafIssuer(generations[0], cfg.keys.leaf, parent) };
    }
    const apiserver = LEAVES.find((l) => l.id === "apiserver")!;
    const roles = new VaultRoles(
        `${name}-${entry.id}-roles`,
        {
            caId: entry.id,
            mountPath: active.mountPath,
            issuerRef: active.issuerId,
            keyAlgorithm: cfg.keys.leaf,
            validityHours: cfg.validityHours.leaf,
            features: cfg.features,
            nodeNames: ctx.allNodes.map((n) => n.name),
            allowedDnsSans: {
                apiserver: [...new Set(cfg.controlPlanes.flatMap((cp) => identityOf(apiserver, cfg, cp).dnsNames))],
            },
            users: cfg.users.map((u) => ({ name: u.name, group: u.group, validityHours: u.validityHours })),
            provider: ctx.vaultProvider(),
        },
        { parent, dependsOn: [active] },
    );
    // With an `internal` key there is no ca.key: kubeadm's external-CA mode.
    return { generations, keyInTree: active.exported, issuer: vaultLeafIssuer(ctx, active, roles), vaultRoles: roles };
}
