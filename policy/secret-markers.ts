import { SECRET_PATHS } from "./common";

/**
 * Secret markers. The engine sends each resource's properties to the analyzer with their secrets marked
 * (MarshalOptions{KeepSecrets: true}), but @pulumi/policy unwraps them (deserializeProperties(props, false)) before
 * a policy sees them, so a policy cannot tell `export const key = pulumi.secret(pem)` from a plain `pem`. This hook
 * records, next to the unwrapped properties, the paths of the values that were secrets (a non-enumerable
 * property, SECRET_PATHS); pki-plain-key-output reads it, and reports that it cannot work when it is missing.
 */
export function installSecretMarkers(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const deserialize = require("@pulumi/policy/deserialize");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rpc = require("@pulumi/pulumi/runtime/rpc");
    const original = deserialize.deserializeProperties;
    if (original.kubePkiSecretMarkers) return; // installed already
    if (typeof original !== "function" || !rpc.specialSigKey || !rpc.specialSecretSig) {
        throw new Error("kube-pki policy pack: @pulumi/policy/deserialize changed shape; the secret-marker hook cannot be installed");
    }
    const secretPaths = (v: unknown, path: string[], out: string[]): string[] => {
        if (Array.isArray(v)) v.forEach((e, i) => secretPaths(e, [...path, String(i)], out));
        else if (v && typeof v === "object") {
            const o = v as Record<string, unknown>;
            if (o[rpc.specialSigKey] === rpc.specialSecretSig) {
                out.push(path.join("."));
                secretPaths(o.value, path, out);
            } else if (!o[rpc.specialSigKey]) for (const [k, e] of Object.entries(o)) secretPaths(e, [...path, k], out);
        }
        return out;
    };
    const marked = (struct: { toJavaScript(): unknown }, proxySecrets: boolean) => {
        const props = original(struct, proxySecrets);
        Object.defineProperty(props, SECRET_PATHS, { value: secretPaths(struct.toJavaScript(), [], []), enumerable: false });
        return props;
    };
    marked.kubePkiSecretMarkers = true;
    deserialize.deserializeProperties = marked;
}
