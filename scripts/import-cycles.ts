/**
 * The import graph of components/ (every `import` and `export ... from` between our own modules, type-only ones
 * included: a type import is still a dependency of the reader) and its cycles. `npx ts-node scripts/import-cycles.ts`
 * prints the graph's cycles and exits 1 when there is one; test/import-graph.spec.ts runs it so that none comes back.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Module (path relative to the repo, `components/x.ts`) → the modules of ours it imports. */
export type ImportGraph = Map<string, string[]>;

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']/g;

function tsFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? tsFiles(p) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
    });
}

/** `./x` from `components/a/b.ts` → `components/a/x.ts` or `components/a/x/index.ts`. */
function resolve(from: string, spec: string, repo: string): string | undefined {
    const base = path.resolve(path.dirname(path.join(repo, from)), spec);
    for (const candidate of [`${base}.ts`, path.join(base, "index.ts"), base]) {
        if (candidate.endsWith(".ts") && fs.existsSync(candidate)) return path.relative(repo, candidate).split(path.sep).join("/");
    }
    return undefined;
}

/** The import graph of the .ts files under `dir` (relative to `repo`), comments stripped. */
export function importGraph(repo: string, dir = "components"): ImportGraph {
    const graph: ImportGraph = new Map();
    for (const file of tsFiles(path.join(repo, dir)).sort()) {
        const rel = path.relative(repo, file).split(path.sep).join("/");
        const source = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
        const deps = new Set<string>();
        for (const m of source.matchAll(SPECIFIER)) {
            if (!m[1].startsWith(".")) continue;
            const target = resolve(rel, m[1], repo);
            if (target) deps.add(target);
        }
        graph.set(rel, [...deps].sort());
    }
    return graph;
}

/** Every strongly connected component with more than one module (or a module importing itself): the cycles. */
export function cycles(graph: ImportGraph): string[][] {
    let index = 0;
    const stack: string[] = [];
    const onStack = new Set<string>();
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const out: string[][] = [];
    const visit = (v: string) => {
        idx.set(v, index);
        low.set(v, index++);
        stack.push(v);
        onStack.add(v);
        for (const w of graph.get(v) ?? []) {
            if (!idx.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) {
                low.set(v, Math.min(low.get(v)!, idx.get(w)!));
            }
        }
        if (low.get(v) === idx.get(v)) {
            const scc: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                onStack.delete(w);
                scc.push(w);
            } while (w !== v);
            if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
        }
    };
    for (const v of graph.keys()) if (!idx.has(v)) visit(v);
    return out.sort((a, b) => a[0].localeCompare(b[0]));
}

/** One path around a cycle, for the message: a → b → … → a. */
export function cyclePath(graph: ImportGraph, scc: string[]): string {
    const inScc = new Set(scc);
    const start = scc[0];
    const seen = new Map<string, string>();
    const queue = [start];
    while (queue.length) {
        const v = queue.shift()!;
        for (const w of graph.get(v) ?? []) {
            if (!inScc.has(w)) continue;
            if (w === start) {
                const pathTo: string[] = [v];
                while (pathTo[0] !== start) pathTo.unshift(seen.get(pathTo[0])!);
                return [...pathTo, start].join(" → ");
            }
            if (!seen.has(w)) {
                seen.set(w, v);
                queue.push(w);
            }
        }
    }
    return scc.join(", ");
}

if (require.main === module) {
    const repo = path.resolve(__dirname, "..");
    const graph = importGraph(repo);
    const found = cycles(graph);
    const edges = [...graph.values()].reduce((n, d) => n + d.length, 0);
    console.log(`components/: ${graph.size} modules, ${edges} imports between them, ${found.length} cycle(s)`);
    for (const scc of found) console.log(`  cycle (${scc.length} modules): ${cyclePath(graph, scc)}`);
    process.exitCode = found.length ? 1 : 0;
}
