// A crypto-faithful emulator of the @pulumi/tls provider (pulumi-tls v5.6.1, bridging
// hashicorp/terraform-provider-tls) for Pulumi unit tests with `pulumi.runtime.setMocks`.
//
//  - tls:index/privateKey:PrivateKey, tls:index/selfSignedCert:SelfSignedCert, tls:index/certRequest:CertRequest,
//    tls:index/locallySignedCert:LocallySignedCert and the invoke tls:index/getPublicKey:getPublicKey produce real
//    keys, CSRs and certificates (see tls-crypto.ts for the Go x509 details that are reproduced).
//  - Validation errors are thrown from newResource, so the resource (and the test awaiting it) fails like a real
//    `pulumi up` would.
//  - A small engine model: the emulator keeps the state of the last non-preview run per URN. Registering the same
//    URN again (a later "run" of the program, see beginRun()) with unchanged inputs keeps the old outputs (op
//    "same"); changed inputs replace it (op "replace", or "update" for in-place properties such as
//    earlyRenewalHours); a certificate whose early-renewal window has been reached (by the injectable clock) is
//    replaced like the provider's ModifyPlan does. In preview mode nothing is persisted and created / replaced
//    resources have their computed outputs unknown, as in `pulumi preview`.
//  - The engine's part is modelled where the mock monitor skips it: additionalSecretOutputs are returned as
//    secrets (the SDK asks for them, the mock monitor ignores them), and replacementTrigger / replaceWith /
//    ignoreChanges / replaceOnChanges decide "same" / "update" / "replace" across runs. These are read from the
//    RegisterResourceRequest by wrapping the installed mock monitor (install() / setupMocks()); with a bare
//    pulumi.runtime.setMocks(emulator, ...) they are unknown and URNs degrade to `${type}::${name}`.
//  - Any other resource (kubernetes:*, vault:*, providers, components) is echoed: outputs = inputs,
//    id = `${name}-id`, unless an emulation is registered with register(type, ...).
//  - The clock (NotBefore = now, renewal) is injectable: setupMocks({ now }), setNow(), advanceHours().

import { ALLOW_WHAT_IF_UP_ENV, HOUR_MS } from "../../components/time";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import {
    CertParent,
    CertTemplate,
    createCertificate,
    createCertificateRequest,
    EcdsaCurve,
    EXT_KEY_USAGES,
    generateKey,
    GoName,
    goNameIsZero,
    goTimeText,
    KEY_USAGES,
    KeyAlgorithm,
    parseCertificatePem,
    parseCsrPem,
    parseIp,
    ParsedKey,
    parsePrivateKeyPem,
    pemEncode,
    privateKeyAttributes,
    ProviderError,
    publicKeyAttributes,
    randomSerial,
    Sans,
    SubjectInput,
    subjectKeyId,
    subjectToGoName,
    SUPPORTED_USAGES,
} from "./tls-crypto";

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

interface PendingRequest extends EngineOptions {
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

// ------------------------------------------------------------------------------------------ value helpers

/** The @pulumi/tls SDK's additionalSecretOutputs, used when the monitor request cannot be seen. */
const DEFAULT_SECRET_OUTPUTS: Record<string, string[]> = {
    [TLS_TYPES.PrivateKey]: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"],
    [TLS_TYPES.SelfSignedCert]: ["privateKeyPem", "privateKeyPemWo"],
    [TLS_TYPES.CertRequest]: ["privateKeyPem", "privateKeyPemWo"],
    [TLS_TYPES.LocallySignedCert]: ["caPrivateKeyPem", "caPrivateKeyPemWo"],
};

function secretOf(value: unknown): Record<string, unknown> {
    return { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value };
}

/**
 * Wraps the named outputs as secrets, like the engine does for additionalSecretOutputs. In a preview, a computed
 * output that is still unknown is a secret unknown.
 */
function markSecret(state: Record<string, any>, names: string[], previewUnknowns: boolean): Record<string, any> {
    if (names.length === 0) return state;
    const out = { ...state };
    for (const n of names) {
        if (out[n] === undefined) {
            if (previewUnknowns && !/Wo$/.test(n)) out[n] = secretOf(pulumi.unknown);
        } else if (!pulumi.runtime.isRpcSecret(out[n])) {
            out[n] = secretOf(out[n]);
        }
    }
    return out;
}

/** Secrets unwrapped, unknowns turned into undefined (and reported through onUnknown). */
function toPlain(v: any, onUnknown: () => void): any {
    if (pulumi.isUnknown(v)) {
        onUnknown();
        return undefined;
    }
    if (pulumi.runtime.isRpcSecret(v)) return toPlain(pulumi.runtime.unwrapRpcSecret(v), onUnknown);
    if (Array.isArray(v)) return v.map((e) => toPlain(e, onUnknown));
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
        const out: Record<string, any> = {};
        for (const [k, e] of Object.entries(v)) out[k] = toPlain(e, onUnknown);
        return out;
    }
    return v;
}

