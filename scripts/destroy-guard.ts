/**
 * Destroy guard: which protected resources a `pulumi destroy` of a stack would reach, from the stack's exported
 * state (`pulumi stack export`, or the Automation API's `exportStack()`), so that a wrapper can refuse BEFORE the
 * engine starts deleting. Pulumi's engine with `--skip-preview` deletes in dependency order and only fails when it
 * reaches a protected resource: on a cluster stack that is every leaf, kubeconfig and node file first.
 *
 *   npx ts-node --transpile-only scripts/destroy-guard.ts <export.json> [--target <urn>]...
 *     exit 0: nothing protected would be reached; exit 3: the refusal message (naming the resources) on stderr
 *
 * Library use (scripts/stack.ts): `const refusal = destroyRefusal(stackName, exported); if (refusal) { ... }`.
 */
import * as fs from "node:fs";
import { urnName } from "./plan";

/** One resource of an exported deployment (the fields the guard reads). */
interface StateResource {
    urn: string;
    type: string;
    custom?: boolean;
    protect?: boolean;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
    delete?: boolean;
}

export interface ProtectedResource {
    urn: string;
    type: string;
    /** the resource's name (the last URN segment) */
    name: string;
}

function resourcesOf(exported: unknown): StateResource[] {
    const e = exported as { deployment?: { resources?: unknown }; resources?: unknown } | undefined;
    const list = e?.deployment?.resources ?? e?.resources ?? [];
    if (!Array.isArray(list)) throw new Error("destroy-guard: not a stack export (no deployment.resources list)");
    return list as StateResource[];
}

/**
 * The protected resources a destroy would delete: every protected resource of the state, or with `targets`
 * (a `--target` destroy, which Pulumi extends to the targets' dependents with --target-dependents) the protected
 * ones among the targets and everything that depends on them (parent, dependencies, property dependencies).
 */
export function protectedInDestroy(exported: unknown, targets?: string[]): ProtectedResource[] {
    const resources = resourcesOf(exported).filter((r) => !r.delete);
    let reached: Set<string>;
    if (!targets || targets.length === 0) {
        reached = new Set(resources.map((r) => r.urn));
    } else {
        reached = new Set(targets);
        for (let grew = true; grew; ) {
            grew = false;
            for (const r of resources) {
                if (reached.has(r.urn)) continue;
                const deps = [r.parent, ...(r.dependencies ?? []), ...Object.values(r.propertyDependencies ?? {}).flat()];
                if (deps.some((d) => d !== undefined && reached.has(d))) {
                    reached.add(r.urn);
                    grew = true;
                }
            }
        }
    }
    return resources
        .filter((r) => r.protect === true && reached.has(r.urn))
        .map((r) => ({ urn: r.urn, type: r.type, name: urnName(r.urn) }));
}

/**
 * The refusal message for a destroy of `stack`, or undefined when the destroy reaches nothing protected.
 * It names every protected resource (grouped by type), says that nothing was deleted, and how to proceed.
 */
export function destroyRefusal(
    stack: string,
    exported: unknown,
    targets?: string[],
    /** the unprotect command as the reader runs it (the npm scripts go through `npm run pulumi --`) */
    unprotect = "pulumi state unprotect --all",
): string | undefined {
    const hits = protectedInDestroy(exported, targets);
    if (hits.length === 0) return undefined;
    const byType = new Map<string, string[]>();
    for (const h of hits) byType.set(h.type, [...(byType.get(h.type) ?? []), h.name]);
    const lines = [...byType.entries()].map(([type, names]) => `  ${type}: ${names.sort().join(", ")}`);
    return [
        `refusing to destroy stack ${stack}: it holds ${hits.length} protected resource(s) (CA keys and certificates that sign for a cluster):`,
        ...lines,
        "Nothing was deleted: with --skip-preview the engine would delete everything that depends on them first and only then stop.",
        "To destroy on purpose: set `protect: false` in kube-pki:rootCa and `up` (the preview shows only protection changes), " +
            `or \`${unprotect}\`, then destroy again.`,
    ].join("\n");
}

if (require.main === module) {
    const args = process.argv.slice(2);
    const file = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--target");
    if (!file) {
        console.error("usage: destroy-guard.ts <stack-export.json> [--target <urn>]...");
        process.exit(2);
    }
    const targets = args.flatMap((a, i) => (args[i - 1] === "--target" ? [a] : []));
    const refusal = destroyRefusal(file, JSON.parse(fs.readFileSync(file, "utf8")), targets);
    if (refusal) {
        console.error(refusal);
        process.exit(3);
    }
    console.log("destroy-guard: no protected resource would be deleted");
}
