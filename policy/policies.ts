/**
 * kube-pki's CrossGuard policies: PKI hygiene for @pulumi/tls, kube-pki's components, @pulumi/vault PKI resources,
 * Kubernetes Secrets and stack outputs. index.ts wraps them in a PolicyPack; test/policy.spec.ts runs them directly;
 * docs/policy.md is the reference (levels, thresholds, what each one sees).
 *
 * Every policy reads the resources' raw properties (common.ts `raw`): during a preview, values that are not known
 * yet (a certificate's validityEndTime, a key's PEM) are skipped one by one instead of turning the whole policy into
 * a "can't run during preview" advisory, as @pulumi/policy does when a policy touches an unknown value.
 *
 * One file per concern: common.ts (config, resource types, raw access), keys-lifetimes.ts, identities.ts,
 * rotation.ts (renewal and CA rotation), secrecy.ts (+ key-material.ts, the decoder it uses).
 */
import type {
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { caCertSigning, leafCertSigning, serverCertSans, systemMasters } from "./identities";
import { caMaxLifetime, keyStrength, leafMaxLifetime, leafOutlivesCa } from "./keys-lifetimes";
import { caRotationStaged, earlyRenewal } from "./rotation";
import { caKeySecret, plainKeyOutput } from "./secrecy";

export { CA_KEY_OPT_IN_ANNOTATION, DEFAULTS, globMatch, isUnknown, raw, SECRET_PATHS, T, vaultDurationHours } from "./common";
export type { PkiPolicyConfig } from "./common";
export { caCertSigning, leafCertSigning, serverCertSans, systemMasters } from "./identities";
export { caMaxLifetime, keyStrength, leafMaxLifetime, leafOutlivesCa } from "./keys-lifetimes";
export { caRotationStaged, earlyRenewal } from "./rotation";
export { caKeySecret, plainKeyMaterial, plainKeyOutput } from "./secrecy";

/** Every policy of the pack, in the order of docs/policy.md. */
export const POLICIES = [
    keyStrength,
    leafMaxLifetime,
    caMaxLifetime,
    leafOutlivesCa,
    systemMasters,
    caCertSigning,
    leafCertSigning,
    serverCertSans,
    earlyRenewal,
    plainKeyOutput,
    caKeySecret,
    caRotationStaged,
];

export type { EnforcementLevel, PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy };
