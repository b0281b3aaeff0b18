/** The human summary a run prints (what rotates and why, CA phases, what is due next): pure, from the walk's plan. */
import { LEAVES } from "./catalog";
import type { ResolvedConfig } from "./config";
import { CaRotationState, RotatableCa, trustedGenerations } from "./rotation";

export interface RunPlan {
    /** Every leaf key of this run (rotationTokens' keys). */
    leaves: string[];
    /** `<key>: <why the key is replaced>` (leaves and pool tokens). */
    rotating: string[];
    /** `<key>: <reasons>` of leaves re-issued with the key they had (validity or issuer changed). */
    reissued: string[];
    /** Leaves issued shorter than configured so that they do not outlive their CA. */
    shortened: string[];
    nextRotation: { at: string; certificates: string[] };
}

const caOfKey = (key: string) => LEAVES.find((l) => l.id === key.split("/")[0])?.ca ?? "";

export function rotationSummary(cfg: ResolvedConfig, previous: Record<string, CaRotationState>, plan: RunPlan): string {
    const lines = [`kube-pki rotation (clock ${new Date(cfg.nowMs).toISOString()}):`];
    // A CA promoted this run re-signs every leaf it issues: new certificates and kubeconfigs, same keys.
    const promoted = new Set(
        Object.keys(cfg.caStates).filter((ca) => (previous[ca]?.phase ?? "none") === "stage" && cfg.caStates[ca as RotatableCa].phase === "promote"),
    );
    const resigned = plan.leaves.filter((k) => promoted.has(caOfKey(k)));
    const { rotating, shortened } = plan;
    if (Object.keys(cfg.previous.tokens).length === 0) {
        lines.push(`  first run: ${plan.leaves.length} leaf certificates`);
    } else if (rotating.length === 0 && resigned.length === 0) {
        lines.push("  no leaf certificate rotates");
    } else if (rotating.length === 0) {
        lines.push(`  no leaf gets a new key; ${resigned.length} leaf certificate(s) are re-signed by the promoted ${[...promoted].join(", ")} (certificates and kubeconfigs replaced, keys kept)`);
    } else {
        lines.push(`  ${rotating.length} leaf certificate(s) rotate (key, CSR, cert, kubeconfig and sinks are replaced):`);
        for (const r of rotating) lines.push(`    - ${r}`);
    }
    // Re-issued with the same key for a reason other than a promoted CA (that one has its line above).
    const reissued = plan.reissued.filter((r) => !promoted.has(caOfKey(r.split(":")[0])));
    if (reissued.length > 0) {
        lines.push(`  ${reissued.length} leaf certificate(s) re-issued with the key they had:`);
        for (const r of reissued) lines.push(`    - ${r}`);
    }
    if (shortened.length > 0) {
        lines.push(`  ${shortened.length} leaf certificate(s) shortened so they do not outlive their CA (rotate the CA for full-length leaves):`);
        for (const x of shortened) lines.push(`    - ${x}`);
    }
    const unanchored = plan.leaves.filter((k) => cfg.previous.tokens[k] !== undefined && !cfg.previous.leaves[k]);
    if (unanchored.length > 0) {
        lines.push(
            `  ${unanchored.length} leaf certificate(s) have no notAfter from the previous run (its "inventory" output was not passed as ` +
                `previous.inventory): they renew only by the provider's earlyRenewalHours (${unanchored.slice(0, 3).join(", ")}${unanchored.length > 3 ? ", ..." : ""})`,
        );
    }
    for (const [ca, state] of Object.entries(cfg.caStates)) {
        const prev = previous[ca] ?? { phase: "none", generation: 0 };
        const gens = trustedGenerations(state).join(", ");
        if (prev.phase !== state.phase || prev.generation !== state.generation) {
            const what = {
                none: state.phase === prev.phase ? "" : prev.phase === "stage" ? "staged CA dropped" : "rotation finished",
                stage: `new generation ${state.generation + 1} created and trusted; leaves still signed by generation ${state.generation}`,
                promote:
                    ca === "sa"
                        ? `sa.key is generation ${state.generation} (new tokens signed by it); sa.pub still holds generation ${state.generation - 1}`
                        : `leaves re-signed by generation ${state.generation}; generation ${state.generation - 1} still trusted`,
                distrust: `generation ${state.generation - 1} removed from every trust bundle and destroyed`,
            }[state.phase];
            lines.push(`  ${ca}: ${prev.phase} → ${state.phase}: ${what} (trusted: ${gens})`);
        } else if (state.phase !== "none") {
            lines.push(`  ${ca}: phase ${state.phase} (trusted generations ${gens})`);
        }
    }
    const next = plan.nextRotation;
    lines.push(`  next renewal: ${next.at} (${next.certificates.slice(0, 5).join(", ")}${next.certificates.length > 5 ? `, +${next.certificates.length - 5} more` : ""})`);
    return lines.join("\n");
}