/** A serialized property value (as on the wire) made plain: secrets / output values unwrapped, unknowns reported. */
function plainSerialized(v: any, onUnknown: () => void): any {
    const sig = pulumi.runtime.specialSigKey;
    if (v === pulumi.runtime.unknownValue) {
        onUnknown();
        return undefined;
    }
    if (Array.isArray(v)) return v.map((e) => plainSerialized(e, onUnknown));
    if (v !== null && typeof v === "object") {
        if (v[sig] === pulumi.runtime.specialSecretSig) return plainSerialized(v.value, onUnknown);
        if (v[sig] === pulumi.runtime.specialOutputValueSig) {
            if (!("value" in v)) {
                onUnknown();
                return undefined;
            }
            return plainSerialized(v.value, onUnknown);
        }
        return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, plainSerialized(e, onUnknown)]));
    }
    return v;
}

function canonical(v: any): string {
    return JSON.stringify(v, (_k, val) => {
        if (val && typeof val === "object" && !Array.isArray(val)) {
            return Object.fromEntries(
                Object.keys(val)
                    .filter((k) => val[k] !== undefined && val[k] !== null)
                    .sort()
                    .map((k) => [k, val[k]]),
            );
        }
        return val;
    });
}

const sameValue = (a: any, b: any) => canonical(a ?? null) === canonical(b ?? null);

function stripUndefined(o: Record<string, any>): Record<string, any> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

// ------------------------------------------------------------------------------------------ validation

const q = (s: string) => JSON.stringify(s);

/** A schema / config validation failure, worded like the bridge reports a failed Check. */
function checkFailure(ctx: HandlerContext, attr: string, message: string): Error {
    return new Error(`${ctx.type} resource '${ctx.name}' has a problem: ${message}. Examine values at '${ctx.name}.${attr}'.`);
}

function oneOf(ctx: HandlerContext, attr: string, tfPath: string, value: unknown, allowed: string[]) {
    if (value === undefined || value === null) return;
    if (typeof value !== "string" || !allowed.includes(value)) {
        // terraform-plugin-framework-validators stringvalidator.OneOf wording
        const list = allowed.map((a) => q(q(a))).join(" ");
        throw checkFailure(ctx, attr, `Attribute ${tfPath} value must be one of: [${list}], got: ${q(q(String(value)))}`);
    }
}

function atLeast(ctx: HandlerContext, attr: string, tfPath: string, value: unknown, min: number) {
    if (value === undefined || value === null) return;
    if (typeof value !== "number" || !Number.isInteger(value)) {
        throw checkFailure(ctx, attr, `Attribute ${tfPath}: expected an integer, got ${q(String(value))}`);
    }
    if (value < min) throw checkFailure(ctx, attr, `Attribute ${tfPath} value must be at least ${min}, got: ${value}`);
}

function stringList(ctx: HandlerContext, attr: string, tfPath: string, value: unknown, minLength = 0): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw checkFailure(ctx, attr, `Attribute ${tfPath}: expected a list of strings`);
    value.forEach((v, i) => {
        if (v !== undefined && typeof v !== "string") {
            throw checkFailure(ctx, `${attr}[${i}]`, `Attribute ${tfPath}[${i}]: expected a string`);
        }
        if (typeof v === "string" && v.length < minLength) {
            throw checkFailure(
                ctx,
                `${attr}[${i}]`,
                `Attribute ${tfPath}[${i}] string length must be at least ${minLength}, got: ${v.length}`,
            );
        }
    });
    return value as string[];
}

function requireKnown(ctx: HandlerContext, attr: string, tfPath: string, value: unknown) {
    if ((value === undefined || value === null) && !ctx.unknownInputs.has(attr)) {
        throw checkFailure(ctx, attr, `Missing required argument: The argument "${tfPath}" is required, but no definition was found`);
    }
}

