/**
 * The import graph of components/ has no cycle (scripts/import-cycles.ts), and the data path runs one way: the
 * sinks, the report and worker pools do not import the component (they read model.ts), and model.ts, pem.ts and
 * time.ts import nothing of ours.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { cycles, cyclePath, importGraph } from "../scripts/import-cycles";

const REPO = path.resolve(__dirname, "..");


describe("import graph of components/ (one-way data path)", () => {
    const graph = importGraph(REPO);

    it("finds a cycle when there is one (the walker itself)", () => {
        const g = new Map([
            ["a.ts", ["b.ts"]],
            ["b.ts", ["c.ts"]],
            ["c.ts", ["a.ts"]],
            ["d.ts", ["a.ts"]],
        ]);
        assert.deepEqual(cycles(g), [["a.ts", "b.ts", "c.ts"]]);
        assert.equal(cyclePath(g, ["a.ts", "b.ts", "c.ts"]), "a.ts → b.ts → c.ts → a.ts");
        assert.deepEqual(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), []);
        assert.ok(graph.size > 40 && (graph.get("components/cluster-pki.ts") ?? []).includes("components/leaves.ts"), "reads the real tree");
    });

    it("has no cycle", () => {
        assert.deepEqual(cycles(graph).map((scc) => cyclePath(graph, scc)), []);
    });

    it("cluster-pki.ts is in no cycle; sinks, the report and worker pools do not import it", () => {
        for (const scc of cycles(graph)) assert.ok(!scc.includes("components/cluster-pki.ts"), scc.join(", "));
        const importers = [...graph].filter(([, deps]) => deps.includes("components/cluster-pki.ts")).map(([m]) => m).sort();
        assert.deepEqual(importers, ["components/index.ts", "components/internal.ts"]);
    });

    it("model.ts, pem.ts and time.ts import nothing of ours", () => {
        for (const m of ["components/model.ts", "components/pem.ts", "components/time.ts"]) assert.deepEqual(graph.get(m), [], m);
    });
});
