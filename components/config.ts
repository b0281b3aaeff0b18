/**
 * ClusterPki arguments and their validation. The settings are declared once in settings.ts (the one config schema:
 * the ClusterPkiSettings interface is generated from it into settings-types.ts); the resolved form the component
 * walks is in resolved.ts.
 *
 * Validation runs before any resource is registered. Every problem is reported with the field path and a fix,
 * all at once, in one `ConfigError`.
 */
import { z } from "zod";
import { CA_PHASES, CaRotationState, RotatableCa } from "./rotation";
import type { ExternalCa, ResolvedConfig } from "./resolved";
import { REQUIRED_HINTS, settingsShape } from "./settings";
import type { ClusterPkiSettings } from "./settings-types";
import type { VaultConfig } from "./vault";
import { validateKeys } from "./validation/keys";
import { validateNetwork } from "./validation/network";
import { validateNodes } from "./validation/nodes";
import { ConfigError, fieldPath, Problems } from "./validation/problems";
import { readPreviousRun, validateClock, validateRotation } from "./validation/rotation";
import { validateUsers } from "./validation/users";
import { validateValidity } from "./validation/validity";
import { validateVaultSection } from "./validation/vault";
import { validateWorkerPools } from "./validation/worker-pools";

export type { ExternalCa, ResolvedConfig, ResolvedNode, ResolvedUser } from "./resolved";
export type { ClusterPkiSettings, ControlPlaneNode, ExtraUser, WorkerNode, WorkerPoolSpec } from "./settings-types";
export { ConfigError, parseHours, canonicalIp, isIp, firstIp } from "./validation/problems";
export { ROTATION_GROUPS, ALLOW_CLOCK_BACKWARDS_ENV } from "./validation/rotation";
export { parseControlPlaneEndpoint, validateServiceSubnet } from "./validation/network";

/** Arguments of `ClusterPki`: the settings, plus CAs from elsewhere and what the previous run recorded. */
export interface ClusterPkiArgs extends ClusterPkiSettings {
    /**
     * CAs provided from outside instead of created here, per CA id: e.g. a root stack's intermediates, one entry
     * per generation (see caRotation). Keys must be Pulumi secrets.
     */
    externalCas?: Record<string, ExternalCa[]>;
    /**
     * CAs in HashiCorp Vault's PKI engine instead of local keys, per CA id, plus the connection:
     * `{address?, namespace?, caCertFile?, issuerUrls?, ca?: {mountPath, keyMode: internal|exported, leaves: vault|local, trust: chain|vault, validity?}, ...}`
     * (docs/vault.md).
     */
    vault?: VaultConfig;
    /**
     * What the previous run recorded (the stack's own outputs, see PREVIOUS_RUN_OUTPUTS): CA phases (to refuse
     * illegal changes), rotation tokens, the inventory (each leaf's notAfter: renewal is anchored on it) and
     * nextRotation (its `clock`: a clock that goes backwards is refused).
     */
    previous?: {
        rotationState?: Record<string, CaRotationState>;
        rotationTokens?: Record<string, string>;
        /** The previous `inventory` output (InventoryEntry[]). */
        inventory?: unknown[];
        /** The previous `nextRotation` output. */
        nextRotation?: { at?: string; certificates?: string[]; clock?: string };
        /** The previous `workerPoolTokens` output: per pool, each live token's generation and expiration. */
        workerPoolTokens?: Record<string, { generation: number; expiration: string }[]>;
    };
}

/** The stack outputs a program passes back as `previous` (same names as ClusterPki's outputs). */
export const PREVIOUS_RUN_OUTPUTS = ["rotationState", "rotationTokens", "inventory", "nextRotation", "workerPoolTokens"] as const;

