/**
 * A ClusterPki's memory in someone else's program (components/memory.ts): `ClusterPki.create` reads the previous
 * run's `kubePkiMemory` output through a StackReference to the stack itself, `memoryOf` is what the program exports,
 * and a CA rotation step that needs the previous phase without any memory names the lines to add.
 */
import { HOUR_MS } from "../components/time";
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, ClusterPkiArgs, ConfigError, MEMORY_OUTPUT, memoryFromOutput, memoryOf, PREVIOUS_RUN_OUTPUTS } from "../components/internal";
import { TlsEmulator } from "./support/tls-emulator";
import { valueOf } from "./support/resolve";

const ARGS: ClusterPkiArgs = {
    clusterName: "mem",
    controlPlaneEndpoint: "api.mem.example:6443",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    keyAlgorithm: "ECDSA-P256",
    caKeyAlgorithm: "ECDSA-P256",
};

describe("ClusterPki memory across runs (kubePkiMemory)", function () {
    let em: TlsEmulator;
    let run = 0;
    /** A new program run on stack `mem-<n>` whose previous run exported `outputs`. */
    const newRun = (outputs?: Record<string, unknown>) => {
        const stack = `mem-${++run}`;
        // TlsEmulator.install without an organization (the self StackReference needs one): same steps, with one
        em = new TlsEmulator();
        void pulumi.runtime.setMocks(em, "consumer", stack, false, "organization");
        (em as any).hookMonitor();
        em.beginRun();
        if (outputs) em.setStackOutputs(`organization/consumer/${stack}`, outputs);
        else em.setStackOutputs(`organization/consumer/${stack}`, {});
    };

    it("memoryOf: what the next run takes as `previous` (rotation state, tokens, inventory, next rotation), by component name", async () => {
        newRun();
        const pki = await ClusterPki.create("prod", ARGS);
        const memory = await valueOf(memoryOf(pki));
        assert.deepEqual(Object.keys(memory), ["prod"]);
        assert.deepEqual(memory.prod.rotationState, pki.rotationState);
        assert.deepEqual(memory.prod.rotationTokens, pki.rotationTokens);
        assert.ok(Object.keys(memory.prod.rotationTokens!).length > 5);
        assert.deepEqual(Object.keys(memory.prod).sort(), [...PREVIOUS_RUN_OUTPUTS].sort());
        assert.equal(memory.prod.inventory!.length, (await valueOf(pki.inventory)).length);
        assert.equal(memory.prod.nextRotation!.at, pki.nextRotation.at);
    });

    it("create: a run after a staged CA promotes it (generation 1 signs); without memory the first run summary is shown", async () => {
        newRun();
        const first = await ClusterPki.create("prod", { ...ARGS, caRotation: { ca: "stage" } });
        assert.deepEqual(first.rotationState.ca, { phase: "stage", generation: 0 });
        assert.match(first.rotationSummaryText, /first run/);
        const remembered = await valueOf(memoryOf(first));

        newRun({ [MEMORY_OUTPUT]: remembered });
        const second = await ClusterPki.create("prod", { ...ARGS, caRotation: { ca: "promote" } });
        assert.deepEqual(second.rotationState.ca, { phase: "promote", generation: 1 });
        assert.doesNotMatch(second.rotationSummaryText, /first run/);
        assert.match(second.rotationSummaryText, /ca: stage → promote/);
    });

    it("create: the memory of another component name is not used", async () => {
        newRun({ [MEMORY_OUTPUT]: { other: { rotationState: { ca: { phase: "stage", generation: 0 } } } } });
        await assert.rejects(ClusterPki.create("prod", { ...ARGS, caRotation: { ca: "promote" } }), /no memory of a previous run/);
    });

    it("promote or distrust with no memory: refused with the lines to add to the program", () => {
        newRun();
        for (const phase of ["promote", "distrust"]) {
            assert.throws(
                () => new ClusterPki("prod", { ...ARGS, caRotation: { ca: phase } }),
                (e: unknown) =>
                    e instanceof ConfigError &&
                    e.message.includes(`caRotation.ca: "${phase}" needs the phase the previous run left`) &&
                    e.message.includes('await ClusterPki.create("prod", args)') &&
                    e.message.includes(`export const ${MEMORY_OUTPUT} = memoryOf(pki)`),
            );
        }
    });

    it("stage needs no memory; given `previous` wins over the stack output", async () => {
        newRun({ [MEMORY_OUTPUT]: { prod: { rotationState: { ca: { phase: "stage", generation: 0 } } } } });
        const pki = await ClusterPki.create("prod", { ...ARGS, caRotation: { ca: "stage" }, previous: { rotationState: {} } });
        assert.deepEqual(pki.rotationState.ca, { phase: "stage", generation: 0 });
        assert.ok(pulumi.Output.isInstance(memoryOf(pki)));
    });
});

