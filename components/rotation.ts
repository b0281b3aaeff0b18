/**
 * Rotation model (docs/design.md#rotation-model), pure functions so that a preview can explain itself.
 *
 * Leaves: a deterministic token per certificate, anchored on the certificate itself: its clock part changes when
 * the clock reaches the previous certificate's notAfter − renewBefore (notAfter read from the previous run's
 * `inventory` output), never before; manual generations that apply to the cert are appended. The token is the
 * key's `replacementTrigger`: when it changes, the key, CSR, certificate, kubeconfig and every sink entry are
 * replaced together, and nothing else is. The same `renewAtMs` / `renewalStatus` give `check-expiration` its
 * RENEWS AT and STATUS, so the report and the preview agree at every instant.
 *
 * CAs and the SA key: never replaced by the clock (that would break trust in one step). They rotate through
 * three phases, one `pulumi up` each: stage → promote → distrust.
 */
import { HOUR_MS, rfc3339Seconds } from "./time";

export { rfc3339Seconds } from "./time";

export const ROTATABLE_CAS = ["ca", "etcd-ca", "front-proxy-ca", "sa"] as const;
export type RotatableCa = (typeof ROTATABLE_CAS)[number];
export const CA_PHASES = ["stage", "promote", "distrust"] as const;
export type CaPhase = (typeof CA_PHASES)[number];

/** The rotation state of one CA (or the SA key) after a run: the phase and the generation that signs. */
export interface CaRotationState {
    phase: "none" | CaPhase;
    /** The active generation: it signs leaves (for sa: it is sa.key). Generation 0 is the first CA. */
    generation: number;
}

/** Generations that exist and are trusted in a state, active first (kubeadm pairs ca.crt's first cert with ca.key). */
export function trustedGenerations(s: CaRotationState): number[] {
    switch (s.phase) {
        case "stage":
            return [s.generation, s.generation + 1];
        case "promote":
            return [s.generation, s.generation - 1];
        default:
            return [s.generation];
    }
}

/**
 * The next state of a CA given the previous state and the phase requested in config, or an error message.
 * Legal: none→stage, stage→promote, promote→distrust, distrust→none|stage, stage→none (abort a staged CA),
 * and any phase → itself (a re-run).
 */
export function nextCaState(prev: CaRotationState, requested: "none" | CaPhase): CaRotationState | string {
    if (requested === prev.phase) return prev;
    const from = prev.phase;
    switch (requested) {
        case "stage":
            if (from === "none" || from === "distrust") return { phase: "stage", generation: prev.generation };
            return `cannot stage while the previous rotation is in "${from}"; finish it with "distrust" first`;
        case "promote":
            if (from === "stage") return { phase: "promote", generation: prev.generation + 1 };
            return `cannot promote from "${from}": a new CA must be staged first (set "stage" and run \`pulumi up\`)`;
        case "distrust":
            if (from === "promote") return { phase: "distrust", generation: prev.generation };
            return from === "stage"
                ? `cannot distrust from "stage": leaves are still signed by the old CA; "promote" first`
                : `cannot distrust from "${from}": there is no old CA to distrust; start with "stage"`;
        case "none":
            if (from === "distrust") return { phase: "none", generation: prev.generation };
            if (from === "stage") return { phase: "none", generation: prev.generation }; // abort: drop the staged CA
            return `cannot drop the rotation in "promote": leaves are signed by the new CA and clients may still hold the old one; set "distrust"`;
    }
}

/**
 * The one renewal schedule (preview decisions and `check-expiration` both call these): a certificate is due at
 * notAfter − renewBefore, and expired after notAfter (Go x509: valid through NotAfter inclusive).
 */
export function renewAtMs(notAfterMs: number, renewBeforeHours: number): number {
    return notAfterMs - renewBeforeHours * HOUR_MS;
}

export type RenewalStatus = "ok" | "renew-due" | "expired";

/** "expired" after notAfter, "renew-due" from renewAt on, else "ok". Without renewAt only expiry is judged. */
export function renewalStatus(nowMs: number, notAfterMs: number, renewAt?: number): RenewalStatus {
    if (nowMs > notAfterMs) return "expired";
    if (renewAt !== undefined && nowMs >= renewAt) return "renew-due";
    return "ok";
}

/** What the previous run recorded about one leaf (from its `inventory` output). */
export interface PreviousLeaf {
    notBeforeMs?: number;
    notAfterMs: number;
    /** The validity the certificate was issued with (after a cap at the CA's life). */
    validityHours?: number;
    /** The configured validity, when the cap shortened it. */
    shortenedFromHours?: number;
    /** The issuing CA's generation; absent in inventories written before kube-pki recorded it. */
    issuerGeneration?: number;
}