/** ConfigValidators: ExactlyOneOf(pem, pem_wo) and RequiredTogether(pem_wo, pem_wo_version). */
function keyPemInput(ctx: HandlerContext, pemAttr: string, tfPem: string): string | undefined {
    const pem = ctx.inputs[pemAttr];
    const wo = ctx.inputs[`${pemAttr}Wo`];
    const pemSet = pem !== undefined || ctx.unknownInputs.has(pemAttr);
    const woSet = wo !== undefined || ctx.unknownInputs.has(`${pemAttr}Wo`);
    if (pemSet === woSet) {
        throw checkFailure(
            ctx,
            pemAttr,
            `Invalid Attribute Combination: Exactly one of these attributes must be configured: [${tfPem},${tfPem}_wo]`,
        );
    }
    if (woSet && ctx.inputs[`${pemAttr}WoVersion`] === undefined && !ctx.unknownInputs.has(`${pemAttr}WoVersion`)) {
        throw checkFailure(
            ctx,
            `${pemAttr}WoVersion`,
            `Invalid Attribute Combination: These attributes must be configured together: [${tfPem}_wo,${tfPem}_wo_version]`,
        );
    }
    return typeof pem === "string" ? pem : typeof wo === "string" ? wo : undefined;
}

function providerError(summary: string, e: unknown): ProviderError {
    return e instanceof ProviderError ? e : new ProviderError(summary, (e as Error).message ?? String(e));
}

function parseKeyOrThrow(pem: string, summary: string): ParsedKey {
    try {
        return parsePrivateKeyPem(pem);
    } catch (e) {
        throw providerError(summary, e);
    }
}

// ------------------------------------------------------------------------------------------ tls emulations

const privateKeyEmulation: Emulation = {
    create(ctx) {
        const { algorithm, rsaBits, ecdsaCurve } = ctx.inputs;
        requireKnown(ctx, "algorithm", "algorithm", algorithm);
        oneOf(ctx, "algorithm", "algorithm", algorithm, ["RSA", "ECDSA", "ED25519"]);
        oneOf(ctx, "ecdsaCurve", "ecdsa_curve", ecdsaCurve, ["P224", "P256", "P384", "P521"]);
        if (rsaBits !== undefined && (typeof rsaBits !== "number" || !Number.isInteger(rsaBits))) {
            throw checkFailure(ctx, "rsaBits", `Attribute rsa_bits: expected an integer, got ${q(String(rsaBits))}`);
        }
        const state: Record<string, any> = {
            ...ctx.rawInputs,
            rsaBits: ctx.unknownInputs.has("rsaBits") ? ctx.rawInputs.rsaBits : rsaBits ?? 2048,
            ecdsaCurve: ctx.unknownInputs.has("ecdsaCurve") ? ctx.rawInputs.ecdsaCurve : ecdsaCurve ?? "P224",
        };
        if (ctx.preview || ctx.unknownInputs.size > 0) return { state };
        const key = generateKey(algorithm as KeyAlgorithm, state.rsaBits, state.ecdsaCurve as EcdsaCurve);
        const { id, ...attrs } = privateKeyAttributes(key);
        return { id, state: { ...state, ...attrs } };
    },
};

/** ready_for_renewal at plan time (attribute_plan_modifier_bool.ReadyForRenewal). */
function plannedReadyForRenewal(validity: number, early: number): boolean {
    return validity === 0 || early >= validity;
}

/** modifyPlanIfCertificateReadyForRenewal / modifyStateIfCertificateReadyForRenewal. */
function dueForRenewal(outputs: Record<string, any>, now: Date, early: number): boolean {
    const end = outputs.validityEndTime;
    if (typeof end !== "string") return false;
    return Date.parse(end) - early * HOUR_MS <= now.getTime();
}

const certEmulationBase = {
    updatableInputs: ["earlyRenewalHours"],
    writeOnlyInputs: ["privateKeyPemWo", "caPrivateKeyPemWo"],
    replaceIf(prior: StoredResource, now: Date, inputs: Record<string, any>) {
        return dueForRenewal(toPlain(prior.outputs, () => undefined), now, inputs.earlyRenewalHours ?? 0)
            ? "readyForRenewal"
            : undefined;
    },
    update(ctx: HandlerContext): HandlerResult {
        return {
            id: ctx.prior!.id,
            state: { ...ctx.prior!.outputs, ...ctx.rawInputs, earlyRenewalHours: ctx.inputs.earlyRenewalHours ?? 0, readyForRenewal: false },
        };
    },
    refresh(prior: StoredResource, now: Date) {
        const plain = toPlain(prior.outputs, () => undefined);
        return dueForRenewal(plain, now, plain.earlyRenewalHours ?? 0) ? { ...prior.outputs, readyForRenewal: true } : prior.outputs;
    },
};