/** Python's name of a schema field (the SDK generator's rule): rotationState → rotation_state, isCa → is_ca. */
const pyName = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const pyFields = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [pyName(k), v]));
const byKey = <T, U>(m: Record<string, T> | undefined, f: (v: T) => U) => m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, f(v)]));

/**
 * A component's memory as a Python program exports `pki.memory`: the SDK's output types key each typed object's
 * fields by their Python names (rotation_state, an inventory entry's not_after); map keys (CA, certificate, pool
 * names) stay as they are.
 */
function asPythonExportsIt(memory: Record<string, any>): Record<string, unknown> {
    return pyFields({
        ...memory,
        rotationState: byKey(memory.rotationState, (s: Record<string, unknown>) => pyFields(s)),
        inventory: memory.inventory?.map((e: Record<string, unknown>) => pyFields(e)),
        nextRotation: memory.nextRotation && pyFields(memory.nextRotation),
        workerPoolTokens: byKey(memory.workerPoolTokens, (l: Record<string, unknown>[]) => l.map(pyFields)),
    });
}

describe("a Python program's memory: snake_case field names (the SDK's output types)", function () {
    let run = 0;
    const newRun = (outputs: Record<string, unknown>) => {
        const stack = `mem-py-${++run}`;
        const em = new TlsEmulator();
        void pulumi.runtime.setMocks(em, "consumer", stack, false, "organization");
        (em as any).hookMonitor();
        em.beginRun();
        em.setStackOutputs(`organization/consumer/${stack}`, outputs);
    };
    const POOLS: ClusterPkiArgs = { ...ARGS, workerPools: [{ name: "general" }] };

    it("memoryFromOutput: the schema's names for typed objects' fields, map keys as they are", async () => {
        newRun({});
        const pki = await ClusterPki.create("prod", POOLS);
        const memory = (await valueOf(memoryOf(pki))).prod as Record<string, any>;
        const python = asPythonExportsIt(memory);
        assert.ok("rotation_tokens" in python && "not_after" in (python.inventory as any[])[0], JSON.stringify(python).slice(0, 200));
        assert.deepEqual(memoryFromOutput(python), JSON.parse(JSON.stringify(memory)));
        assert.deepEqual(memoryFromOutput(memory), JSON.parse(JSON.stringify(memory)), "the schema's names: unchanged");
        // keys of maps are ids, never renamed; where both spellings are given the schema's wins
        const ids = memoryFromOutput({ rotation_tokens: { some_id: "t1" }, rotationState: { etcd_ca: { phase: "none", generation: 0 } }, rotation_state: {} });
        assert.deepEqual(ids, { rotationTokens: { some_id: "t1" }, rotationState: { etcd_ca: { phase: "none", generation: 0 } } });
    });

    it("create: a staged CA promotes, and a re-run keeps every rotation token and the pool's tokens", async () => {
        newRun({});
        const first = await ClusterPki.create("prod", { ...POOLS, caRotation: { ca: "stage" } });
        const remembered = (await valueOf(memoryOf(first))).prod as Record<string, any>;
        assert.ok(Object.keys(remembered.workerPoolTokens ?? {}).length === 1, JSON.stringify(remembered.workerPoolTokens));

        newRun({ [MEMORY_OUTPUT]: { prod: asPythonExportsIt(remembered) } });
        const again = await ClusterPki.create("prod", { ...POOLS, caRotation: { ca: "stage" } });
        assert.doesNotMatch(again.rotationSummaryText, /first run/);
        assert.deepEqual(again.rotationTokens, remembered.rotationTokens, "same tokens: nothing rotates");
        assert.deepEqual((await valueOf(memoryOf(again))).prod.workerPoolTokens, remembered.workerPoolTokens);

        newRun({ [MEMORY_OUTPUT]: { prod: asPythonExportsIt(remembered) } });
        const second = await ClusterPki.create("prod", { ...POOLS, caRotation: { ca: "promote" } });
        assert.deepEqual(second.rotationState.ca, { phase: "promote", generation: 1 });
        assert.match(second.rotationSummaryText, /ca: stage → promote/);
    });
});

