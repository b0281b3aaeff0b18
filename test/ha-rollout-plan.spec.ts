/**
 * e2e step `rollout` reads each preview's per-node plan back (e2e/ha-rollout/plan.ts) to compare it with the
 * restarts the machines' supervisors logged. Here the reader meets the lines the rollout itself writes
 * (components/rollout/plan.ts describePlan), so a change of their wording fails here, not only live.
 */
import { strict as assert } from "node:assert";
import { describePlan, nodePlan } from "../components/rollout/plan";
import { formatPlan, parseNodePlan } from "../e2e/ha-rollout/plan";

const NODES = ["cp-1", "cp-2", "cp-3"];

describe("e2e rollout: the preview's per-node plan read back", () => {
    it("restarts listed by describePlan are read; components that reload by themselves are not restarts", () => {
        const oldHashes = { "etc/kubernetes/pki/etcd/ca.crt": "a", "etc/kubernetes/pki/apiserver.crt": "a", "etc/kubernetes/scheduler.conf": "a", "etc/kubernetes/pki/sa.pub": "a" };
        const newHashes = { "etc/kubernetes/pki/etcd/ca.crt": "b", "etc/kubernetes/pki/apiserver.crt": "b", "etc/kubernetes/scheduler.conf": "b", "etc/kubernetes/pki/sa.pub": "a" };
        const line = describePlan(nodePlan("cp-2", oldHashes, newHashes), "wave 2/3");
        const plan = parseNodePlan(line, NODES);
        assert.equal(formatPlan(plan, NODES), "cp-1: -; cp-2: etcd, kube-apiserver, kube-scheduler; cp-3: -", line);
    });

    it("only a file a component reloads by itself changed: no restart", () => {
        const line = describePlan(nodePlan("cp-1", { "etc/kubernetes/pki/apiserver.crt": "a" }, { "etc/kubernetes/pki/apiserver.crt": "b" }), "wave 1/3");
        assert.match(line, /reloads by itself/);
        assert.equal(formatPlan(parseNodePlan(line, NODES), NODES), "cp-1: -; cp-2: -; cp-3: -");
    });

    it("a node with no file changes restarts nothing; lines of other nodes do not leak", () => {
        const lines = [describePlan(nodePlan("cp-3", {}, {})), describePlan(nodePlan("cp-1", { "etc/kubernetes/controller-manager.conf": "a" }, { "etc/kubernetes/controller-manager.conf": "b" }))].join("\n");
        assert.equal(formatPlan(parseNodePlan(lines, NODES), NODES), "cp-1: kube-controller-manager; cp-2: -; cp-3: -");
    });
});
