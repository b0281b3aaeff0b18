/** Vault section: the `vault` object (components/vault.ts validateVaultConfig) and how it combines with the rest. */
import { ConfigError, Problems } from "./problems";
import { ResolvedVaultConfig, validateVaultConfig, VaultConfig } from "../vault";

export interface VaultInput {
    vault?: unknown;
    externalCas?: unknown;
    frontProxy?: unknown;
}

export function validateVaultSection(a: VaultInput, caValidityHours: number, externalEtcd: boolean, p: Problems): ResolvedVaultConfig {
    let resolved: ResolvedVaultConfig = { cas: {} };
    try {
        // A local root per Vault CA signs its intermediate; it lives twice as long as the CA validity.
        resolved = validateVaultConfig(a.vault as VaultConfig | undefined, { caValidityHours, parentValidityHours: 2 * caValidityHours });
    } catch (e) {
        if (e instanceof ConfigError) p.list.push(...e.problems);
        else throw e;
    }
    const externalCas = (a.externalCas ?? {}) as Record<string, unknown>;
    for (const id of Object.keys(resolved.cas)) {
        if (externalCas[id]) p.add(`vault.${id}`, `${id} comes from a root stack (rootStack); a Vault intermediate under it is not supported — drop one of the two`);
        if ((id === "etcd-ca" && externalEtcd) || (id === "front-proxy-ca" && a.frontProxy === false)) p.add(`vault.${id}`, `${id} is not part of this cluster; remove the entry`);
    }
    return resolved;
}
