/** The `vault` stack-config object (per-CA Vault mode) and its validation: validateVaultConfig. */
import { CaId, CAS } from "../catalog";
import type { ResolvedVaultConfig, VaultIssuerUrls } from "../resolved";
import { ConfigError, parseDuration, shortValidityProblem } from "../validation/problems";
import { mountPathProblem, mountsConflict, VAULT_KEY_MODES, VaultKeyMode } from "./common";
import { addressProblem, resolveVaultConnection, VaultConnectionConfig } from "./connection";
import { parentValidityProblem } from "./intermediate";

export type { ResolvedVaultCa, ResolvedVaultConfig } from "../resolved";

/** Per-CA Vault settings in stack config. */
export interface VaultCaConfig {
    /** "vault" (default when the entry is present) or "local" (ignore the entry: a local CA). */
    mode?: string;
    mountPath?: string;
    /** "internal" (default) or "exported". */
    keyMode?: string;
    /** Who signs the leaves: "vault" (default: Vault roles) or "local" (tls, needs the exported key). */
    leaves?: string;
    /** The intermediate's validity ("<n>h" / "<n>d"); default: the program's CA validity. */
    validity?: string | number;
    /**
     * What the cluster's trust bundles (ca.crt, trustBundles) carry: "chain" (default: the Vault intermediate and
     * the local root that signed it) or "vault" (the Vault intermediate only: the local root, whose key is in the
     * Pulumi state, then signs nothing the cluster trusts). See docs/vault.md.
     */
    trust?: string;
}

/** The `vault` stack-config object: the connection plus one optional entry per CA id. */
export interface VaultConfig extends VaultConnectionConfig {
    ca?: VaultCaConfig;
    "etcd-ca"?: VaultCaConfig;
    "front-proxy-ca"?: VaultCaConfig;
    /** AIA / CRL URLs for every Vault CA; `{mount}` is replaced by its mount path. */
    issuerUrls?: VaultIssuerUrls;
}

export interface VaultConfigContext {
    env?: NodeJS.ProcessEnv;
    /** Default intermediate validity (the program's caValidity). */
    caValidityHours?: number;
    /**
     * The parent's NotAfter per CA id (or one for all): an intermediate validity longer than the parent's
     * remaining validity is refused. Pass it when this run signs (first creation, rotation), e.g. from a root
     * stack's output; for a standing intermediate prefer parentValidityHours (a check that does not age).
     */
    parentNotAfter?: string | Partial<Record<CaId, string>>;
    /** Else the parent's total validity (a locally created root): the intermediate may not be longer. */
    parentValidityHours?: number;
    /** The real clock (ms) for parentNotAfter; default Date.now(). Not a what-if clock (KUBE_PKI_NOW). */
    nowMs?: number;
    /** Field prefix in messages; default "vault". */
    prefix?: string;
}

const CA_IDS = CAS.map((c) => c.id) as CaId[];
const KNOWN_TOP = new Set(["address", "token", "namespace", "caCertFile", "issuerUrls", ...CA_IDS]);
const KNOWN_CA = new Set(["mode", "mountPath", "keyMode", "leaves", "validity", "trust"]);

/**
 * Validates the `vault` stack config and resolves defaults. Every problem is reported at once in a ConfigError,
 * as `field: what is wrong (fix)`: unknown keys, mount path collisions between CAs (equal or nested), keyMode
 * outside {internal, exported}, `leaves: "local"` with an internal key (nothing to sign with), an intermediate
 * validity longer than its parent, and a missing Vault address.
 */
