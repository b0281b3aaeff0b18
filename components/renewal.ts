/**
 * Why a leaf is issued anew in this run: small named policies, each returning a reason or nothing, chained (the
 * shape of cert-manager's certificate trigger policies). The rotation summary prints the reasons; the component
 * re-issues a leaf when any policy gives one, and gives it a new key when a reason says so. Pure: no clock, no I/O.
 */
import { LeafRenewalInput, leafToken, LeafTokenParts, manualRotationText, renewalWindowText } from "./rotation";

export type LeafReasonCode = "RenewalWindow" | "ManualRotation" | "NoPreviousCertificate" | "ValidityChanged" | "IssuerChanged";

export interface LeafReason {
    code: LeafReasonCode;
    /** In words, as the rotation summary prints it. */
    message: string;
    /** The key is replaced too (the rotation token changes); otherwise only the certificate is re-issued. */
    newKey: boolean;
}

/** What the decision reads of one leaf: its token inputs, plus what it is issued with in this run. */
export interface LeafFacts extends LeafRenewalInput {
    /** The configured validity (before any cap at the CA's life). */
    validityHours: number;
    /** The generation of the CA that signs in this run. */
    issuerGeneration: number;
}

export type LeafPolicy = (facts: LeafFacts, token: LeafTokenParts) => LeafReason | undefined;

/** The clock reached the previous certificate's notAfter − renewBefore. */
export const renewalWindow: LeafPolicy = (f, t) =>
    t.renewed ? { code: "RenewalWindow", message: renewalWindowText(f.previous!.notAfterMs, f.renewBeforeHours, t.renewAtMs!), newKey: true } : undefined;

/** A `rotate` generation that selects the leaf changed. */
export const manualRotation: LeafPolicy = (_f, t) =>
    t.changedSelectors.length ? { code: "ManualRotation", message: manualRotationText(t.changedSelectors), newKey: true } : undefined;

/** Nothing is known of a previous certificate (a first run, or an inventory not read back). */
export const noPreviousCertificate: LeafPolicy = (f) =>
    f.previous
        ? undefined
        : { code: "NoPreviousCertificate", message: f.previousToken === undefined ? "first issue" : "no notAfter from the previous run", newKey: false };

/** The configured validity differs from the one the previous certificate was issued for. */
export const validityChanged: LeafPolicy = (f) => {
    if (!f.previous) return undefined;
    const was = f.previous.shortenedFromHours ?? f.previous.validityHours;
    return was !== f.validityHours
        ? { code: "ValidityChanged", message: `validity ${was === undefined ? "not recorded" : `${was}h`} → ${f.validityHours}h`, newKey: false }
        : undefined;
};

/** Another CA generation signs now (a promoted CA): new certificate, same key. */
export const issuerChanged: LeafPolicy = (f) => {
    const was = f.previous?.issuerGeneration;
    return was !== undefined && was !== f.issuerGeneration
        ? { code: "IssuerChanged", message: `issuer generation ${was} → ${f.issuerGeneration}`, newKey: false }
        : undefined;
};

/** The policies, in the order their reasons are printed. */
export const LEAF_POLICIES: LeafPolicy[] = [renewalWindow, manualRotation, noPreviousCertificate, validityChanged, issuerChanged];

export interface LeafDecision {
    /** The key's replacementTrigger. */
    token: string;
    reasons: LeafReason[];
    /** Some reason replaces the key. */
    newKey: boolean;
    /** Some reason re-issues the certificate (a kept certificate keeps the validity it was issued with). */
    reissue: boolean;
    /** The new-key reasons in words, joined (what the rotation summary lists under "rotate"). */
    keyReason?: string;
}

/** Runs every policy over one leaf. */
export function leafDecision(facts: LeafFacts, policies: LeafPolicy[] = LEAF_POLICIES): LeafDecision {
    const token = leafToken(facts);
    const reasons = policies.map((policy) => policy(facts, token)).filter((r): r is LeafReason => r !== undefined);
    const keyReasons = reasons.filter((r) => r.newKey).map((r) => r.message);
    return {
        token: token.token,
        reasons,
        newKey: keyReasons.length > 0,
        reissue: reasons.length > 0,
        ...(keyReasons.length ? { keyReason: keyReasons.join(" + ") } : {}),
    };
}
