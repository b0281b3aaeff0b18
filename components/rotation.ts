/**
 * Rotation model (DESIGN §5), pure functions so that a preview can explain itself.
 *
 * Leaves: a deterministic token `e<epoch>` with epoch = floor(now / (validity − renewBefore)), plus any manual
 * generations that apply to the cert. The token is the key's `replacementTrigger`: when it changes, the key, CSR,
 * certificate, kubeconfig and every sink entry are replaced together, and nothing else is. A cert created at any
 * time is replaced at the next epoch boundary, at most (validity − renewBefore) after it was issued, so at least
 * renewBefore before it expires — provided the stack is updated regularly.
 *
 * CAs and the SA key: never replaced by the clock (that would break trust in one step). They rotate through
 * three phases, one `pulumi up` each: stage → promote → distrust.
 */

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

/** Renewal epoch of a leaf at `nowMs`. */
export function renewalEpoch(nowMs: number, validityHours: number, renewBeforeHours: number): number {
    const periodMs = (validityHours - renewBeforeHours) * 3_600_000;
    return Math.floor(nowMs / periodMs);
}

/** When the epoch after `epoch` begins. */
export function nextRenewal(epoch: number, validityHours: number, renewBeforeHours: number): Date {
    return new Date((epoch + 1) * (validityHours - renewBeforeHours) * 3_600_000);
}

/** The rotation token: `e<epoch>` plus `;<selector>=<generation>` for each nonzero manual generation, sorted. */
export function rotationToken(epoch: number, generations: Record<string, number>): string {
    const manual = Object.entries(generations)
        .filter(([, g]) => g > 0)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, g]) => `;${k}=${g}`)
        .join("");
    return `e${epoch}${manual}`;
}

/** Why a token changed, in words for the preview summary; undefined when it did not. */
export function explainTokenChange(previous: string | undefined, next: string): string | undefined {
    if (previous === undefined || previous === next) return undefined;
    const [pe, ...pm] = previous.split(";");
    const [ne, ...nm] = next.split(";");
    const reasons: string[] = [];
    if (pe !== ne) reasons.push(`renewal window (epoch ${pe.slice(1)} → ${ne.slice(1)})`);
    const manual = [...new Set([...pm, ...nm])].filter((x) => !(pm.includes(x) && nm.includes(x)));
    const changed = [...new Set(manual.map((x) => x.split("=")[0]))];
    if (changed.length) reasons.push(`manual rotation (${changed.join(", ")})`);
    return reasons.join(" + ");
}
