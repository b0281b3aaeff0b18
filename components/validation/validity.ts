/** Validity section: caValidity, leafValidity, caRenewBefore, leafRenewBefore (cert-manager vocabulary). */
import {
    DEFAULT_CA_RENEW_BEFORE_HOURS,
    DEFAULT_CA_VALIDITY_HOURS,
    DEFAULT_LEAF_RENEW_BEFORE_HOURS,
    DEFAULT_LEAF_VALIDITY_HOURS,
} from "../catalog";
import { defaultRenewBefore, parseDuration, Problems, shortValidityProblem } from "./problems";

export interface ValidityInput {
    caValidity?: unknown;
    leafValidity?: unknown;
    caRenewBefore?: unknown;
    leafRenewBefore?: unknown;
}

export interface ValiditySection {
    validityHours: { ca: number; leaf: number };
    renewBeforeHours: { ca: number; leaf: number };
}

/**
 * A duration field in hours (1h … 100 years): the default when absent or refused by the schema; a problem when
 * malformed or out of bounds, with `example` (two typical values of the field) in the message.
 */
export function hoursField(value: unknown, field: string, dflt: number, p: Problems, example = '"8760h" or "365d"'): number {
    if (value === undefined || !p.ok(field)) return dflt;
    const h = parseDuration(value, example);
    if (typeof h === "string") {
        p.add(field, h);
        return dflt;
    }
    return h;
}

/** A validity field: a duration of at least MIN_VALIDITY_HOURS (room for a renewal window). */
export function validityField(value: unknown, field: string, dflt: number, p: Problems, example = '"8760h" or "365d"'): number {
    const h = hoursField(value, field, dflt, p, example);
    const short = shortValidityProblem(h);
    if (short) {
        p.add(field, short);
        return dflt;
    }
    return h;
}

export function validateValidity(a: ValidityInput, p: Problems): ValiditySection {
    const validityHours = {
        ca: validityField(a.caValidity, "caValidity", DEFAULT_CA_VALIDITY_HOURS, p),
        leaf: validityField(a.leafValidity, "leafValidity", DEFAULT_LEAF_VALIDITY_HOURS, p),
    };
    const renewBeforeHours = {
        ca: hoursField(a.caRenewBefore, "caRenewBefore", defaultRenewBefore(validityHours.ca, DEFAULT_CA_RENEW_BEFORE_HOURS), p),
        leaf: hoursField(a.leafRenewBefore, "leafRenewBefore", defaultRenewBefore(validityHours.leaf, DEFAULT_LEAF_RENEW_BEFORE_HOURS), p),
    };
    if (validityHours.leaf > validityHours.ca) {
        p.add(
            "leafValidity",
            `${validityHours.leaf}h is longer than caValidity (${validityHours.ca}h): a leaf cannot outlive its CA; shorten it ` +
                `(leaves issued late in a CA's life are shortened to the CA's remaining life anyway)`,
        );
    }
    if (renewBeforeHours.ca >= validityHours.ca) {
        p.add("caRenewBefore", `${renewBeforeHours.ca}h must be shorter than caValidity (${validityHours.ca}h), e.g. a third of it`);
    }
    if (renewBeforeHours.leaf >= validityHours.leaf) {
        p.add("leafRenewBefore", `${renewBeforeHours.leaf}h must be shorter than leafValidity (${validityHours.leaf}h), e.g. a third of it`);
    }
    return { validityHours, renewBeforeHours };
}