interface CommonCertInputs {
    validityPeriodHours?: number;
    earlyRenewalHours?: number;
    allowedUses?: string[];
    isCaCertificate?: boolean;
    maxPathLength?: number;
    setSubjectKeyId?: boolean;
}

function validateCommonCert(ctx: HandlerContext): CommonCertInputs {
    const i = ctx.inputs;
    requireKnown(ctx, "validityPeriodHours", "validity_period_hours", i.validityPeriodHours);
    requireKnown(ctx, "allowedUses", "allowed_uses", i.allowedUses);
    atLeast(ctx, "validityPeriodHours", "validity_period_hours", i.validityPeriodHours, 0);
    atLeast(ctx, "earlyRenewalHours", "early_renewal_hours", i.earlyRenewalHours, 0);
    atLeast(ctx, "maxPathLength", "max_path_length", i.maxPathLength, -1);
    const uses = stringList(ctx, "allowedUses", "allowed_uses", i.allowedUses);
    uses?.forEach((u, idx) => {
        if (u === undefined) return;
        if (!SUPPORTED_USAGES.includes(u)) {
            const list = SUPPORTED_USAGES.map((a) => q(q(a))).join(" ");
            throw checkFailure(ctx, `allowedUses[${idx}]`, `Attribute allowed_uses[${idx}] value must be one of: [${list}], got: ${q(q(u))}`);
        }
    });
    return i as CommonCertInputs;
}

/** Defaults the provider plans for a certificate, plus the plan-time ready_for_renewal. */
function certPlannedState(ctx: HandlerContext, extra: Record<string, any>): Record<string, any> {
    const i = ctx.inputs;
    const known = (k: string) => !ctx.unknownInputs.has(k);
    const state: Record<string, any> = {
        ...ctx.rawInputs,
        earlyRenewalHours: known("earlyRenewalHours") ? i.earlyRenewalHours ?? 0 : ctx.rawInputs.earlyRenewalHours,
        isCaCertificate: known("isCaCertificate") ? i.isCaCertificate ?? false : ctx.rawInputs.isCaCertificate,
        setSubjectKeyId: known("setSubjectKeyId") ? i.setSubjectKeyId ?? false : ctx.rawInputs.setSubjectKeyId,
        maxPathLength: known("maxPathLength") ? i.maxPathLength ?? -1 : ctx.rawInputs.maxPathLength,
        ...extra,
    };
    // write-only attributes are never stored
    for (const k of Object.keys(state)) if (/Wo$/.test(k)) delete state[k];
    if (known("validityPeriodHours") && known("earlyRenewalHours") && typeof i.validityPeriodHours === "number") {
        state.readyForRenewal = plannedReadyForRenewal(i.validityPeriodHours, i.earlyRenewalHours ?? 0);
    } else {
        delete state.readyForRenewal;
    }
    return state;
}

function sansFromInputs(ctx: HandlerContext): Sans {
    const dnsNames = stringList(ctx, "dnsNames", "dns_names", ctx.inputs.dnsNames) ?? [];
    const ipStrings = stringList(ctx, "ipAddresses", "ip_addresses", ctx.inputs.ipAddresses, 1) ?? [];
    const uris = stringList(ctx, "uris", "uris", ctx.inputs.uris, 1) ?? [];
    const ipAddresses = ipStrings.map((s) => {
        const ip = parseIp(s);
        if (!ip) throw new ProviderError("Invalid IP address", `Failed to parse ${q(s)}`);
        return ip;
    });
    for (const u of uris) {
        // the few things Go's url.Parse rejects
        if (/[\x00-\x1f\x7f]/.test(u)) throw new ProviderError("Invalid URI", `Failed to parse ${q(u)}: parse ${q(u)}: net/url: invalid control character in URL`);
        if (u.startsWith(":")) throw new ProviderError("Invalid URI", `Failed to parse ${q(u)}: parse ${q(u)}: missing protocol scheme`);
        const bad = /%(?![0-9a-fA-F]{2})(.{0,2})/.exec(u);
        if (bad) throw new ProviderError("Invalid URI", `Failed to parse ${q(u)}: parse ${q(u)}: invalid URL escape ${q("%" + bad[1])}`);
    }
    return { dnsNames, emailAddresses: [], ipAddresses, uris };
}

