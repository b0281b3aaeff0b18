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

export { TLS_TYPES, type Op, type RecordedResource, type StoredResource, type HandlerContext, type HandlerResult, type Emulation, type CallHandler, type EngineOptions, type EmulatorOptions, type Warning } from "./emulators/tls/types";
export { TlsEmulator, setupMocks } from "./emulators/tls/emulator";
