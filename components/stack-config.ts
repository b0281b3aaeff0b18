/**
 * Reads ClusterPki args from Pulumi stack config (namespace `kube-pki`).
 * Pulumi's project schema (Pulumi.yaml) types the scalar keys; the object lists are parsed here and validated
 * by validateClusterPkiArgs like any other field.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterPkiArgs, ConfigError } from "./config";
import { CaRotationState } from "./rotation";

type Kind = "string" | "boolean" | "number" | "object";

/** Every config key the program reads, with how it is parsed. */
export const STACK_CONFIG_KEYS: Record<Exclude<keyof ClusterPkiArgs, "previous" | "externalCas">, Kind> = {
    clusterName: "string",
    clusterDomain: "string",
    serviceCidr: "string",
    controlPlaneEndpoint: "string",
    apiServerBindPort: "number",
    apiServerExtraSans: "object",
    controlPlanes: "object",
    workers: "object",
    etcdMembers: "object",
    externalEtcd: "boolean",
    users: "object",
    allowSystemMastersUsers: "boolean",
    keyAlgorithm: "string",
    caKeyAlgorithm: "string",
    etcdCaKeyAlgorithm: "string",
    frontProxyCaKeyAlgorithm: "string",
    serviceAccountKeyAlgorithm: "string",
    caValidity: "string",
    leafValidity: "string",
    caRenewBefore: "string",
    leafRenewBefore: "string",
    kubeletServingCerts: "boolean",
    kubeProxy: "boolean",
    superAdmin: "boolean",
    frontProxy: "boolean",
    now: "string",
    rotate: "object",
    caRotation: "object",
    vault: "object",
};

/**
 * Builds ClusterPki args from stack config. Unknown `kube-pki:` keys are refused (a typo would otherwise be
 * silently ignored); `extraKeys` lists keys other parts of the program read.
 */
export function readClusterPkiArgs(config: pulumi.Config, extraKeys: string[] = []): ClusterPkiArgs {
    const problems: string[] = [];
    const known = new Set([...Object.keys(STACK_CONFIG_KEYS), "vaultToken", ...extraKeys]);
    const prefix = `${config.name}:`;
    for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        if (!known.has(key)) problems.push(`${fullKey}: unknown config key (check the spelling; see README "Configuration reference")`);
    }
    const args: Record<string, unknown> = {};
    for (const [key, kind] of Object.entries(STACK_CONFIG_KEYS)) {
        const raw = config.get(key);
        if (raw === undefined) continue;
        if (kind === "string") {
            args[key] = raw;
            continue;
        }
        try {
            args[key] = JSON.parse(raw);
        } catch {
            problems.push(`${prefix}${key}: "${raw}" is not a valid ${kind}`);
        }
    }
    if (problems.length > 0) throw new ConfigError("stack config", problems);
    // The Vault token comes from a secret config value (or VAULT_TOKEN): never from the plain `vault` object.
    const vaultToken = config.getSecret("vaultToken");
    if (args.vault && typeof args.vault === "object" && vaultToken) (args.vault as Record<string, unknown>).token = vaultToken;
    return args as unknown as ClusterPkiArgs;
}

/**
 * Reads what the previous run of this stack exported (rotation state and tokens) through a StackReference to
 * the stack itself. On the first run there is nothing to read.
 */
export async function readPreviousRun(): Promise<ClusterPkiArgs["previous"]> {
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const [state, tokens] = await Promise.all([
        self.getOutputDetails("rotationState"),
        self.getOutputDetails("rotationTokens"),
    ]);
    return {
        rotationState: (state.value ?? state.secretValue) as Record<string, CaRotationState> | undefined,
        rotationTokens: (tokens.value ?? tokens.secretValue) as Record<string, string> | undefined,
    };
}
