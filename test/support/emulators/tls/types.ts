/** The tls emulator's vocabulary: resource types, what a run records and stores, handler and emulation shapes. */
import { TlsEmulator } from "./emulator";

export const TLS_TYPES = {
    PrivateKey: "tls:index/privateKey:PrivateKey",
    SelfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    CertRequest: "tls:index/certRequest:CertRequest",
    LocallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
    getPublicKey: "tls:index/getPublicKey:getPublicKey",
} as const;

export type Op = "create" | "same" | "update" | "replace" | "read";

/** What a registration looked like and what the emulator answered. */
export interface RecordedResource {
    type: string;
    name: string;
    /**
     * The URN the Pulumi engine would assign: the type qualified by the whole parent type chain
     * (`urn:pulumi:test::kube-pki::my:index:Comp$tls:index/privateKey:PrivateKey::name`). The emulator's state is
     * keyed by it. `${type}::${name}` if the emulator was installed with a bare setMocks call (parents unknown).
     */
    urn: string;
    /** the URN the mock monitor gives the SDK (`resource.urn`): only the immediate parent's type is kept */
    mockUrn: string;
    /** the parent's URN as the SDK sent it (a mock URN) */
    parent?: string;
    custom: boolean;
    provider?: string;
    /** inputs with secrets unwrapped and unknowns (preview) as undefined */
    inputs: Record<string, any>;
    /** inputs as the mock received them (secret wrappers, unknown sentinels) */
    rawInputs: Record<string, any>;
    /** top-level input names whose value was (or contained) an unknown */
    unknownInputs: string[];
    /** outputs with secrets unwrapped; computed outputs left unknown in preview are absent */
    outputs: Record<string, any>;
    id?: string;
    op: Op;
    /**
     * why an update / replace happened: changed input names, "readyForRenewal" (a certificate in its early-renewal
     * window), "replacementTrigger", or "replaceWith:<urn>"
     */
    reasons: string[];
    /** the engine-level resource options seen on the request (empty when the monitor is not hooked) */
    options: EngineOptions;
    preview: boolean;
    run: number;
    /** set when the emulated provider rejected the resource (the registration then fails) */
    error?: string;
}

/** The persisted state of a resource after a non-preview run. */
export interface StoredResource {
    type: string;
    name: string;
    urn: string;
    inputs: Record<string, any>;
    /** the state returned to the engine (may contain secret wrappers) */
    outputs: Record<string, any>;
    id?: string;
    /** canonical JSON of the replacementTrigger option, if any */
    replacementTrigger?: string;
}

export interface HandlerContext {
    emulator: TlsEmulator;
    type: string;
    name: string;
    urn: string;
    op: Op;
    preview: boolean;
    now: Date;
    /** plain inputs (secrets unwrapped, unknowns undefined) */
    inputs: Record<string, any>;
    rawInputs: Record<string, any>;
    unknownInputs: Set<string>;
    prior?: StoredResource;
    custom: boolean;
    provider?: string;
    /** import / read id, if any */
    id?: string;
}

export interface HandlerResult {
    id?: string;
    state: Record<string, any>;
}

export interface Emulation {
    /** computes id and outputs for a create or a replace (and an update, unless `update` is given) */
    create(ctx: HandlerContext): HandlerResult | Promise<HandlerResult>;
    /** in-place update; default: prior outputs overlaid with the new inputs */
    update?(ctx: HandlerContext): HandlerResult | Promise<HandlerResult>;
    /** inputs whose change is applied in place; any other changed input forces a replacement (default: none) */
    updatableInputs?: string[];
    /** write-only inputs: never stored, never diffed */
    writeOnlyInputs?: string[];
    /** for an unchanged resource: a reason to replace it anyway (e.g. a certificate due for renewal) */
    replaceIf?(prior: StoredResource, now: Date, inputs: Record<string, any>): string | undefined;
    /** `Resource.get(name, id)` / import (a read of an existing resource); default: the stored state with that id */
    read?(ctx: HandlerContext): HandlerResult | Promise<HandlerResult>;
    /** `pulumi refresh` of a stored resource; returns the new outputs */
    refresh?(prior: StoredResource, now: Date): Record<string, any>;
}

export type CallHandler = (inputs: Record<string, any>, emulator: TlsEmulator) => Record<string, any> | Promise<Record<string, any>>;

/** Resource options the engine acts on, as read from the RegisterResourceRequest (the mocks do not get them). */
export interface EngineOptions {
    /** serialized `replacementTrigger` value (undefined when not set) */
    replacementTrigger?: unknown;
    /** URNs (mock URNs) of `replaceWith` resources */
    replaceWith: string[];
    ignoreChanges: string[];
    replaceOnChanges: string[];
    /** the `protect` option (inherited from the parent by the SDK) */
    protect?: boolean;
}

export interface PendingRequest extends EngineOptions {
    parent?: string;
    secretOutputs?: string[];
}

export interface EmulatorOptions {
    /** the clock used for NotBefore / NotAfter and renewal decisions (default: the real time) */
    now?: () => Date;
}

export interface Warning {
    urn: string;
    summary: string;
    detail: string;
}
