/**
 * A ClusterPki's memory across runs, in any program (docs/library.md).
 *
 * Each run needs what the previous run decided: the CA rotation phase and active generation of each CA (to refuse a
 * skipped phase, and to keep the generation that signs after a rotation), each leaf's rotation token and its
 * inventory entry (renewal is anchored on each certificate's notAfter; a kept certificate keeps its validity), and
 * the previous clock. Pulumi gives a program no read access to its resources' previous state, only to its
 * stack's previous outputs, through a StackReference to the stack itself. So the memory is one stack output,
 * `kubePkiMemory` (component name → {rotationState, rotationTokens, inventory, nextRotation}), that the program exports and the next run
 * reads back:
 *
 *     const pki = await ClusterPki.create("prod", args);   // reads kubePkiMemory["prod"] of the previous run
 *     export const kubePkiMemory = memoryOf(pki);           // remembers this run
 *
 * A CA rotation step that needs the previous phase (promote, distrust) without any memory is refused with a
 * message that names both lines.
 *
 * The project's own program uses the same memory (it exports kubePkiMemory). Stacks written before it did kept
 * the same values in five flat outputs (PREVIOUS_RUN_OUTPUTS); `withPreviousRun(..., { flatOutputs: true })` reads
 * those when kubePkiMemory is absent, so that an existing stack migrates without a rotation.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterPkiArgs } from "./config";
import { ConfigError, PREVIOUS_RUN_OUTPUTS } from "./config";

/** The stack output that holds every ClusterPki's memory, by component name. */
export const MEMORY_OUTPUT = "kubePkiMemory";

/**
 * What one ClusterPki remembers of a run: its outputs named in PREVIOUS_RUN_OUTPUTS (CA rotation state, rotation
 * tokens, inventory, next rotation), which the next run takes as `previous`.
 */
export type ClusterPkiMemory = NonNullable<ClusterPkiArgs["previous"]>;

type MemoryKey = (typeof PREVIOUS_RUN_OUTPUTS)[number];

/** What memoryOf needs of a ClusterPki (a type, so that this file does not import the component). */
export type Rememberable = { urn: pulumi.Output<string> } & { [K in MemoryKey]: pulumi.Input<unknown> };

/** What a RootPki remembers of a run: the generations of every intermediate it issued (cluster → CA id → generations). */
export interface RootPkiMemory {
    intermediates: Record<string, Record<string, number[]>>;
}

/** What memoryOf needs of a RootPki. */
export type RememberableRoot = { urn: pulumi.Output<string>; memory: RootPkiMemory };

/** The name of a resource from its URN (`urn:pulumi:stack::project::type::name`). */
const nameOfUrn = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

const isRoot = (c: Rememberable | RememberableRoot): c is RememberableRoot => "memory" in c && !("rotationState" in c);

/**
 * This run's memory of the given components (ClusterPkis, and a RootPki in a root stack), to export as the stack
 * output `kubePkiMemory` (TypeScript: `export const kubePkiMemory = memoryOf(pki)`; JavaScript:
 * `exports.kubePkiMemory = memoryOf(pki)`).
 */
export function memoryOf(...components: Rememberable[]): pulumi.Output<Record<string, ClusterPkiMemory>>;
export function memoryOf(...components: (Rememberable | RememberableRoot)[]): pulumi.Output<Record<string, ClusterPkiMemory | RootPkiMemory>>;
export function memoryOf(...components: (Rememberable | RememberableRoot)[]): pulumi.Output<Record<string, ClusterPkiMemory | RootPkiMemory>> {
    const entries = components.map((c) =>
        pulumi.all([c.urn, pulumi.output(isRoot(c) ? c.memory : Object.fromEntries(PREVIOUS_RUN_OUTPUTS.map((k) => [k, c[k]])))]),
    );
    return pulumi.all(entries).apply((list) => Object.fromEntries(list.map(([urn, memory]) => [nameOfUrn(urn), memory as ClusterPkiMemory | RootPkiMemory])));
}

/**
 * Where a memory holds typed objects, whose field names are the package schema's (rotationState, notAfter, ...), and
 * where maps and lists, whose keys are ids (CA, certificate, node and pool names) and stay as they are.
 */
type Shape = { kind: "object"; fields?: Record<string, Shape> } | { kind: "map"; of?: Shape } | { kind: "list"; of?: Shape };
const object = (fields?: Record<string, Shape>): Shape => ({ kind: "object", fields });
const mapOf = (of?: Shape): Shape => ({ kind: "map", of });
const listOf = (of?: Shape): Shape => ({ kind: "list", of });

/** ClusterPkiMemory's shape (provider/index.ts ClusterPkiMemory): the fields below these objects are plain values. */
const MEMORY_SHAPE = object({
    rotationState: mapOf(object()),
    rotationTokens: mapOf(),
    inventory: listOf(object()),
    nextRotation: object(),
    workerPoolTokens: mapOf(listOf(object())),
});

