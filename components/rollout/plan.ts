/**
 * Rollout plan (docs/rollout.md): from a node's old and new file hashes, which components must restart (they read
 * a changed file and do not reload it) and which pick the change up by themselves; and the order of the nodes
 * (control planes `maxUnavailable` at a time, then workers in batches). Pure: data in, data out.
 */
import { COMPONENTS, Component, FILE_READERS } from "../catalog";

/** A file's new hash, or undefined when it is not known yet (preview: the certificate is being re-issued). */
export type NewHashes = Record<string, string | undefined>;

export interface NodePlan {
    node: string;
    /** files that change (new, different, or not known yet), sorted */
    changed: string[];
    /** components to restart, in restart order, with the changed files that force it */
    restarts: { component: Component; because: string[] }[];
    /** components that read a changed file and reload it themselves (and restart for no other file) */
    reloadsItself: { component: Component; files: string[] }[];
    /** the changed hashes are not all known yet (a preview of a re-issue) */
    pending: boolean;
}

/** The path without the kubeadm prefix, as the plan prints it: `pki/etcd/ca.crt`, `scheduler.conf`. */
export const shortPath = (rel: string) => rel.replace(/^etc\/kubernetes\//, "");

/** The files of `newHashes` whose hash differs from `oldHashes` (or is unknown, or new). */
export function changedFiles(oldHashes: Record<string, string>, newHashes: NewHashes): string[] {
    return Object.keys(newHashes)
        .filter((rel) => newHashes[rel] === undefined || oldHashes[rel] !== newHashes[rel])
        .sort();
}

/** The plan of one node from the hashes its components last read (old) and the ones delivered now (new). */
export function nodePlan(node: string, oldHashes: Record<string, string>, newHashes: NewHashes): NodePlan {
    const changed = changedFiles(oldHashes, newHashes);
    const restart = new Map<Component, string[]>();
    const reload = new Map<Component, string[]>();
    for (const rel of changed) {
        for (const r of FILE_READERS[rel] ?? []) {
            const m = r.reloads ? reload : restart;
            const list = m.get(r.component) ?? [];
            if (!list.includes(rel)) list.push(rel);
            m.set(r.component, list);
        }
    }
    const order = (c: Component) => COMPONENTS.indexOf(c);
    return {
        node,
        changed,
        restarts: [...restart.entries()].sort(([a], [b]) => order(a) - order(b)).map(([component, because]) => ({ component, because })),
        reloadsItself: [...reload.entries()]
            .filter(([c]) => !restart.has(c))
            .sort(([a], [b]) => order(a) - order(b))
            .map(([component, files]) => ({ component, files })),
        pending: changed.some((rel) => newHashes[rel] === undefined),
    };
}

/** One line per node, as the preview shows it: "cp-2: restart etcd (pki/etcd/ca.crt changed); kube-apiserver reloads by itself (pki/apiserver.crt)". */
export function describePlan(p: NodePlan, position?: string): string {
    const head = position ? `${p.node} (${position})` : p.node;
    if (p.changed.length === 0) return `${head}: no file changes, nothing to restart`;
    const verb = p.pending ? "changes" : "changed";
    const list = (files: string[]) => files.map(shortPath).join(", ");
    const parts = [
        ...p.restarts.map((r) => `restart ${r.component} (${list(r.because)} ${verb})`),
        ...p.reloadsItself.map((r) => `${r.component} reloads by itself (${list(r.files)})`),
    ];
    if (parts.length === 0) parts.push(`no component reads what changes (${list(p.changed)}): nothing to restart`);
    return `${head}: ${parts.join("; ")}`;
}

export type NodeRole = "control-plane" | "worker";

/**
 * The rollout waves: control planes `maxUnavailable` at a time, in the given order, then the workers in batches of
 * `workerBatchSize`. Each wave starts when the previous one passed its gates.
 */
export function rolloutWaves(nodes: { name: string; role: NodeRole }[], maxUnavailable: number, workerBatchSize: number): string[][] {
    const chunk = (names: string[], n: number) => Array.from({ length: Math.ceil(names.length / n) }, (_, i) => names.slice(i * n, i * n + n));
    const cps = nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
    const workers = nodes.filter((n) => n.role === "worker").map((n) => n.name);
    return [...chunk(cps, Math.max(1, maxUnavailable)), ...chunk(workers, Math.max(1, workerBatchSize))];
}

/** A node's role from its file map: a node with an apiserver certificate is a control plane. */
export const roleOfFiles = (paths: string[]): NodeRole => (paths.includes("etc/kubernetes/pki/apiserver.crt") ? "control-plane" : "worker");
