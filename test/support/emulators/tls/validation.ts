/** Input validation worded as the tls provider's bridge reports a failed Check. */
import { ParsedKey, parsePrivateKeyPem, ProviderError } from "../../tls-crypto";
import { HandlerContext } from "./types";

// ------------------------------------------------------------------------------------------ validation

export const q = (s: string) => JSON.stringify(s);

/** A schema / config validation failure, worded like the bridge reports a failed Check. */
export function checkFailure(ctx: HandlerContext, attr: string, message: string): Error {
    return new Error(`${ctx.type} resource '${ctx.name}' has a problem: ${message}. Examine values at '${ctx.name}.${attr}'.`);
}

export function oneOf(ctx: HandlerContext, attr: string, tfPath: string, value: unknown, allowed: string[]) {
    if (value === undefined || value === null) return;
    if (typeof value !== "string" || !allowed.includes(value)) {
        // terraform-plugin-framework-validators stringvalidator.OneOf wording
        const list = allowed.map((a) => q(q(a))).join(" ");
        throw checkFailure(ctx, attr, `Attribute ${tfPath} value must be one of: [${list}], got: ${q(q(String(value)))}`);
    }
}

export function atLeast(ctx: HandlerContext, attr: string, tfPath: string, value: unknown, min: number) {
    if (value === undefined || value === null) return;
    if (typeof value !== "number" || !Number.isInteger(value)) {
        throw checkFailure(ctx, attr, `Attribute ${tfPath}: expected an integer, got ${q(String(value))}`);
    }
    if (value < min) throw checkFailure(ctx, attr, `Attribute ${tfPath} value must be at least ${min}, got: ${value}`);
}

export function stringList(ctx: HandlerContext, attr: string, tfPath: string, value: unknown, minLength = 0): string[] | undefined {
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

export function requireKnown(ctx: HandlerContext, attr: string, tfPath: string, value: unknown) {
    if ((value === undefined || value === null) && !ctx.unknownInputs.has(attr)) {
        throw checkFailure(ctx, attr, `Missing required argument: The argument "${tfPath}" is required, but no definition was found`);
    }
}

/** ConfigValidators: ExactlyOneOf(pem, pem_wo) and RequiredTogether(pem_wo, pem_wo_version). */
export function keyPemInput(ctx: HandlerContext, pemAttr: string, tfPem: string): string | undefined {
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

export function providerError(summary: string, e: unknown): ProviderError {
    return e instanceof ProviderError ? e : new ProviderError(summary, (e as Error).message ?? String(e));
}

export function parseKeyOrThrow(pem: string, summary: string): ParsedKey {
    try {
        return parsePrivateKeyPem(pem);
    } catch (e) {
        throw providerError(summary, e);
    }
}
