/**
 * Rotation section: the clock (`now`, refused when it goes backwards), manual generations (`rotate`), CA phases
 * (`caRotation`), CAs from a root stack (`externalCas`), and what the previous run recorded (`previous`).
 */
import { LEAVES, Scope } from "../catalog";
import {
    CA_PHASES,
    CaPhase,
    CaRotationState,
    nextCaState,
    PreviousLeaf,
    RotatableCa,
    ROTATABLE_CAS,
    trustedGenerations,
} from "../rotation";
import type { PreviousRun } from "../resolved";
import { Problems } from "./problems";

export type { PreviousRun } from "../resolved";

/** Rotation groups (`group:<name>`), derived from the catalog: every CA id and scope, plus these. */
export const ROTATION_GROUPS: string[] = [
    "all",
    "kubeconfigs",
    "certificates",
    ...new Set(LEAVES.map((l) => l.ca)),
    ...new Set<Scope>(LEAVES.map((l) => l.scope)),
];

/** The environment variable that lets a run use a clock earlier than the previous run's. */
export const ALLOW_CLOCK_BACKWARDS_ENV = "KUBE_PKI_ALLOW_CLOCK_BACKWARDS";

/** An `inventory` entry as the previous run wrote it (only the fields renewal reads). */
interface PreviousInventoryEntry {
    id?: unknown;
    node?: unknown;
    user?: unknown;
    isCa?: unknown;
    generation?: unknown;
    notBefore?: unknown;
    notAfter?: unknown;
    validityHours?: unknown;
    shortenedFromHours?: unknown;
    issuerGeneration?: unknown;
}

