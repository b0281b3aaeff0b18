/**
 * Step `rollout`: a preview's per-node plan ("cp-2: restart etcd (etcd/ca.crt changed), kube-apiserver reloads by
 * itself") read back as data, and compared with what the machines' supervisors logged during the `up` that followed.
 */
import { COMPONENTS, Component } from "./machines";

/** node → components the preview says it restarts. Nodes the plan does not name restart nothing. */
export type NodePlan = Map<string, Set<Component>>;

/**
 * Reads every `<node>: restart <component> (...), <component> (...)[, <component> reloads by itself]` line of a
 * preview's output. A clause saying a component reloads by itself is not a restart.
 */
export function parseNodePlan(output: string, nodes: string[]): NodePlan {
    const plan: NodePlan = new Map();
    for (const raw of output.split("\n")) {
        const line = raw.trim().replace(/^[-*•]\s*/, "");
        for (const node of nodes) {
            const m = new RegExp(`(?:^|\\s)${node.replace(/[-.]/g, "\\$&")}(?: \\([^)]*\\))?:\\s+(.*)$`).exec(line);
            if (!m || !/\brestart/.test(m[1])) continue;
            const restarted = plan.get(node) ?? new Set<Component>();
            // clauses, with the parenthesised reasons dropped (they name files, which name components too)
            const clauses = m[1].replace(/\([^)]*\)/g, "").split(/[,;]/);
            let restarting = false;
            for (const clause of clauses) {
                if (/\brestart/.test(clause)) restarting = true;
                if (/reloads? by itself|no restart|unchanged/.test(clause)) continue;
                if (!restarting) continue;
                for (const c of COMPONENTS) if (new RegExp(`(^|[\\s:])${c}(\\s|$)`).test(clause)) restarted.add(c);
            }
            plan.set(node, restarted);
        }
    }
    return plan;
}

export function formatPlan(plan: NodePlan, nodes: string[]): string {
    return nodes.map((n) => `${n}: ${[...(plan.get(n) ?? [])].sort().join(", ") || "-"}`).join("; ");
}

/** node → the components its supervisor started during the up (each once, whatever the number of starts). */
export function happened(starts: Record<string, Component[]>): NodePlan {
    return new Map(Object.entries(starts).map(([n, cs]) => [n, new Set(cs)]));
}