describe("the project's program: one memory, validation once, sinks checked before anything is registered", function () {
    let em: TlsEmulator;
    let run = 0;
    const CONFIG = {
        "kube-pki:clusterName": "prog",
        "kube-pki:controlPlaneEndpoint": "api.prog.example:6443",
        "kube-pki:controlPlanes": JSON.stringify([{ name: "cp-1", advertiseAddress: "10.0.0.11" }]),
        "kube-pki:keyAlgorithm": "ECDSA-P256",
    };
    /** A program run on a new stack `prog-<n>` whose previous run exported `outputs`, with this stack config. */
    const newRun = (config: Record<string, string>, outputs: Record<string, unknown> = {}) => {
        const stack = `prog-${++run}`;
        em = new TlsEmulator();
        void pulumi.runtime.setMocks(em, "kube-pki", stack, false, "organization");
        (em as any).hookMonitor();
        em.beginRun();
        em.setStackOutputs(`organization/kube-pki/${stack}`, outputs);
        pulumi.runtime.setAllConfig(config);
    };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = () => (require("../index") as () => Promise<Record<string, any>>)();
    const tlsResources = () => em.resources.filter((r) => r.type.startsWith("tls:") || r.type.startsWith("kube-pki:"));
    let savedNow: string | undefined;
    before(() => (savedNow = process.env.KUBE_PKI_NOW));
    after(() => (savedNow === undefined ? delete process.env.KUBE_PKI_NOW : (process.env.KUBE_PKI_NOW = savedNow)));

    it("exports kubePkiMemory and reads it back; a stack with only the older flat outputs migrates without a rotation", async () => {
        newRun(CONFIG);
        const first = await program();
        const memory = await valueOf(first[MEMORY_OUTPUT] as pulumi.Output<Record<string, any>>);
        assert.deepEqual(Object.keys(memory), ["prog"]);
        assert.ok(Object.keys(memory.prog.rotationTokens).length > 5);
        // An older program's stack: the five flat outputs, no kubePkiMemory.
        const flat = Object.fromEntries(PREVIOUS_RUN_OUTPUTS.map((k) => [k, memory.prog[k]]));
        newRun(CONFIG, flat);
        const migrated = await program();
        assert.deepEqual(migrated.rotationTokens, memory.prog.rotationTokens);
        const second = await valueOf(migrated[MEMORY_OUTPUT] as pulumi.Output<Record<string, any>>);
        assert.deepEqual(second.prog.rotationTokens, memory.prog.rotationTokens, "same tokens: nothing rotates");
        // kubePkiMemory wins over flat outputs
        newRun(CONFIG, { ...flat, rotationTokens: {}, [MEMORY_OUTPUT]: second });
        const third = await program();
        assert.deepEqual((await valueOf(third[MEMORY_OUTPUT] as pulumi.Output<Record<string, any>>)).prog.rotationTokens, memory.prog.rotationTokens);
    });

    it("validates the config once per run (the component reuses the program's validation)", async () => {
        newRun(CONFIG);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const config = require("../components/config") as { validateClusterPkiArgs: (...a: unknown[]) => unknown };
        const original = config.validateClusterPkiArgs;
        let calls = 0;
        config.validateClusterPkiArgs = (...a: unknown[]) => {
            calls++;
            return original(...a);
        };
        try {
            const out = await program();
            assert.equal(out.clusterName, "prog");
        } finally {
            config.validateClusterPkiArgs = original;
        }
        assert.equal(calls, 1);
    });

    it("a bad sink config is refused, with the stack's config context, before ClusterPki registers anything", async () => {
        newRun({ ...CONFIG, "kube-pki:secretsSink": JSON.stringify({ certificates: ["nope/cp-1"] }) });
        await assert.rejects(program(), (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            assert.match(e.message, /config of stack "prog-\d+"/);
            assert.ok(e.problems.some((p) => /secretsSink\.certificates\[0\]: "nope\/cp-1" is not a certificate of this cluster/.test(p)), e.message);
            return true;
        });
        assert.deepEqual(tlsResources(), [], "nothing registered");
    });

    it("KUBE_PKI_NOW five years ahead: `up` is refused naming now, nothing registered", async () => {
        newRun(CONFIG);
        process.env.KUBE_PKI_NOW = new Date(Date.now() + 5 * 8760 * HOUR_MS).toISOString();
        delete process.env.KUBE_PKI_ALLOW_WHAT_IF_UP;
        try {
            await assert.rejects(program(), (e: unknown) => e instanceof ConfigError && /kube-pki:now: the clock .* ahead of the real clock/.test(e.problems.join("\n")));
            assert.deepEqual(tlsResources(), []);
        } finally {
            delete process.env.KUBE_PKI_NOW;
        }
    });
});