/** The settings (settings.ts) plus what only library callers pass: CAs from elsewhere and the previous run. */
const schema = z.strictObject({
    ...settingsShape,
    externalCas: z.record(z.string(), z.array(z.object({ generation: z.number().int().nonnegative(), certPem: z.any(), keyPem: z.any() }))).optional(),
    previous: z
        .object({
            rotationState: z
                .record(z.string(), z.object({ phase: z.enum(["none", ...CA_PHASES]), generation: z.number().int().nonnegative() }))
                .optional(),
            rotationTokens: z.record(z.string(), z.string()).optional(),
            inventory: z.array(z.any()).optional(),
            nextRotation: z.object({ clock: z.string().optional() }).optional(),
            workerPoolTokens: z.record(z.string(), z.array(z.object({ generation: z.number().int().nonnegative(), expiration: z.string() }))).optional(),
        })
        .optional(),
});

/** One schema issue as `field: problem (fix)`. */
function schemaProblem(issue: z.core.$ZodIssue): string {
    const where = fieldPath(issue.path) || "(args)";
    if (issue.code === "unrecognized_keys") {
        return `${where}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")} (check the spelling; docs/configuration.md lists the fields)`;
    }
    if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) {
        const hint = REQUIRED_HINTS[where.replace(/\[\d+\]/g, "[]")];
        return `${where}: is required${hint ? ` (${hint})` : ""}`;
    }
    if (issue.code === "invalid_type") {
        return `${where}: must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected} (${issue.message.replace(/^Invalid input: /, "")})`;
    }
    return `${where}: ${issue.message}`;
}

/**
 * Validates ClusterPki args and resolves defaults. Throws one ConfigError naming every bad field: the schema's
 * problems (types, required and unknown fields) and every section's (network, nodes, users, validity, keys,
 * rotation, Vault) in one pass; a check that depends on a field the schema refused is skipped.
 * Runs before any resource is registered, so bad config creates nothing. It needs no engine: a CI job can call it.
 */
export function validateClusterPkiArgs(args: ClusterPkiArgs, context = "ClusterPki config"): ResolvedConfig {
    const p = new Problems();
    const input = (args ?? {}) as ClusterPkiArgs;
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            p.list.push(schemaProblem(issue));
            // An unknown key does not make its object unusable; any other issue does for the checks below.
            if (issue.code !== "unrecognized_keys") p.refuse(fieldPath(issue.path));
        }
    }
    if (typeof input !== "object" || Array.isArray(input)) throw new ConfigError(context, p.list);
    const a = input;

    const network = validateNetwork(a, p);
    const nodes = validateNodes(a, p);
    const validity = validateValidity(a, p);
    const keys = validateKeys(a, p);
    const users = validateUsers(a, validity.validityHours.leaf, validity.renewBeforeHours.leaf, validity.validityHours.ca, p);
    const previous = readPreviousRun(p.ok("previous") ? a.previous : undefined);
    const nowMs = validateClock(a.now, previous, p);
    const nodeNames = new Set([...nodes.controlPlanes, ...nodes.workers].map((n) => n.name));
    const { rotate, caStates } = validateRotation(
        a,
        nodeNames,
        new Set(users.map((u) => u.name)),
        nodes.externalEtcd,
        (p.ok("previous") ? a.previous?.rotationState : undefined) ?? {},
        p,
    );
    const vault = validateVaultSection(a, validity.validityHours.ca, nodes.externalEtcd, p);
    const workerPools = validateWorkerPools(a, nodeNames, validity.validityHours.ca, p);

    if (p.list.length > 0) throw new ConfigError(context, p.list);

    return {
        vault,
        nowMs,
        rotate,
        caStates: caStates as Record<RotatableCa, CaRotationState>,
        previous,
        ...network,
        controlPlanes: nodes.controlPlanes,
        workers: nodes.workers,
        workerPools,
        etcdMembers: nodes.etcdMembers,
        users,
        features: {
            stackedEtcd: !nodes.externalEtcd,
            frontProxy: a.frontProxy ?? true,
            superAdmin: a.superAdmin ?? true,
            kubeProxy: a.kubeProxy ?? false,
            kubeletServing: nodes.kubeletServing,
        },
        keys,
        validityHours: validity.validityHours,
        renewBeforeHours: validity.renewBeforeHours,
    };
}