export interface PreviousRunInput {
    rotationState?: Record<string, CaRotationState>;
    rotationTokens?: Record<string, string>;
    inventory?: unknown;
    nextRotation?: { clock?: unknown };
    workerPoolTokens?: Record<string, { generation: number; expiration: string }[]>;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const time = (v: unknown) => (typeof v === "string" && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : undefined);

/** Reads the previous run's outputs leniently (machine-written; an entry it cannot read is skipped). */
export function readPreviousRun(previous: PreviousRunInput | undefined): PreviousRun {
    const leaves: Record<string, PreviousLeaf> = {};
    const caNotAfterMs: Record<string, number> = {};
    let latestNotBefore: number | undefined;
    const inventory = Array.isArray(previous?.inventory) ? (previous!.inventory as PreviousInventoryEntry[]) : [];
    for (const e of inventory) {
        if (!e || typeof e.id !== "string") continue;
        const notBeforeMs = time(e.notBefore);
        if (notBeforeMs !== undefined) latestNotBefore = Math.max(latestNotBefore ?? notBeforeMs, notBeforeMs);
        const notAfterMs = time(e.notAfter);
        if (notAfterMs === undefined) continue;
        if (e.isCa === true) {
            caNotAfterMs[`${e.id}/${num(e.generation) ?? 0}`] = notAfterMs;
            continue;
        }
        const suffix = typeof e.node === "string" ? e.node : typeof e.user === "string" ? e.user : undefined;
        leaves[suffix ? `${e.id}/${suffix}` : e.id] = {
            notAfterMs,
            ...(notBeforeMs !== undefined ? { notBeforeMs } : {}),
            ...(num(e.validityHours) !== undefined ? { validityHours: num(e.validityHours) } : {}),
            ...(num(e.shortenedFromHours) !== undefined ? { shortenedFromHours: num(e.shortenedFromHours) } : {}),
            ...(num(e.issuerGeneration) !== undefined ? { issuerGeneration: num(e.issuerGeneration) } : {}),
        };
    }
    const clockMs = time(previous?.nextRotation?.clock) ?? latestNotBefore;
    const workerPoolTokens = previous?.workerPoolTokens && typeof previous.workerPoolTokens === "object" ? previous.workerPoolTokens : {};
    return { tokens: previous?.rotationTokens ?? {}, leaves, caNotAfterMs, workerPoolTokens, ...(clockMs !== undefined ? { clockMs } : {}) };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `now` (RFC 3339) → ms, refused when malformed or earlier than the previous run's clock (unless allowed). */
export function validateClock(now: unknown, previous: PreviousRun, p: Problems, env: NodeJS.ProcessEnv = process.env): number {
    let nowMs = Date.now();
    if (now !== undefined && p.ok("now")) {
        const parsed = Date.parse(now as string);
        if (!/^\d{4}-\d{2}-\d{2}T/.test(now as string) || Number.isNaN(parsed)) {
            p.add("now", `"${now}" is not an RFC3339 time (e.g. "2027-01-31T12:00:00Z")`);
            return nowMs;
        }
        nowMs = parsed;
    }
    const allowed = /^(1|true|yes)$/i.test(env[ALLOW_CLOCK_BACKWARDS_ENV] ?? "");
    if (previous.clockMs !== undefined && nowMs < previous.clockMs && !allowed) {
        p.add(
            now !== undefined ? "now" : "now (the system clock)",
            `${iso(nowMs)} is earlier than the previous run's clock ${iso(previous.clockMs)}: the renewal schedule assumes time only ` +
                `moves forward (a clock in the past shows certificates as not due that were, and a plan that will not happen); ` +
                `use a later KUBE_PKI_NOW / now, fix the system clock, or set ${ALLOW_CLOCK_BACKWARDS_ENV}=1 to run with it anyway`,
        );
    }
    return nowMs;
}

export interface RotationInput {
    rotate?: unknown;
    caRotation?: unknown;
    externalCas?: unknown;
    frontProxy?: unknown;
}

export function validateRotation(
    a: RotationInput,
    nodeNames: Set<string>,
    userNames: Set<string>,
    externalEtcd: boolean,
    previousState: Record<string, CaRotationState>,
    p: Problems,
): { rotate: Record<string, number>; caStates: Record<RotatableCa, CaRotationState> } {
    const rotate = p.ok("rotate") && a.rotate && typeof a.rotate === "object" ? (a.rotate as Record<string, number>) : {};
    const leafIds = new Set(LEAVES.map((l) => l.id));
    for (const selector of Object.keys(rotate)) {
        const field = `rotate["${selector}"]`;
        if (selector.startsWith("node:")) {
            if (!nodeNames.has(selector.slice(5))) p.add(field, `"${selector.slice(5)}" is not a node (one of ${[...nodeNames].join(", ")})`);
        } else if (selector.startsWith("group:")) {
            if (!ROTATION_GROUPS.includes(selector.slice(6))) p.add(field, `unknown group (one of ${ROTATION_GROUPS.join(", ")})`);
        } else {
            const [id, target, extra] = selector.split("/");
            if (ROTATABLE_CAS.includes(id as RotatableCa)) p.add(field, `CAs and the SA key rotate through caRotation phases, not generations`);
            else if (!leafIds.has(id) || extra !== undefined) p.add(field, `unknown certificate (a catalog id such as "apiserver", optionally "/<node or user>")`);
            else if (target !== undefined && !nodeNames.has(target) && !userNames.has(target)) p.add(field, `"${target}" is not a node or user`);
        }
    }

    const requestedPhases = p.ok("caRotation") && a.caRotation && typeof a.caRotation === "object" ? (a.caRotation as Record<string, string>) : {};
    const caStates = {} as Record<RotatableCa, CaRotationState>;
    for (const key of Object.keys(requestedPhases)) {
        if (!ROTATABLE_CAS.includes(key as RotatableCa)) p.add(`caRotation.${key}`, `unknown CA (one of ${ROTATABLE_CAS.join(", ")})`);
    }
    for (const ca of ROTATABLE_CAS) {
        const requested = requestedPhases[ca] ?? "none";
        const prev = previousState[ca] ?? { phase: "none", generation: 0 };
        if (requested !== "none" && !CA_PHASES.includes(requested as CaPhase)) {
            p.add(`caRotation.${ca}`, `"${requested}" is not a phase (stage, promote, distrust; one \`pulumi up\` each)`);
            caStates[ca] = prev;
            continue;
        }
        const disabled = (ca === "etcd-ca" && externalEtcd) || (ca === "front-proxy-ca" && a.frontProxy === false);
        if (disabled && requested !== "none") p.add(`caRotation.${ca}`, `${ca} is not part of this cluster; remove the entry`);
        const next = nextCaState(prev, requested as "none" | CaPhase);
        if (typeof next === "string") {
            p.add(`caRotation.${ca}`, `"${requested}" refused (previous phase "${prev.phase}", generation ${prev.generation}): ${next}`);
            caStates[ca] = prev;
        } else {
            caStates[ca] = next;
        }
    }

    const externalCas = p.ok("externalCas") && a.externalCas && typeof a.externalCas === "object" ? (a.externalCas as Record<string, { generation: number }[]>) : {};
    for (const [id, list] of Object.entries(externalCas)) {
        if (!["ca", "etcd-ca", "front-proxy-ca"].includes(id)) {
            p.add(`externalCas.${id}`, "unknown CA (one of ca, etcd-ca, front-proxy-ca)");
            continue;
        }
        for (const gen of trustedGenerations(caStates[id as RotatableCa])) {
            if (!list.some((e) => e.generation === gen)) {
                p.add(
                    `externalCas.${id}`,
                    `generation ${gen} is needed (rotation phase "${caStates[id as RotatableCa].phase}") but not provided; issue it in the root stack (clusters[].generations) and update the root stack first`,
                );
            }
        }
    }
    return { rotate, caStates };
}
