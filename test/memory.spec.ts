/**
 * A ClusterPki's memory in someone else's program (components/memory.ts): `ClusterPki.create` reads the previous
 * run's `kubePkiMemory` output through a StackReference to the stack itself, `memoryOf` is what the program exports,
 * and a CA rotation step that needs the previous phase without any memory names the lines to add.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, ClusterPkiArgs, ConfigError, MEMORY_OUTPUT, memoryOf, PREVIOUS_RUN_OUTPUTS } from "../components/internal";
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
