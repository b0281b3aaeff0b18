/**
 * Vault vocabulary shared by the Vault components (docs/vault.md): key modes, key parameters, TTLs as seconds,
 * PEM and time normalisation, mount paths and provider options.
 */
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { KEY_ALGORITHMS } from "../catalog";
import { ConfigError } from "../validation/problems";

export const VAULT_KEY_MODES = ["internal", "exported"] as const;
/** `internal`: the CA key is generated in Vault and never leaves it; `exported`: Vault returns it once (secret). */
export type VaultKeyMode = (typeof VAULT_KEY_MODES)[number];

/** Vault role key usages (x509.KeyUsage names, matched case-insensitively by Vault) for the tls usage names. */
export const VAULT_KEY_USAGE: Record<string, string> = {
    digital_signature: "DigitalSignature",
    key_encipherment: "KeyEncipherment",
    cert_signing: "CertSign",
};

/** Usages of the intermediate certificate our parent signs (kubeadm CA usages plus CRL signing for Vault's CRLs). */
export const VAULT_INTERMEDIATE_USAGES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"];

/** Vault's PKI key parameters for a kubeadm encryptionAlgorithm name (RSA-2048 → rsa/2048, ECDSA-P256 → ec/256). */
export function vaultKeyParams(algorithm: string, field = "keyAlgorithm"): { keyType: "rsa" | "ec"; keyBits: number } {
    if (!(KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
        throw new ConfigError("Vault key algorithm", [`${field}: "${algorithm}" is not supported (one of ${KEY_ALGORITHMS.join(", ")})`]);
    }
    const [family, size] = algorithm.split("-");
    return family === "RSA" ? { keyType: "rsa", keyBits: Number(size) } : { keyType: "ec", keyBits: Number(size.slice(1)) };
}

export const seconds = (hours: number) => String(Math.round(hours * 3600));

/** RFC 3339 at whole seconds, from an X.509 time as node prints it. */
export function rfc3339(x509Time: string): string {
    return new Date(x509Time).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const normalizePem = (pem: string | undefined) => (pem ? pem.trim() + "\n" : "");

/** Vault mount paths: segments of letters, digits, '_', '-', '.', no leading/trailing '/'. */
const MOUNT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export function mountPathProblem(path: unknown): string | undefined {
    if (typeof path !== "string" || path === "") return "is required (e.g. \"pki-kubernetes\")";
    if (!MOUNT_PATH.test(path)) {
        return `"${path}" is not a Vault mount path (letters, digits, '_', '-', '.', '/'-separated; no leading or trailing '/')`;
    }
    if (/^(sys|auth|cubbyhole|identity)(\/|$)/.test(path)) return `"${path}" is reserved by Vault (pick e.g. "pki-${path}")`;
    return undefined;
}

/** Two mount paths conflict when equal or when one is nested under the other (Vault refuses both). */
export function mountsConflict(a: string, b: string): boolean {
    return a === b || a.startsWith(b + "/") || b.startsWith(a + "/");
}

export function providerOpts(parent: pulumi.Resource, provider?: vault.Provider): pulumi.CustomResourceOptions {
    return provider ? { parent, provider } : { parent };
}
