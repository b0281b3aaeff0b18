/** TlsEmulator: the tls provider emulated as Pulumi mocks, with state kept between runs like the engine's. */
import { ALLOW_WHAT_IF_UP_ENV, HOUR_MS } from "../../../../components/time";
import * as pulumi from "@pulumi/pulumi";
import { CallHandler, Emulation, EmulatorOptions, EngineOptions, HandlerContext, HandlerResult, Op, PendingRequest, RecordedResource, StoredResource, TLS_TYPES, Warning } from "./types";
import { canonical, DEFAULT_SECRET_OUTPUTS, markSecret, plainSerialized, sameValue, secretOf, stripUndefined, toPlain } from "./values";
import { q } from "./validation";
import { certRequestEmulation, getPublicKeyCall, locallySignedCertEmulation, privateKeyEmulation, selfSignedCertEmulation } from "./emulations";

// ------------------------------------------------------------------------------------------ the emulator

export class TlsEmulator implements pulumi.runtime.Mocks {
    /** every registration of the current run, in order */
    readonly resources: RecordedResource[] = [];
    /** state after the last non-preview run, by URN */
    readonly state = new Map<string, StoredResource>();
    /** provider warnings (e.g. a CA certificate that is not a CA) */
    readonly warnings: Warning[] = [];
    /** invokes made in the current run */
    readonly calls: { token: string; inputs: Record<string, any>; result: Record<string, any> }[] = [];
    run = 1;

    private clock: () => Date;
    private readonly emulations = new Map<string, Emulation>();
    private readonly callHandlers = new Map<string, CallHandler>();
    private readonly stackOutputs = new Map<string, { outputs: Record<string, any>; secretOutputNames: string[] }>();
    private pending: PendingRequest | undefined;
    private monitor: any;
    private readonly engineUrns = new Map<string, string>();

    constructor(opts: EmulatorOptions = {}) {
        this.clock = opts.now ?? (() => new Date());
        this.register(TLS_TYPES.PrivateKey, privateKeyEmulation);
        this.register(TLS_TYPES.SelfSignedCert, selfSignedCertEmulation);
        this.register(TLS_TYPES.CertRequest, certRequestEmulation);
        this.register(TLS_TYPES.LocallySignedCert, locallySignedCertEmulation);
        this.registerCall(TLS_TYPES.getPublicKey, getPublicKeyCall);
        const stackReference = (ctx: HandlerContext): HandlerResult => {
            const name = ctx.inputs.name ?? ctx.id ?? ctx.name;
            const ref = this.stackOutputs.get(name);
            if (!ref) throw new Error(`tls emulator: no outputs set for stack reference ${q(name)} (use setStackOutputs)`);
            const outputs = Object.fromEntries(
                Object.entries(ref.outputs).map(([k, v]) => [k, ref.secretOutputNames.includes(k) ? secretOf(v) : v]),
            );
            return { id: name, state: { name, outputs, secretOutputNames: ref.secretOutputNames } };
        };
        this.register("pulumi:pulumi:StackReference", { create: stackReference, read: stackReference });
    }

    // ---- configuration

    /** Adds or replaces the emulation of a resource type (e.g. vault:pkiSecret/secretBackendCert:SecretBackendCert). */
    register(type: string, emulation: Emulation | ((ctx: HandlerContext) => HandlerResult | Promise<HandlerResult>)): this {
        this.emulations.set(type, typeof emulation === "function" ? { create: emulation } : emulation);
        return this;
    }

    /** Adds or replaces the emulation of an invoke token. */
    registerCall(token: string, handler: CallHandler): this {
        this.callHandlers.set(token, handler);
        return this;
    }

    /** Outputs a `new pulumi.StackReference(stackName)` will see; `secretOutputNames` come back as secrets. */
    setStackOutputs(stackName: string, outputs: Record<string, any>, secretOutputNames: string[] = []): this {
        this.stackOutputs.set(stackName, { outputs, secretOutputNames });
        return this;
    }