export interface LeafRenewalInput {
    /** The key's previous rotation token (`rotationTokens` output), if any. */
    previousToken?: string;
    previous?: PreviousLeaf;
    renewBeforeHours: number;
    nowMs: number;
    /** Manual generations that select this leaf (selector → generation). */
    generations: Record<string, number>;
}

export interface LeafRenewal {
    /** The key's replacementTrigger: `r<renewals>` (or a legacy `e<epoch>` kept until the first renewal), plus `;<selector>=<gen>`. */
    token: string;
    /** The clock reached the previous certificate's notAfter − renewBefore. */
    renewed: boolean;
    /** When the previous certificate was due; undefined without a previous notAfter. */
    renewAtMs?: number;
    /** Why the token changed, in words (undefined: unchanged). */
    reason?: string;
}

/** The token parts of a leaf: its clock part (renewed?), and the manual selectors that changed since the previous token. */
export interface LeafTokenParts {
    token: string;
    renewed: boolean;
    renewAtMs?: number;
    /** Selectors whose generation differs from the previous token's (empty without a previous token). */
    changedSelectors: string[];
}

/**
 * Renewal anchored on the certificate: the clock part of the token changes only when `now` has reached the
 * previous certificate's own notAfter − renewBefore. A new certificate starts at `r0`. A token of the
 * epoch-aligned model (`e<epoch>`, before kube-pki 0.x) is kept as it is until that certificate is due, so an
 * existing stack migrates without a rotation. Without a previous notAfter (an inventory not read back) the clock
 * part never changes here; the provider's earlyRenewalHours still replaces the certificate in its window.
 */
export function leafToken(input: LeafRenewalInput): LeafTokenParts {
    const [prevBase, ...prevManual] = input.previousToken?.split(";") ?? [];
    let base = prevBase ?? "r0";
    let renewed = false;
    let renewAt: number | undefined;
    if (prevBase !== undefined && input.previous) {
        renewAt = renewAtMs(input.previous.notAfterMs, input.renewBeforeHours);
        if (renewalStatus(input.nowMs, input.previous.notAfterMs, renewAt) !== "ok") {
            renewed = true;
            const count = /^r(\d+)$/.exec(prevBase);
            base = `r${count ? Number(count[1]) + 1 : 1}`;
        }
    }
    const manual = Object.entries(input.generations)
        .filter(([, g]) => g > 0)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, g]) => `${k}=${g}`);
    const changedSelectors =
        input.previousToken === undefined
            ? []
            : [...new Set([...prevManual, ...manual].filter((x) => !(prevManual.includes(x) && manual.includes(x))).map((x) => x.split("=")[0]))];
    return { token: [base, ...manual].join(";"), renewed, ...(renewAt !== undefined ? { renewAtMs: renewAt } : {}), changedSelectors };
}

/** `renewal window (notAfter … − renewBefore …h = …)`: the words of a clock renewal. */
export const renewalWindowText = (notAfterMs: number, renewBeforeHours: number, renewAt: number) =>
    `renewal window (notAfter ${rfc3339Seconds(notAfterMs)} − renewBefore ${renewBeforeHours}h = ${rfc3339Seconds(renewAt)})`;

/** `manual rotation (selectors)`: the words of a raised generation. */
export const manualRotationText = (selectors: string[]) => `manual rotation (${selectors.join(", ")})`;

/** The token and why it changed, in words (renewal.ts leafDecision gives the named reasons of a whole leaf). */
export function leafRenewal(input: LeafRenewalInput): LeafRenewal {
    const t = leafToken(input);
    const reasons: string[] = [];
    if (t.renewed) reasons.push(renewalWindowText(input.previous!.notAfterMs, input.renewBeforeHours, t.renewAtMs!));
    if (t.changedSelectors.length) reasons.push(manualRotationText(t.changedSelectors));
    return { token: t.token, renewed: t.renewed, ...(t.renewAtMs !== undefined ? { renewAtMs: t.renewAtMs } : {}), ...(reasons.length ? { reason: reasons.join(" + ") } : {}) };
}

/**
 * The longest validity (whole hours) a leaf issued at `issueMs` may have under a CA that ends at `caNotAfterMs`:
 * min(configured, remaining − 1 h). The hour of margin covers the time between the program's clock and the
 * provider's signing (the provider sets NotBefore when it signs).
 */
export function cappedValidityHours(configuredHours: number, caNotAfterMs: number, issueMs: number): number {
    return Math.min(configuredHours, Math.floor((caNotAfterMs - issueMs) / HOUR_MS) - 1);
}