export function validateVaultConfig(cfg: VaultConfig | undefined, ctx: VaultConfigContext = {}): ResolvedVaultConfig {
    const prefix = ctx.prefix ?? "vault";
    const env = ctx.env ?? process.env;
    const nowMs = ctx.nowMs ?? Date.now();
    const problems: string[] = [];
    const add = (field: string, msg: string) => problems.push(`${prefix}.${field}: ${msg}`);
    const resolved: ResolvedVaultConfig = { cas: {} };
    if (cfg === undefined || cfg === null) return resolved;
    if (typeof cfg !== "object" || Array.isArray(cfg)) {
        throw new ConfigError("Vault config", [`${prefix}: must be an object`]);
    }
    for (const k of Object.keys(cfg)) {
        if (!KNOWN_TOP.has(k)) add(k, `unknown field (expected one of ${[...KNOWN_TOP].join(", ")})`);
    }
    const mounts: { caId: CaId; path: string }[] = [];
    for (const caId of CA_IDS) {
        const c = (cfg as Record<string, unknown>)[caId] as VaultCaConfig | undefined;
        if (c === undefined) continue;
        if (typeof c !== "object" || c === null || Array.isArray(c)) {
            add(caId, "must be an object like { mode: vault, mountPath: pki-kubernetes, keyMode: internal }");
            continue;
        }
        for (const k of Object.keys(c)) if (!KNOWN_CA.has(k)) add(`${caId}.${k}`, `unknown field (expected one of ${[...KNOWN_CA].join(", ")})`);
        const mode = c.mode ?? "vault";
        if (mode !== "vault" && mode !== "local") {
            add(`${caId}.mode`, `"${mode}" is not one of vault, local`);
            continue;
        }
        if (mode === "local") continue;
        const mp = mountPathProblem(c.mountPath);
        if (mp) add(`${caId}.mountPath`, mp);
        else {
            const clash = mounts.find((m) => mountsConflict(m.path, c.mountPath!));
            if (clash) {
                add(
                    `${caId}.mountPath`,
                    `"${c.mountPath}" collides with ${prefix}.${clash.caId}.mountPath "${clash.path}" ` +
                        `(each CA needs its own PKI mount, not nested in another: e.g. "pki-${caId}")`,
                );
            } else mounts.push({ caId, path: c.mountPath! });
        }
        const keyMode = c.keyMode ?? "internal";
        const keyModeOk = (VAULT_KEY_MODES as readonly string[]).includes(keyMode);
        if (!keyModeOk) {
            add(`${caId}.keyMode`, `"${keyMode}" is not one of internal, exported (internal keeps the CA key in Vault; exported returns it once)`);
        }
        const leaves = c.leaves ?? "vault";
        if (leaves !== "vault" && leaves !== "local") add(`${caId}.leaves`, `"${leaves}" is not one of vault, local`);
        else if (leaves === "local" && keyMode === "internal") {
            add(
                `${caId}.leaves`,
                `"local" signs leaves with the CA key, but keyMode "internal" keeps that key inside Vault ` +
                    `(use keyMode: exported, or leaves: vault)`,
            );
        }
        const trust = c.trust ?? "chain";
        if (trust !== "chain" && trust !== "vault") {
            add(`${caId}.trust`, `"${trust}" is not one of chain, vault (vault: trust bundles carry only the Vault intermediate, not the local root)`);
        }
        let validityHours = ctx.caValidityHours ?? 87600;
        if (c.validity !== undefined) {
            const h = parseDuration(c.validity, '"43800h" or "1825d"');
            const short = typeof h === "number" ? shortValidityProblem(h) : undefined;
            if (typeof h === "string" || short) add(`${caId}.validity`, short ?? (h as string));
            else validityHours = h;
        }
        const parentNotAfter = typeof ctx.parentNotAfter === "string" ? ctx.parentNotAfter : ctx.parentNotAfter?.[caId];
        const field = c.validity !== undefined ? `${caId}.validity` : `${caId}.validity (default ${validityHours}h)`;
        if (parentNotAfter) {
            const p = parentValidityProblem(validityHours, parentNotAfter, nowMs);
            if (p) add(field, p);
        } else if (ctx.parentValidityHours !== undefined && validityHours > ctx.parentValidityHours) {
            add(field, `${validityHours}h is longer than the parent CA's ${ctx.parentValidityHours}h validity (shorten it)`);
        }
        const urls = cfg.issuerUrls
            ? {
                  issuingCertificates: cfg.issuerUrls.issuingCertificates?.map((u) => u.replace("{mount}", c.mountPath ?? "")),
                  crlDistributionPoints: cfg.issuerUrls.crlDistributionPoints?.map((u) => u.replace("{mount}", c.mountPath ?? "")),
                  ocspServers: cfg.issuerUrls.ocspServers?.map((u) => u.replace("{mount}", c.mountPath ?? "")),
              }
            : undefined;
        resolved.cas[caId] = {
            caId,
            mountPath: c.mountPath ?? "",
            keyMode: (keyModeOk ? keyMode : "internal") as VaultKeyMode,
            leaves: leaves === "local" ? "local" : "vault",
            trust: trust === "vault" ? "vault" : "chain",
            validityHours,
            ...(urls ? { issuerUrls: urls } : {}),
        };
    }
    if (Object.keys(resolved.cas).length > 0) {
        const address = cfg.address || env.VAULT_ADDR || undefined;
        const p = addressProblem(address, `${prefix}.address`);
        if (p) problems.push(p);
        else resolved.connection = resolveVaultConnection(cfg, env, `${prefix}.address`);
    }
    if (problems.length > 0) throw new ConfigError("Vault config", problems);
    return resolved;
}
