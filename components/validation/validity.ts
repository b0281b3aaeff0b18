/** Validity section: caValidity, leafValidity, caRenewBefore, leafRenewBefore (cert-manager vocabulary). */
import {
    DEFAULT_CA_RENEW_BEFORE_HOURS,
    DEFAULT_CA_VALIDITY_HOURS,
    DEFAULT_LEAF_RENEW_BEFORE_HOURS,
    DEFAULT_LEAF_VALIDITY_HOURS,
} from "../catalog";
import { parseHours, Problems } from "./problems";

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
 * A duration field in hours: the default when absent or refused by the schema; a problem when malformed, with
 * `example` (two typical values of the field) in the message.
 */
export function hoursField(value: unknown, field: string, dflt: number, p: Problems, example = '"8760h" or "365d"'): number {
    if (value === undefined || !p.ok(field)) return dflt;
    const h = parseHours(value as string | number);
    if (h === undefined) {
        p.add(field, `"${value}" is not a duration (whole hours or days, e.g. ${example})`);
        return dflt;
    }
    return h;
}

export function validateValidity(a: ValidityInput, p: Problems): ValiditySection {
    const validityHours = {
        ca: hoursField(a.caValidity, "caValidity", DEFAULT_CA_VALIDITY_HOURS, p),
        leaf: hoursField(a.leafValidity, "leafValidity", DEFAULT_LEAF_VALIDITY_HOURS, p),
    };
    const renewBeforeHours = {
        ca: hoursField(a.caRenewBefore, "caRenewBefore", Math.min(DEFAULT_CA_RENEW_BEFORE_HOURS, Math.floor(validityHours.ca / 3)), p),
        leaf: hoursField(a.leafRenewBefore, "leafRenewBefore", Math.min(DEFAULT_LEAF_RENEW_BEFORE_HOURS, Math.floor(validityHours.leaf / 3)), p),
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