    /** The current time of the emulated world. */
    now(): Date {
        return new Date(this.clock().getTime());
    }

    setNow(now: Date | (() => Date)): this {
        this.clock = typeof now === "function" ? now : () => now;
        return this;
    }

    /** Moves a fixed clock forward (the clock becomes fixed at now() + hours). */
    advanceHours(hours: number): this {
        const t = this.now().getTime() + hours * HOUR_MS;
        return this.setNow(new Date(t));
    }

    /**
     * Installs the emulator as the Pulumi mocks (a new mock monitor, i.e. a fresh program run) and starts a new
     * run: `resources` is cleared, the state from earlier non-preview runs is kept.
     */
    install(preview = false, project = "kube-pki", stack = "test"): this {
        // The emulated world has a clock of its own (2030 in most specs), and ClusterPki runs in it with `now` set
        // to it: every non-preview run here is an `up` with a what-if clock. That is refused without the test-only
        // opt-in (components/time.ts whatIfClock, docs/rotation.md), which the run then prints as a warning.
        process.env[ALLOW_WHAT_IF_UP_ENV] = "1";
        void pulumi.runtime.setMocks(this, project, stack, preview);
        this.hookMonitor();
        this.beginRun();
        return this;
    }

    /** Starts a new program run against the same state (clears `resources`, `calls`, `warnings`). */
    beginRun(): this {
        if (this.resources.length > 0 || this.calls.length > 0) this.run++;
        this.resources.length = 0;
        this.calls.length = 0;
        this.warnings.length = 0;
        return this;
    }

    /** Forgets everything: an empty stack. */
    reset(): this {
        this.beginRun();
        this.state.clear();
        this.engineUrns.clear();
        this.run = 1;
        return this;
    }

    /** `pulumi refresh`: certificates past their early-renewal time get readyForRenewal = true in the state. */
    refresh(): this {
        const now = this.now();
        for (const s of this.state.values()) {
            const em = this.emulations.get(s.type);
            if (em?.refresh) s.outputs = em.refresh(s, now);
        }
        return this;
    }

    // ---- queries

    byType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The registration of this run with that name (and type, if given). */
    find(name: string, type?: string): RecordedResource | undefined {
        return this.resources.find((r) => r.name === name && (type === undefined || r.type === type));
    }

    /** Registrations of this run whose op is one of `ops`. */
    withOp(...ops: Op[]): RecordedResource[] {
        return this.resources.filter((r) => ops.includes(r.op));
    }

    // ---- pulumi.runtime.Mocks

    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        // read synchronously, before any await: the monitor hook sets it right before calling us
        const pending = this.pending;
        this.pending = undefined;
        const parent = pending?.parent;
        const options: EngineOptions = {
            replacementTrigger: pending?.replacementTrigger,
            replaceWith: pending?.replaceWith ?? [],
            ignoreChanges: pending?.ignoreChanges ?? [],
            replaceOnChanges: pending?.replaceOnChanges ?? [],
            protect: pending?.protect,
        };
        const secretOutputs = pending?.secretOutputs ?? DEFAULT_SECRET_OUTPUTS[args.type] ?? [];
        const { urn, mockUrn } = this.urnOf(args.type, args.name, parent);
        const preview = pulumi.runtime.isDryRun();
        const now = this.now();
        const rawInputs: Record<string, any> = args.inputs ?? {};
        const unknownInputs = new Set<string>();
        const inputs: Record<string, any> = {};
        for (const [k, v] of Object.entries(rawInputs)) inputs[k] = toPlain(v, () => unknownInputs.add(k));

        if (this.hooked() && this.resources.some((r) => r.urn === urn)) {
            throw new Error(`Duplicate resource URN '${urn}'; try giving it a unique name`);
        }

