/**
 * Stack config of the rollout (docs/rollout.md#configuration), self-contained like the remote sink's:
 *
 *   kube-pki:rollout: { maxUnavailable?, workerBatchSize?, gateTimeout?, etcdClientPort?, staticPodHold?,
 *                       reload?: { <component>: "<sh command>" }, poolsRolled?: { <pool>: { ca: "<phase>:<generation>" } } }
 *   kube-pki:remoteNodes.<node>.reload: per-node overrides of `reload`
 *
 * Every problem names its key and what to put there.
 */
import { z } from "zod";
import { COMPONENTS, Component } from "../catalog";

export const ROLLOUT_DEFAULTS = { maxUnavailable: 1, workerBatchSize: 10, gateTimeout: "5m", etcdClientPort: 2379, staticPodHold: "25s" } as const;

const reloadSchema = z.record(z.string(), z.string());

export const rolloutSchema = z
    .object({
        maxUnavailable: z.number().optional(),
        workerBatchSize: z.number().optional(),
        gateTimeout: z.union([z.string(), z.number()]).optional(),
        etcdClientPort: z.number().optional(),
        staticPodHold: z.union([z.string(), z.number()]).optional(),
        reload: reloadSchema.optional(),
        poolsRolled: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number()]))).optional(),
    })
    .strict();

export type RolloutConfigInput = z.infer<typeof rolloutSchema>;

/** The rollout settings, resolved (durations in seconds). */
export interface RolloutSettings {
    maxUnavailable: number;
    workerBatchSize: number;
    gateTimeoutSeconds: number;
    etcdClientPort: number;
    staticPodHoldSeconds: number;
    reload: Partial<Record<Component, string>>;
    poolsRolled: PoolsRolled;
}

/**
 * `kube-pki:rollout.poolsRolled`: pool → CA id → when the operator last replaced every machine of the pool,
 * `"<phase>:<generation>"` (validation/rollout.ts poolPhaseProblems; docs/rollout.md#ca-phases-across-the-fleet).
 */
export type PoolsRolled = Record<string, Record<string, string>>;

/** A roll confirmation: the pool was rolled after the `up` of `phase` (stage or promote) of CA generation `generation`. */
export interface PoolRoll {
    phase: "stage" | "promote";
    generation: number;
}

/** `"stage:1"` / `"promote:1"` → the roll, or undefined. */
export function parsePoolRoll(v: unknown): PoolRoll | undefined {
    const m = typeof v === "string" ? /^(stage|promote):(\d+)$/.exec(v.trim()) : null;
    return m ? { phase: m[1] as PoolRoll["phase"], generation: Number(m[2]) } : undefined;
}

/** "25s", "5m", "1h" or a number of seconds → seconds; or a problem. */
export function parseSeconds(v: unknown): number | string {
    if (typeof v === "number") return Number.isFinite(v) && v > 0 ? v : "must be a positive number of seconds";
    const m = typeof v === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(v) : null;
    if (!m) return `${JSON.stringify(v)} is not a duration (e.g. "25s", "5m", "1h")`;
    const n = Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
    return n > 0 ? n : "must be longer than 0s";
}

/** Problems of a `reload` map (unknown component, empty command), each naming `<prefix>.<component>`. */
export function reloadProblems(reload: Record<string, unknown> | undefined, prefix: string): string[] {
    const problems: string[] = [];
    for (const [c, cmd] of Object.entries(reload ?? {})) {
        if (!(COMPONENTS as readonly string[]).includes(c)) problems.push(`${prefix}.${c}: not a component (one of ${COMPONENTS.join(", ")})`);
        else if (typeof cmd !== "string" || cmd.trim() === "") problems.push(`${prefix}.${c}: must be a non-empty POSIX sh command (placeholders {root} {node} {component} {hold})`);
        // eslint-disable-next-line no-control-regex
        else if (/[\x00]/.test(cmd)) problems.push(`${prefix}.${c}: must not contain NUL`);
    }
    return problems;
}

/** Reads and checks `kube-pki:rollout` (undefined: the defaults). Returns the settings or the problems. */
export function resolveRollout(raw: unknown): { settings?: RolloutSettings; problems: string[] } {
    const parsed = rolloutSchema.safeParse(raw ?? {});
    if (!parsed.success) {
        return {
            problems: parsed.error.issues.map((i) => {
                const at = i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
                const fix = i.code === "unrecognized_keys" ? ` (the fields: ${Object.keys(rolloutSchema.shape).join(", ")})` : "";
                return `kube-pki:rollout${at}: ${i.message}${fix}`;
            }),
        };
    }
    const r = parsed.data;
    const problems: string[] = [];
    const int = (key: "maxUnavailable" | "workerBatchSize" | "etcdClientPort", max: number) => {
        const v = r[key] ?? ROLLOUT_DEFAULTS[key];
        if (!Number.isInteger(v) || v < 1 || v > max) problems.push(`kube-pki:rollout.${key}: ${JSON.stringify(v)} must be a whole number from 1 to ${max}`);
        return v;
    };
    const dur = (key: "gateTimeout" | "staticPodHold") => {
        const v = parseSeconds(r[key] ?? ROLLOUT_DEFAULTS[key]);
        if (typeof v === "string") problems.push(`kube-pki:rollout.${key}: ${v}`);
        return typeof v === "number" ? v : 0;
    };
    const settings: RolloutSettings = {
        maxUnavailable: int("maxUnavailable", 1000),
        workerBatchSize: int("workerBatchSize", 100000),
        etcdClientPort: int("etcdClientPort", 65535),
        gateTimeoutSeconds: dur("gateTimeout"),
        staticPodHoldSeconds: dur("staticPodHold"),
        reload: (r.reload ?? {}) as Partial<Record<Component, string>>,
        poolsRolled: Object.fromEntries(Object.entries(r.poolsRolled ?? {}).map(([pool, cas]) => [pool, Object.fromEntries(Object.entries(cas).map(([ca, v]) => [ca, String(v)]))])),
    };
    problems.push(...reloadProblems(r.reload, "kube-pki:rollout.reload"));
    for (const [pool, gens] of Object.entries(r.poolsRolled ?? {})) {
        for (const [ca, g] of Object.entries(gens)) {
            if (!["ca", "etcd-ca", "front-proxy-ca", "sa"].includes(ca)) problems.push(`kube-pki:rollout.poolsRolled.${pool}.${ca}: not a CA id (ca, etcd-ca, front-proxy-ca, sa)`);
            else if (ca !== "ca") problems.push(`kube-pki:rollout.poolsRolled.${pool}.${ca}: only ca reaches pool machines (their kubelet.conf and client certificate); the other CAs need no confirmation`);
            else if (!parsePoolRoll(g))
                problems.push(
                    `kube-pki:rollout.poolsRolled.${pool}.${ca}: ${JSON.stringify(g)} is not a roll confirmation: "stage:<generation>" (every machine replaced after the stage up of that ca generation) ` +
                        `or "promote:<generation>" (after its promote up); the refusal of the phase names the value`,
                );
        }
    }
    return problems.length > 0 ? { problems } : { settings, problems };
}
