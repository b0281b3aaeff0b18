/**
 * A ClusterPki's memory across runs, in any program (README "Use it from your program").
 *
 * Each run needs what the previous run decided: the CA rotation phase and active generation of each CA (to refuse a
 * skipped phase, and to keep the generation that signs after a rotation), and each leaf's rotation token (to say
 * what rotates and why). Pulumi gives a program no read access to its resources' previous state, only to its
 * stack's previous outputs, through a StackReference to the stack itself. So the memory is one stack output,
 * `kubePkiMemory` (component name → {rotationState, rotationTokens}), that the program exports and the next run
 * reads back:
 *
 *     const pki = await ClusterPki.create("prod", args);   // reads kubePkiMemory["prod"] of the previous run
 *     export const kubePkiMemory = memoryOf(pki);           // remembers this run
 *
 * A CA rotation step that needs the previous phase (promote, distrust) without any memory is refused with a
 * message that names both lines.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterPkiArgs } from "./config";
import { ConfigError } from "./config";
import type { CaRotationState } from "./rotation";

/** The stack output that holds every ClusterPki's memory, by component name. */
export const MEMORY_OUTPUT = "kubePkiMemory";

/** What one ClusterPki remembers of a run. */
export interface ClusterPkiMemory {
    /** CA / SA-key rotation phase and active generation, per CA id. */
    rotationState?: Record<string, CaRotationState>;
    /** Each leaf's rotation token, by certificate key. */
    rotationTokens?: Record<string, string>;
}

/** What memoryOf needs of a component (ClusterPki has it; a type, so that this file does not import the component). */
export interface Rememberable {
    urn: pulumi.Output<string>;
    rotationState: Record<string, CaRotationState>;
    rotationTokens: Record<string, string>;
}

/** The name of a resource from its URN (`urn:pulumi:stack::project::type::name`). */
const nameOfUrn = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/**
 * This run's memory of the given components, to export as the stack output `kubePkiMemory`
 * (TypeScript: `export const kubePkiMemory = memoryOf(pki)`; JavaScript: `exports.kubePkiMemory = memoryOf(pki)`).
 */
export function memoryOf(...components: Rememberable[]): pulumi.Output<Record<string, ClusterPkiMemory>> {
    return pulumi.all(components.map((c) => c.urn)).apply((urns) =>
        Object.fromEntries(urns.map((urn, i) => [nameOfUrn(urn), { rotationState: components[i].rotationState, rotationTokens: components[i].rotationTokens }])),
    );
}

/** One read per stack and program run (a second StackReference to the same stack would be a duplicate resource). */
const memoryReads = new Map<string, Promise<Record<string, ClusterPkiMemory> | undefined>>();

/**
 * The previous run's `kubePkiMemory` output of this stack, through a StackReference to the stack itself, or
 * undefined on a first run or when the program does not export it.
 */
function previousMemory(): Promise<Record<string, ClusterPkiMemory> | undefined> {
    const self = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    let read = memoryReads.get(self);
    if (!read) {
        read = new pulumi.StackReference(self)
            .getOutputDetails(MEMORY_OUTPUT)
            .then((d) => (d.value ?? d.secretValue) as Record<string, ClusterPkiMemory> | undefined);
        memoryReads.set(self, read);
    }
    return read;
}

/**
 * What the previous run remembered of the ClusterPki named `name`, or undefined (first run, or the program does
 * not export `kubePkiMemory`).
 */
export async function previousRunOf(name: string): Promise<ClusterPkiMemory | undefined> {
    return (await previousMemory())?.[name];
}

/** `args` with `previous` filled from the previous run's memory of the ClusterPki named `name` (unless given). */
export async function withPreviousRun(name: string, args: ClusterPkiArgs): Promise<ClusterPkiArgs> {
    if (args.previous) return args;
    const previous = await previousRunOf(name);
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