        const emulation = this.emulations.get(args.type);
        const custom = args.custom !== false;
        let triggerUnknown = false;
        const triggerKey =
            options.replacementTrigger === undefined
                ? undefined
                : canonical(plainSerialized(options.replacementTrigger, () => (triggerUnknown = true)));
        const prior = this.state.get(urn);
        let op: Op = prior ? "replace" : "create";
        let reasons: string[] = [];
        let result: HandlerResult;
        const record = (r: HandlerResult | undefined, error?: string) =>
            this.resources.push({
                type: args.type,
                name: args.name,
                urn,
                mockUrn,
                parent,
                custom,
                provider: args.provider,
                inputs,
                rawInputs,
                unknownInputs: [...unknownInputs],
                outputs: r ? stripUndefined(toPlain(r.state, () => undefined)) : {},
                id: r?.id,
                op,
                reasons,
                options,
                preview,
                run: this.run,
                ...(error !== undefined ? { error } : {}),
            });

        const ctxBase = {
            emulator: this,
            type: args.type,
            name: args.name,
            urn,
            preview,
            now,
            inputs,
            rawInputs,
            unknownInputs,
            prior,
            custom,
            provider: args.provider,
            id: args.id || undefined,
        };

        try {
            if (args.id) {
                // resource.get / import: the emulation's read, else the stored state with that id, else an echo
                op = "read";
                if (emulation?.read) {
                    result = await emulation.read({ ...ctxBase, op });
                } else {
                    const known = [...this.state.values()].find((s) => s.type === args.type && s.id === args.id);
                    result = known ? { id: known.id, state: known.outputs } : { id: args.id, state: rawInputs };
                }
            } else {
                if (!prior) {
                    op = "create";
                } else {
                    const writeOnly = new Set(emulation?.writeOnlyInputs ?? []);
                    const changed = Object.keys({ ...inputs, ...prior.inputs }).filter(
                        (k) =>
                            !writeOnly.has(k) &&
                            !options.ignoreChanges.includes(k) &&
                            (unknownInputs.has(k) || !sameValue(inputs[k], prior.inputs[k])),
                    );
                    // engine-level replacements: replacementTrigger, replaceWith
                    const forced: string[] = [];
                    if (triggerKey !== prior.replacementTrigger || triggerUnknown) forced.push("replacementTrigger");
                    for (const dep of options.replaceWith) {
                        const r = this.resources.find((x) => x.mockUrn === dep || x.urn === dep);
                        if (r && r.op === "replace") forced.push(`replaceWith:${r.urn}`);
                    }
                    if (changed.length === 0 && forced.length === 0) {
                        const why = emulation?.replaceIf?.(prior, now, inputs);
                        op = why ? "replace" : "same";
                        reasons = why ? [why] : [];
                    } else {
                        const updatable = emulation ? emulation.updatableInputs ?? [] : changed;
                        const replaceOn = options.replaceOnChanges;
                        const inPlace = changed.every(
                            (k) => updatable.includes(k) && !replaceOn.includes(k) && !replaceOn.includes("*"),
                        );
                        op = forced.length === 0 && inPlace ? "update" : "replace";
                        reasons = [...changed, ...forced];
                    }
                }
                const ctx: HandlerContext = { ...ctxBase, op };
                if (op === "same") {
                    result = { id: prior!.id, state: prior!.outputs };
                } else if (emulation) {
                    if (op === "update") {
                        result = emulation.update
                            ? await emulation.update(ctx)
                            : { id: prior!.id, state: { ...prior!.outputs, ...rawInputs } };
                    } else {
                        result = await emulation.create(ctx);
                    }
                } else {
                    result = {
                        id: custom ? prior?.id ?? `${args.name}-id` : undefined,
                        state: rawInputs,
                    };
                }
            }

        } catch (e) {
            record(undefined, (e as Error).message ?? String(e));
            throw e;
        }

        // The engine marks additionalSecretOutputs secret (the mock monitor does not): do it here.
        result = { id: result.id, state: markSecret(result.state, secretOutputs, preview && !!emulation && op !== "same") };

