/**
 * Reads ClusterPki args from Pulumi stack config (namespace `kube-pki`).
 * Pulumi's project schema (Pulumi.yaml) types the scalar keys; the object lists are parsed here and validated
 * by validateClusterPkiArgs like any other field.
 */
import * as pulumi from "@pulumi/pulumi";
import { closest, distance } from "fastest-levenshtein";
import { ClusterPkiArgs, ConfigError } from "./config";
import { STACK_CONFIG_KEYS } from "./settings";

export { STACK_CONFIG_KEYS } from "./settings";

/** A token in the plain `vault` object: in the stack file in clear text; the secret key is `vaultToken`. */
export const VAULT_TOKEN_IN_OBJECT = (prefix = "kube-pki:") =>
    `${prefix}vault.token: a token in the ${prefix}vault object is stored in clear text in the stack file; remove it ` +
    `and set the secret ${prefix}vaultToken instead: \`pulumi config set --secret ${prefix}vaultToken\` prompts for it ` +
    `(or pipe it in: \`pulumi config set --secret ${prefix}vaultToken < token-file\`), or set VAULT_TOKEN`;

/** The closest known word to a misspelled one (edit distance, case-insensitive), if any is close enough. */
export function didYouMean(word: string, known: Iterable<string>): string | undefined {
    const candidates = [...known];
    const exact = candidates.find((k) => k.toLowerCase() === word.toLowerCase());
    if (exact) return exact;
    if (!candidates.length) return undefined;
    const best = closest(word.toLowerCase(), candidates.map((k) => k.toLowerCase()));
    const match = candidates.find((k) => k.toLowerCase() === best);
    return match && distance(word.toLowerCase(), best) <= Math.max(2, Math.floor(word.length / 4)) ? match : undefined;
}

/**
 * Problems with the `kube-pki:` keys themselves: keys nobody reads (a typo would otherwise be silently ignored),
 * with the closest known key, and values that do not parse as their type. `knownKeys` lists every key the
 * program reads.
 */
export function configKeyProblems(config: pulumi.Config, knownKeys: string[]): string[] {
    const problems: string[] = [];
    const known = new Set(knownKeys);
    const prefix = `${config.name}:`;
    for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        if (known.has(key)) continue;
        const guess = didYouMean(key, known);
        problems.push(
            `${fullKey}: unknown config key; ` +
                (guess ? `did you mean ${prefix}${guess}?` : `the keys are listed in docs/configuration.md`),
        );
    }
    return problems;
}

/** Every key a cluster stack reads (ClusterPki's, the Vault token's, and `extraKeys`). */
export function clusterConfigKeys(extraKeys: string[] = []): string[] {
    return [...Object.keys(STACK_CONFIG_KEYS), "vaultToken", ...extraKeys];
}

/**
 * Builds ClusterPki args from stack config, leniently: a value that does not parse is left out and reported in
 * `problems` (with unknown keys), so that the caller can validate the rest in the same run and report everything
 * at once.
 */
export function parseClusterPkiArgs(config: pulumi.Config, extraKeys: string[] = []): { args: ClusterPkiArgs; problems: string[] } {
    const problems = configKeyProblems(config, clusterConfigKeys(extraKeys));
    const prefix = `${config.name}:`;
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
            const example = { boolean: "true or false", number: "a number, e.g. 6443", object: "a YAML list or map" }[kind];
            problems.push(`${prefix}${key}: "${raw}" is not a valid ${kind} (write ${example})`);
        }
    }
    // The Vault token comes from a secret config value (or VAULT_TOKEN): never from the plain `vault` object.
    if (args.vault && typeof args.vault === "object" && "token" in (args.vault as object)) {
        problems.push(VAULT_TOKEN_IN_OBJECT(prefix));
        delete (args.vault as Record<string, unknown>).token;
    }
    const vaultToken = config.getSecret("vaultToken");
    if (args.vault && typeof args.vault === "object" && vaultToken) (args.vault as Record<string, unknown>).token = vaultToken;
    return { args: args as unknown as ClusterPkiArgs, problems };
}

/**
 * Builds ClusterPki args from stack config. Unknown `kube-pki:` keys are refused (a typo would otherwise be
 * silently ignored); `extraKeys` lists keys other parts of the program read.
 */
export function readClusterPkiArgs(config: pulumi.Config, extraKeys: string[] = []): ClusterPkiArgs {
    const { args, problems } = parseClusterPkiArgs(config, extraKeys);
    if (problems.length > 0) throw new ConfigError("stack config", problems);
    return args;
}
