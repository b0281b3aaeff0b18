/** Property values as the engine passes them: secrets, unknowns, canonical comparison. */
import * as pulumi from "@pulumi/pulumi";
import { TLS_TYPES } from "./types";

// ------------------------------------------------------------------------------------------ value helpers

/** The @pulumi/tls SDK's additionalSecretOutputs, used when the monitor request cannot be seen. */
export const DEFAULT_SECRET_OUTPUTS: Record<string, string[]> = {
    [TLS_TYPES.PrivateKey]: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"],
    [TLS_TYPES.SelfSignedCert]: ["privateKeyPem", "privateKeyPemWo"],
    [TLS_TYPES.CertRequest]: ["privateKeyPem", "privateKeyPemWo"],
    [TLS_TYPES.LocallySignedCert]: ["caPrivateKeyPem", "caPrivateKeyPemWo"],
};

export function secretOf(value: unknown): Record<string, unknown> {
    return { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value };
}

/**
 * Wraps the named outputs as secrets, like the engine does for additionalSecretOutputs. In a preview, a computed
 * output that is still unknown is a secret unknown.
 */
export function markSecret(state: Record<string, any>, names: string[], previewUnknowns: boolean): Record<string, any> {
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
export function toPlain(v: any, onUnknown: () => void): any {
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
export function plainSerialized(v: any, onUnknown: () => void): any {
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

export function canonical(v: any): string {
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

export const sameValue = (a: any, b: any) => canonical(a ?? null) === canonical(b ?? null);

export function stripUndefined(o: Record<string, any>): Record<string, any> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