        if (!preview && op !== "read") {
            this.state.set(urn, {
                type: args.type,
                name: args.name,
                urn,
                inputs,
                outputs: result.state,
                id: result.id,
                replacementTrigger: triggerKey,
            });
        }
        record(result);
        return { id: result.id, state: result.state };
    }

    async call(args: pulumi.runtime.MockCallArgs): Promise<pulumi.runtime.MockCallResult> {
        const inputs = toPlain(args.inputs ?? {}, () => undefined);
        const handler = this.callHandlers.get(args.token);
        let result: Record<string, any>;
        if (handler) {
            result = await handler(inputs, this);
        } else if (args.token.startsWith("tls:")) {
            throw new Error(`tls emulator: invoke ${args.token} is not emulated`);
        } else {
            result = args.inputs ?? {};
        }
        this.calls.push({ token: args.token, inputs, result });
        return result;
    }

    // ---- internals

    /** true while the installed mock monitor is the one we hooked (not after a direct setMocks call) */
    private hooked(): boolean {
        return this.monitor !== undefined && pulumi.runtime.getMonitor() === this.monitor;
    }

    private urnOf(type: string, name: string, parent: string | undefined): { urn: string; mockUrn: string } {
        if (!this.hooked()) return { urn: `${type}::${name}`, mockUrn: `${type}::${name}` };
        const mockUrn: string = this.monitor.newUrn(parent, type, name);
        let qualified = type;
        if (parent) {
            // like the SDK's createUrn: the parent's (engine) qualified type, unless the parent is the root stack
            const parentType = (this.engineUrns.get(parent) ?? parent).split("::")[2];
            if (parentType && parentType !== "pulumi:pulumi:Stack") qualified = `${parentType}$${type}`;
        }
        const urn = `urn:pulumi:${pulumi.runtime.getStack()}::${pulumi.runtime.getProject()}::${qualified}::${name}`;
        this.engineUrns.set(mockUrn, urn);
        return { urn, mockUrn };
    }

    /**
     * The mock monitor does not pass the parent to Mocks.newResource; wrap its register/read methods (which call
     * newResource synchronously) to learn it, so URNs match the ones the SDK sees.
     */
    private hookMonitor() {
        const monitor: any = pulumi.runtime.getMonitor();
        this.monitor = undefined;
        if (!monitor || typeof monitor.registerResource !== "function" || typeof monitor.newUrn !== "function") return;
        for (const method of ["registerResource", "readResource"]) {
            const original = monitor[method];
            if (typeof original !== "function") continue;
            monitor[method] = (req: any, callback: any) => {
                const get = (m: string) => (typeof req?.[m] === "function" ? req[m]() : undefined);
                let trigger: unknown;
                const rawTrigger = get("getReplacementTrigger");
                if (rawTrigger && typeof rawTrigger.toJavaScript === "function") trigger = rawTrigger.toJavaScript();
                this.pending = {
                    parent: get("getParent") || undefined,
                    secretOutputs: get("getAdditionalsecretoutputsList"),
                    replacementTrigger: trigger,
                    replaceWith: get("getReplaceWithList") ?? [],
                    ignoreChanges: get("getIgnorechangesList") ?? [],
                    replaceOnChanges: get("getReplaceonchangesList") ?? [],
                    protect: get("getProtect") || undefined,
                };
                return original.call(monitor, req, callback);
            };
        }
        this.monitor = monitor;
    }
}

/** Creates an emulator and installs it as the Pulumi mocks (project "kube-pki", stack "test"). */
export function setupMocks(opts: { preview?: boolean; now?: () => Date; emulator?: TlsEmulator } = {}): TlsEmulator {
    const emulator = opts.emulator ?? new TlsEmulator({ now: opts.now });
    if (opts.emulator && opts.now) emulator.setNow(opts.now);
    return emulator.install(opts.preview ?? false);
}
