/**
 * The rollout step of one node, run by the RemoteNodeFiles provider (remote-files/provider.ts) after the node's
 * files landed: the plan from the hashes of the provider's state (what the node's components last got) against
 * the ones just delivered, the restarts over the same SSH connection, then the gates. An update that fails here
 * leaves the state's old hashes, so the next `up` plans the same restarts again (docs/rollout.md#failure-recovery).
 */
import { Component } from "../catalog";
import { runProgram, SshTarget } from "../sinks/remote-files/ssh";
import { apiserverGate, etcdGates, Gate, runGate } from "./gates";
import { describePlan, NewHashes, nodePlan, NodePlan } from "./plan";
import { parseReload, reloadCommand, reloadProgram } from "./reload";

/** The rollout inputs of one node's RemoteNodeFiles (set by remote-config.ts). */
export interface RolloutInputs {
    /** "wave 2/4" */
    position: string;
    reload: Partial<Record<Component, string>>;
    holdSeconds: number;
    gateTimeoutSeconds: number;
    /** control planes: where the gates look */
    gate?: { address: string; apiServerPort: number; etcdPort: number; etcdMembers: string[] };
    /** path → sha256 of the file to deliver (per file, so a preview knows which ones are not known yet) */
    hashes: Record<string, string>;
    /** this run's CA phases (kube-pki:caRotation), for the fleet guards (validation/rollout.ts) */
    phases?: Record<string, string>;
    /** the bundle files to deliver (CA certificates, sa.pub: public), per file */
    bundles?: Record<string, string>;
}

const PKI = "etc/kubernetes/pki";

/** The plan from old hashes to new ones (UNKNOWN → undefined: not known yet). */
export function planOf(node: string, oldHashes: Record<string, string>, hashes: Record<string, string>, unknown: string): NodePlan {
    const news: NewHashes = Object.fromEntries(Object.entries(hashes ?? {}).map(([rel, h]) => [rel, typeof h === "string" && h !== unknown && /^[0-9a-f]{64}$/.test(h) ? h : undefined]));
    return nodePlan(node, oldHashes, news);
}

/** The gates of a node: etcd first when it is a member, then the apiserver. */
export function gatesOf(node: string, g: NonNullable<RolloutInputs["gate"]>, contents: Record<string, string>): Gate[] {
    const gates: Gate[] = [];
    const f = (rel: string) => contents[`${PKI}/${rel}`];
    if (f("etcd/server.crt") && f("etcd/ca.crt") && f("etcd/healthcheck-client.crt")) {
        gates.push(
            ...etcdGates({
                node,
                address: g.address,
                port: g.etcdPort,
                ca: f("etcd/ca.crt"),
                servingCert: f("etcd/server.crt"),
                clientCert: f("etcd/healthcheck-client.crt"),
                clientKey: f("etcd/healthcheck-client.key"),
                members: g.etcdMembers,
            }),
        );
    }
    if (f("apiserver.crt") && f("ca.crt")) {
        gates.push(
            apiserverGate({
                node,
                address: g.address,
                port: g.apiServerPort,
                bundle: f("ca.crt"),
                servingCert: f("apiserver.crt"),
                clientCert: f("apiserver-kubelet-client.crt"),
                clientKey: f("apiserver-kubelet-client.key"),
            }),
        );
    }
    return gates;
}

export interface RolloutResult {
    plan: string;
    restarted: Component[];
    gates: string[];
}

/** Restarts what the plan says, in order, then runs the gates. Throws naming the node and the step. */
export async function rollNode(t: SshTarget, root: string, r: RolloutInputs, plan: NodePlan, contents: Record<string, string>): Promise<RolloutResult> {
    const restarted: Component[] = [];
    for (const { component, because } of plan.restarts) {
        const program = reloadProgram({ root, node: t.node, component, command: reloadCommand(component, r.reload), holdSeconds: r.holdSeconds });
        const res = await runProgram(t, program);
        const out = parseReload(res.stdout);
        if (!out.ok) {
            const why = res.cut ? "the connection was cut during the reload" : (out.error ?? `the reload program failed (exit ${res.code ?? res.signal}): ${res.stderr.trim().split("\n").slice(-2).join(" ")}`);
            throw new Error(
                `kube-pki rollout: node ${t.node}: restarting ${component} (for ${because.join(", ")}) failed: ${why}` +
                    (out.log.length ? `; its output: ${out.log.join(" | ")}` : "") +
                    `. The nodes after ${t.node} were not touched; the next \`pulumi up\` restarts it again.`,
            );
        }
        restarted.push(component);
    }
    const gates: string[] = [];
    if (r.gate && plan.changed.length > 0) {
        for (const g of gatesOf(t.node, r.gate, contents)) gates.push(await runGate(g, r.gateTimeoutSeconds));
    }
    return { plan: describePlan(plan, r.position), restarted, gates };
}
