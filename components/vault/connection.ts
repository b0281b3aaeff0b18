/** The Vault connection: stack config first, then VAULT_ADDR / VAULT_TOKEN / VAULT_NAMESPACE / VAULT_CACERT. */
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { ResolvedVaultConnection } from "../resolved";
import { ConfigError } from "../validation/problems";

export type { ResolvedVaultConnection } from "../resolved";

export interface VaultConnectionConfig {
    /** e.g. "https://vault.example:8200"; default $VAULT_ADDR. */
    address?: string;
    /** default $VAULT_TOKEN (else the provider's own lookup, e.g. ~/.vault-token). Always wrapped in pulumi.secret. */
    token?: pulumi.Input<string>;
    /** Vault Enterprise / OpenBao namespace; default $VAULT_NAMESPACE. */
    namespace?: string;
    /** CA bundle to verify Vault's TLS certificate; default $VAULT_CACERT. */
    caCertFile?: string;
}

export function addressProblem(address: string | undefined, field: string): string | undefined {
    if (!address) return `${field}: is required when a CA is in Vault mode (set ${field} in stack config or VAULT_ADDR, e.g. "https://vault.example:8200")`;
    if (!/^https?:\/\/[^\s/]+/.test(address)) return `${field}: "${address}" is not an http(s) URL (e.g. "https://vault.example:8200")`;
    return undefined;
}

/** Stack config first, then VAULT_ADDR / VAULT_TOKEN / VAULT_NAMESPACE / VAULT_CACERT. The token is never logged. */
export function resolveVaultConnection(cfg: VaultConnectionConfig = {}, env: NodeJS.ProcessEnv = process.env, field = "vault.address"): ResolvedVaultConnection {
    const address = cfg.address || env.VAULT_ADDR || undefined;
    const p = addressProblem(address, field);
    if (p) throw new ConfigError("Vault connection", [p]);
    const token = cfg.token ?? (env.VAULT_TOKEN || undefined);
    return {
        address: address!,
        ...(token !== undefined ? { token: pulumi.secret(pulumi.output(token)) } : {}),
        ...((cfg.namespace || env.VAULT_NAMESPACE) ? { namespace: cfg.namespace || env.VAULT_NAMESPACE } : {}),
        ...((cfg.caCertFile || env.VAULT_CACERT) ? { caCertFile: cfg.caCertFile || env.VAULT_CACERT } : {}),
    };
}

/** An explicit Vault provider from stack config / environment (the token is a secret in the provider's state). */
export function vaultProviderFromConfig(
    cfg: VaultConnectionConfig = {},
    name = "vault",
    opts?: pulumi.CustomResourceOptions,
    env: NodeJS.ProcessEnv = process.env,
): vault.Provider {
    const c = resolveVaultConnection(cfg, env);
    return new vault.Provider(
        name,
        {
            address: c.address,
            ...(c.token ? { token: c.token } : {}),
            ...(c.namespace ? { namespace: c.namespace } : {}),
            ...(c.caCertFile ? { caCertFile: c.caCertFile } : {}),
        },
        opts,
    );
}