/** The schema's (camelCase) name of a field as a Python program spells it: rotation_state → rotationState. */
const schemaName = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function withSchemaNames(value: unknown, shape: Shape | undefined): unknown {
    if (!shape || value === null || typeof value !== "object") return value;
    if (shape.kind === "list") return Array.isArray(value) ? value.map((v) => withSchemaNames(v, shape.of)) : value;
    if (Array.isArray(value)) return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (shape.kind === "map") return Object.fromEntries(entries.map(([k, v]) => [k, withSchemaNames(v, shape.of)]));
    const fields = shape.fields ?? {};
    const out: Record<string, unknown> = {};
    for (const [key, v] of entries) {
        const name = schemaName(key);
        if (name !== key && name in (value as object)) continue; // both spellings: the schema's wins
        out[name] = withSchemaNames(v, fields[name]);
    }
    return out;
}

/**
 * A ClusterPki's memory as a program in any language exported it, with the schema's field names. A Python program
 * exports the component's `memory` output as the SDK's output types hold it, with snake_case field names
 * (`rotation_state`, `rotation_tokens`, an inventory entry's `not_after`); TypeScript, JavaScript, YAML and Go
 * export the schema's names. Only the names of typed objects' fields are changed, never the keys of maps (CA,
 * certificate, node and pool names).
 */
export function memoryFromOutput(value: unknown): ClusterPkiMemory {
    return withSchemaNames(value, MEMORY_SHAPE) as ClusterPkiMemory;
}

/** One StackReference to the stack itself per program run (a second one would be a duplicate resource). */
const selfReferences = new Map<string, pulumi.StackReference>();

/** The StackReference to this stack, through which a run reads what the previous run exported. */
export function selfStackReference(): pulumi.StackReference {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    let ref = selfReferences.get(self);
    if (!ref) {
        ref = new pulumi.StackReference(self);
        selfReferences.set(self, ref);
    }
    return ref;
}

/** The value of one of this stack's previous outputs (secret or not), or undefined. */
export async function previousOutput(name: string): Promise<unknown> {
    const details = await selfStackReference().getOutputDetails(name);
    return details.value ?? details.secretValue;
}

/**
 * What the previous run remembered of the ClusterPki named `name` (its `kubePkiMemory` entry), or undefined (first
 * run, or the program does not export `kubePkiMemory`). `flatOutputs`: without a kubePkiMemory output, read the
 * flat outputs an older kube-pki program exported (PREVIOUS_RUN_OUTPUTS) — the one migration.
 */
export async function previousRunOf(name: string, opts: { flatOutputs?: boolean } = {}): Promise<ClusterPkiMemory | undefined> {
    const memory = (await previousOutput(MEMORY_OUTPUT)) as Record<string, unknown> | undefined;
    if (memory && typeof memory === "object") return memory[name] === undefined ? undefined : memoryFromOutput(memory[name]);
    return opts.flatOutputs ? flatOutputsMemory() : undefined;
}

/** The memory an older kube-pki program kept in flat stack outputs, or undefined when it exported none of them. */
async function flatOutputsMemory(): Promise<ClusterPkiMemory | undefined> {
    const values = await Promise.all(PREVIOUS_RUN_OUTPUTS.map((key) => previousOutput(key)));
    const entries = PREVIOUS_RUN_OUTPUTS.map((key, i) => [key, values[i]] as const).filter(([, v]) => v !== undefined);
    return entries.length ? (Object.fromEntries(entries) as ClusterPkiMemory) : undefined;
}

/**
 * `args` with `previous` filled from the previous run's memory of the ClusterPki named `name` (unless given).
 * `program`: the project's own program, which always has a memory (an empty one on a first run) and reads the
 * flat outputs of stacks written before it exported kubePkiMemory.
 */
export async function withPreviousRun(name: string, args: ClusterPkiArgs, opts: { program?: boolean } = {}): Promise<ClusterPkiArgs> {
    if (args.previous) return args;
    const previous = (await previousRunOf(name, { flatOutputs: opts.program })) ?? (opts.program ? {} : undefined);
    return previous ? { ...args, previous } : args;
}

/** CA rotation phases that cannot be decided without the previous run's state. */
const NEEDS_PREVIOUS = ["promote", "distrust"];

/**
 * Refuses a CA rotation step that needs the previous run's phase when the component has no memory at all
 * (`args.previous` unset), naming what to add to the program. Without this the step would be judged against
 * "none" and refused with a message that does not say why the previous phase is unknown.
 */
export function requirePreviousRun(name: string, args: ClusterPkiArgs): void {
    if (args.previous) return;
    const problems = Object.entries(args.caRotation ?? {})
        .filter(([, phase]) => NEEDS_PREVIOUS.includes(phase))
        .map(
            ([ca, phase]) =>
                `caRotation.${ca}: "${phase}" needs the phase the previous run left, and this ClusterPki has no memory of a ` +
                `previous run. Create it with \`await ClusterPki.create("${name}", args)\` (it reads the previous run through a ` +
                `StackReference to this stack) and export its memory as the stack output ${MEMORY_OUTPUT}: ` +
                `\`export const ${MEMORY_OUTPUT} = memoryOf(pki)\` (JavaScript: \`exports.${MEMORY_OUTPUT} = memoryOf(pki)\`; ` +
                `YAML/Go through the component package: export the component's \`memory\` output as ${MEMORY_OUTPUT}). ` +
                `Then run "stage" again (a re-run of stage changes nothing) and "${phase}" after it.`,
        );
    if (problems.length) throw new ConfigError(`ClusterPki "${name}" config`, problems);
}
