/**
 * Profiling aid (not used by `npm run bench`): counts what the Pulumi SDK does per registration — the promises it
 * wraps in `debuggablePromise` (each one captures `new Error().stack`, which source-map-support then maps frame by
 * frame: the dominant cost of evaluation) and the `Resource.callsites()` stack walks — and prints them at exit.
 * Deterministic, unlike wall time on a busy machine, so it shows what a code change saves.
 *   node -r ts-node/register/transpile-only -r ./bench/sdk-counters.ts bench/evaluate.ts 1000 nocrypto
 */
/* eslint-disable @typescript-eslint/no-var-requires */
const debuggable = require("@pulumi/pulumi/runtime/debuggable");
const { Resource } = require("@pulumi/pulumi/resource");

const byContext = new Map<string, number>();
const original = debuggable.debuggablePromise;
debuggable.debuggablePromise = function (p: Promise<unknown>, ctx: unknown) {
    const key = String(ctx).replace(/[(\[].*$/s, "");
    byContext.set(key, (byContext.get(key) ?? 0) + 1);
    return original(p, ctx);
};
let callsites = 0;
const originalCallsites = Resource.callsites;
Resource.callsites = function (...args: unknown[]) {
    callsites++;
    return originalCallsites.apply(this, args);
};
process.on("exit", () => {
    const total = [...byContext.values()].reduce((a, b) => a + b, 0);
    const top = [...byContext].sort((a, b) => b[1] - a[1]).slice(0, 12);
    console.error(`sdk-counters: ${total} debuggablePromise stack captures, ${callsites} Resource.callsites() walks`);
    for (const [k, v] of top) console.error(`  ${String(v).padStart(8)}  ${k}`);
});