/** common_cert.go createCertificate: everything the provider sets on the template before x509.CreateCertificate. */
async function issue(
    ctx: HandlerContext,
    template: { subject: GoName; subjectIsZero: boolean; sans: Sans },
    parent: CertParent | "self",
    pub: ParsedKey["publicKey"],
    signer: ParsedKey,
    setAuthorityKeyId: boolean,
): Promise<{ certPem: string; serial: bigint; notBefore: Date; notAfter: Date }> {
    const i = ctx.inputs as CommonCertInputs;
    const notBefore = ctx.now;
    const notAfter = new Date(notBefore.getTime() + (i.validityPeriodHours ?? 0) * HOUR_MS);
    const serial = randomSerial();
    const t: CertTemplate = {
        subject: template.subject,
        sans: template.sans,
        notBefore,
        notAfter,
        serial,
        keyUsage: 0,
        extKeyUsage: [],
        isCA: false,
        maxPathLen: 0,
    };
    for (const use of i.allowedUses ?? []) {
        if (KEY_USAGES[use] !== undefined) t.keyUsage |= KEY_USAGES[use];
        if (EXT_KEY_USAGES[use] !== undefined) t.extKeyUsage.push(EXT_KEY_USAGES[use]);
    }
    if (i.isCaCertificate === true) {
        if (template.subjectIsZero) {
            throw new ProviderError(
                "Invalid Certificate Subject",
                "Must contain at least one Distinguished Name when creating Certificate Authority (CA)",
            );
        }
        t.isCA = true;
        t.subjectKeyId = subjectKeyId(pub);
    }
    if (typeof i.maxPathLength === "number" && i.maxPathLength >= 0) t.maxPathLen = i.maxPathLength;
    if (i.setSubjectKeyId === true) t.subjectKeyId = subjectKeyId(pub);
    if (setAuthorityKeyId) {
        // self-signed only: the parent is the template itself
        const parentSkid = parent === "self" ? t.subjectKeyId : parent.subjectKeyId;
        if (!parentSkid || parentSkid.length === 0) {
            throw new ProviderError("Invalid Certificate Authority", "Could not determine Authority Key Identifier");
        }
        t.authorityKeyId = parentSkid;
    }
    let der: Buffer;
    try {
        der = await createCertificate(t, parent, pub, signer);
    } catch (e) {
        throw providerError("Failed to create certificate", e);
    }
    return { certPem: pemEncode("CERTIFICATE", der), serial, notBefore, notAfter };
}

function subjectInput(ctx: HandlerContext): { subject: GoName; subjectIsZero: boolean } {
    const s = ctx.inputs.subject;
    if (s !== undefined && s !== null && (typeof s !== "object" || Array.isArray(s))) {
        throw checkFailure(ctx, "subject", "Attribute subject: expected an object");
    }
    const subject = subjectToGoName(s as SubjectInput | undefined);
    return { subject, subjectIsZero: goNameIsZero(subject) };
}

const selfSignedCertEmulation: Emulation = {
    ...certEmulationBase,
    async create(ctx) {
        validateCommonCert(ctx);
        const keyPem = keyPemInput(ctx, "privateKeyPem", "private_key_pem");
        const state = certPlannedState(ctx, {
            setAuthorityKeyId: ctx.unknownInputs.has("setAuthorityKeyId") ? ctx.rawInputs.setAuthorityKeyId : ctx.inputs.setAuthorityKeyId ?? false,
        });
        if (ctx.preview || ctx.unknownInputs.size > 0 || keyPem === undefined) return { state };

        const key = parseKeyOrThrow(keyPem, "Failed to parse private key PEM");
        const subject = subjectInput(ctx);
        const sans = sansFromInputs(ctx);
        const cert = await issue(ctx, { ...subject, sans }, "self", key.publicKey, key, ctx.inputs.setAuthorityKeyId === true);
        return {
            id: cert.serial.toString(10),
            state: {
                ...state,
                keyAlgorithm: key.algorithm,
                certPem: cert.certPem,
                validityStartTime: goTimeText(cert.notBefore),
                validityEndTime: goTimeText(cert.notAfter),
            },
        };
    },
};

