/**
 * Which secrets provider a run uses, and the rule for the demo passphrase:
 *  - a stack created with `--secrets-provider` (hashivault://, awskms://, gcpkms://, azurekeyvault://; its stack
 *    file says `secretsprovider:`) needs no passphrase;
 *  - otherwise PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) when set;
 *  - otherwise the demo passphrase, only for the `dev` stack, or for a stack of a test that opts in with
 *    KUBE_PKI_DEMO_PASSPHRASE_OK=1; every such run says so in one line. Any other stack (root, prod, ...) is
 *    refused before the engine starts, with a message naming PULUMI_CONFIG_PASSPHRASE and --secrets-provider.
 * See docs/backends.md.
 */
import * as fs from "node:fs";
import * as YAML from "yaml";
import { stackFile } from "./backend";
import { UserError } from "./errors";

export const DEMO_PASSPHRASE = "kube-pki-demo-passphrase";
/** The stack that may use the demo passphrase without asking. */
export const DEMO_STACK = "dev";
/** Set to 1 by tests and e2e steps that run other stacks with the demo passphrase. */
export const DEMO_OPT_IN = "KUBE_PKI_DEMO_PASSPHRASE_OK";
/** The secrets providers `--secrets-provider` accepts (Pulumi CLI 3.248). */
const PROVIDER = /^(passphrase|default|hashivault:\/\/\S+|awskms:\/\/\S+|gcpkms:\/\/\S+|azurekeyvault:\/\/\S+)$/;

export interface SecretsChoice {
    /** Variables for the engine (PULUMI_CONFIG_PASSPHRASE when a passphrase is used). */
    env: Record<string, string>;
    /** `--secrets-provider` for a new stack (undefined: the engine's default, a passphrase). */
    secretsProvider?: string;
    /** One line for stderr (the demo passphrase is in use). */
    notice?: string;
}

/** The `secretsprovider:` of an existing stack file, or undefined (none, or a passphrase stack). */
export function stackSecretsProvider(stackName: string): string | undefined {
    const file = stackFile(stackName);
    if (!fs.existsSync(file)) return undefined;
    try {
        const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { secretsprovider?: unknown } | null;
        const sp = doc?.secretsprovider;
        return typeof sp === "string" && sp !== "passphrase" && sp !== "default" ? sp : undefined;
    } catch {
        return undefined; // checkYaml names the YAML mistake
    }
}

function isPassphrase(provider: string | undefined): boolean {
    return provider === undefined || provider === "passphrase" || provider === "default";
}

/**
 * The secrets of a run of `stackName` (undefined: a CLI command without --stack) with `secretsProvider` from the
 * command line, given the environment. Throws a UserError when the stack would use the demo passphrase and may not.
 */
export function secretsFor(stackName: string | undefined, secretsProvider?: string, env: NodeJS.ProcessEnv = process.env): SecretsChoice {
    if (secretsProvider !== undefined && !PROVIDER.test(secretsProvider)) {
        throw new UserError(
            `kube-pki: --secrets-provider ${JSON.stringify(secretsProvider)}: expected passphrase, hashivault://<key>, awskms://<key>, ` +
                `gcpkms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k> or azurekeyvault://<vault>.vault.azure.net/keys/<key> (docs/backends.md)`,
        );
    }
    const provider = secretsProvider ?? (stackName ? stackSecretsProvider(stackName) : undefined);
    const passthrough: Record<string, string> = {};
    for (const k of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"]) if (env[k] !== undefined) passthrough[k] = env[k]!;
    const chosen = secretsProvider !== undefined ? { secretsProvider } : {};
    if (!isPassphrase(provider)) return { env: passthrough, ...chosen };
    if (Object.keys(passthrough).length) return { env: passthrough, ...chosen };
    const optIn = env[DEMO_OPT_IN] === "1";
    if (stackName === DEMO_STACK || optIn) {
        return {
            env: { PULUMI_CONFIG_PASSPHRASE: DEMO_PASSPHRASE },
            ...chosen,
            notice:
                `kube-pki: ${stackName === undefined ? "this run" : `stack "${stackName}"`} uses the demo passphrase (PULUMI_CONFIG_PASSPHRASE is unset${stackName === DEMO_STACK ? "" : `, ${DEMO_OPT_IN}=1`}): ` +
                `for the ${DEMO_STACK} stack and tests only`,
        };
    }
    if (stackName === undefined) return { env: {}, ...chosen }; // the CLI asks or says what it needs
    throw new UserError(
        `kube-pki: stack "${stackName}" needs its own secrets: the demo passphrase is only for the "${DEMO_STACK}" stack. ` +
            `Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to this stack's passphrase, or create the stack with a key ` +
            `management service: npm run up -- --stack ${stackName} --secrets-provider hashivault://<key> (or awskms://, gcpkms://, ` +
            `azurekeyvault://; see docs/backends.md). Nothing was run.`,
    );
}
