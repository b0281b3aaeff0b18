/**
 * NodeFiles: the packed form of the `contents` input. The engine keeps every input in the state and rewrites the
 * whole state file after each step, so the bytes of a node's contents are paid once per step of the whole up.
 * Packed, the path → content map is one string: a version tag, then base64 of the raw-deflated JSON (PEM and
 * kubeconfig text shrink to about half, and the CA certificate that ca.crt and each kubeconfig repeat is stored
 * once). Still ONE secret input; decoded in memory only, never written anywhere.
 *
 * States written before packing hold the plain map: `unpackContents` takes both.
 */
import * as zlib from "node:zlib";

const TAG = "kube-pki-files:deflate-json:v1:";

/** path → content, as the one packed string of the `contents` input. */
export function packContents(contents: Record<string, string>): string {
    const sorted = Object.fromEntries(Object.keys(contents).sort().map((rel) => [rel, contents[rel]]));
    return TAG + zlib.deflateRawSync(Buffer.from(JSON.stringify(sorted), "utf8"), { level: 9 }).toString("base64");
}

/** The path → content map of a `contents` input, packed (a string) or plain (states from before packing). */
export function unpackContents(value: unknown): Record<string, string> {
    if (typeof value === "string") {
        if (!value.startsWith(TAG)) throw new Error("kube-pki NodeFiles: the contents input is not in a known packed form");
        const map = JSON.parse(zlib.inflateRawSync(Buffer.from(value.slice(TAG.length), "base64")).toString("utf8"));
        if (!map || typeof map !== "object" || Array.isArray(map)) throw new Error("kube-pki NodeFiles: the packed contents input is not a path → content map");
        return map;
    }
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, string>;
    throw new Error("kube-pki NodeFiles: the contents input is missing or unknown");
}