const locallySignedCertEmulation: Emulation = {
    ...certEmulationBase,
    async create(ctx) {
        validateCommonCert(ctx);
        requireKnown(ctx, "certRequestPem", "cert_request_pem", ctx.inputs.certRequestPem);
        requireKnown(ctx, "caCertPem", "ca_cert_pem", ctx.inputs.caCertPem);
        const caKeyPem = keyPemInput(ctx, "caPrivateKeyPem", "ca_private_key_pem");
        const state = certPlannedState(ctx, {});
        if (ctx.preview || ctx.unknownInputs.size > 0 || caKeyPem === undefined) return { state };

        let csr;
        try {
            csr = parseCsrPem(ctx.inputs.certRequestPem);
        } catch (e) {
            throw providerError("Failed to parse certificate request PEM", e);
        }
        const caKey = parseKeyOrThrow(caKeyPem, "Failed to parse CA private key PEM");
        let caCert;
        try {
            caCert = parseCertificatePem(ctx.inputs.caCertPem);
        } catch (e) {
            throw providerError("Failed to parse CA certificate PEM", e);
        }
        if (!caCert.isCA) {
            ctx.emulator.warnings.push({
                urn: ctx.urn,
                summary: "Potentially Invalid Certificate Authority",
                detail:
                    "Certificate provided as Authority does not appear to be a valid Certificate Authority. " +
                    "The resulting certificate might fail certificate validation.",
            });
        }
        // template: Subject, DNSNames, IPAddresses, URIs from the CSR (email SANs and requested extensions are dropped)
        const sans: Sans = { ...csr.sans, emailAddresses: [] };
        const cert = await issue(
            ctx,
            { subject: csr.subject, subjectIsZero: goNameIsZero(csr.subject), sans },
            { subjectDer: caCert.subjectDer, subjectKeyId: caCert.subjectKeyId, spki: caCert.spki },
            csr.publicKey,
            caKey,
            false,
        );
        return {
            id: cert.serial.toString(10),
            state: {
                ...state,
                caKeyAlgorithm: caKey.algorithm,
                certPem: cert.certPem,
                validityStartTime: goTimeText(cert.notBefore),
                validityEndTime: goTimeText(cert.notAfter),
            },
        };
    },
};

const certRequestEmulation: Emulation = {
    writeOnlyInputs: ["privateKeyPemWo"],
    async create(ctx) {
        const keyPem = keyPemInput(ctx, "privateKeyPem", "private_key_pem");
        stringList(ctx, "ipAddresses", "ip_addresses", ctx.inputs.ipAddresses, 1);
        stringList(ctx, "uris", "uris", ctx.inputs.uris, 1);
        const state: Record<string, any> = { ...ctx.rawInputs };
        for (const k of Object.keys(state)) if (/Wo$/.test(k)) delete state[k];
        if (ctx.preview || ctx.unknownInputs.size > 0 || keyPem === undefined) return { state };

        const key = parseKeyOrThrow(keyPem, "Failed to parse private key PEM");
        const { subject } = subjectInput(ctx);
        const sans = sansFromInputs(ctx);
        let der: Buffer;
        try {
            der = await createCertificateRequest(subject, sans, key);
        } catch (e) {
            throw providerError("Error creating certificate request", e);
        }
        return {
            id: createHash("sha1").update(der).digest("hex"),
            state: { ...state, keyAlgorithm: key.algorithm, certRequestPem: pemEncode("CERTIFICATE REQUEST", der) },
        };
    },
};

function getPublicKeyCall(inputs: Record<string, any>): Record<string, any> {
    const { privateKeyPem, privateKeyOpenssh } = inputs;
    if ((privateKeyPem === undefined) === (privateKeyOpenssh === undefined)) {
        throw new Error(
            "Invalid Attribute Combination: Exactly one of these attributes must be configured: [private_key_pem,private_key_openssh]",
        );
    }
    if (privateKeyOpenssh !== undefined) {
        throw new Error("tls emulator: getPublicKey with privateKeyOpenssh is not emulated (use privateKeyPem)");
    }
    const key = parseKeyOrThrow(privateKeyPem, "Unable to parse private key");
    return { ...inputs, algorithm: key.algorithm, ...publicKeyAttributes(key) };
}

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
