/**
 * Private key material in a value, however it is wrapped: a PEM private key; base64 (or base64url) of one, or of a
 * DER key; a DER key as hex; a JWK with its private member; any of these inside JSON, YAML (quoted or not, multi-
 * document), a kubeconfig (`client-key-data`), a Kubernetes Secret (`tls.key`, `ssh-privatekey`), a cloud-init
 * `write_files` entry (`content`, `encoding: b64 | gzip+b64`) or gzip. Strings are decoded recursively, within bounds
 * (depth, size, total work), so that a hostile or huge output cannot stall a preview.
 *
 * A finding names where the key is and how it was wrapped ("base64 → PEM"), never the key itself. The caller
 * decides which values to look at (pki-plain-key-output: the plain stack outputs).
 */
import { createPrivateKey } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { parseAllDocuments } from "yaml";

/** How far decoding goes: nesting of decodings, largest string or decoded blob, total bytes examined per scan. */
export const LIMITS = { depth: 6, bytes: 4 << 20, budget: 64 << 20 };

export interface KeyFinding {
    /** Path inside the value (object keys / array indexes), then inside decoded documents. */
    path: string[];
    /** The decodings that led to the key, outermost first, ending with the key's form (e.g. ["base64", "PEM"]). */
    via: string[];
}

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;
/** Fields whose value is a private key by definition (kubeconfig, Secret types kubernetes.io/tls and ssh-auth). */
const KEY_FIELDS = new Set(["client-key-data", "tls.key", "ssh-privatekey"]);
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
/** Runs of base64 / hex inside free text (shell scripts, env files, logs): at least an Ed25519 PKCS#8 key's worth. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{64,}={0,2}/g;
const HEX_RUN = /(?:[0-9a-fA-F]{2}){48,}/g;
/** The binary form inside "-----BEGIN OPENSSH PRIVATE KEY-----" (sshkey.c AUTH_MAGIC). */
const OPENSSH_MAGIC = Buffer.from("openssh-key-v1\0", "latin1");
const DER_TYPES = [
    { type: "pkcs8", name: "DER PKCS#8" },
    { type: "pkcs1", name: "DER PKCS#1" },
    { type: "sec1", name: "DER SEC1" },
] as const;

/** Every place under `value` that holds private key material; `skip(path)` prunes a subtree (e.g. a secret). */
export function findKeyMaterial(value: unknown, skip: (path: string[]) => boolean = () => false, isUnknown: (v: unknown) => boolean = () => false): KeyFinding[] {
    const scan = new Scan(skip, isUnknown);
    scan.value(value, [], []);
    return scan.found;
}

class Scan {
    found: KeyFinding[] = [];
    private budget = LIMITS.budget;
    constructor(
        private readonly skip: (path: string[]) => boolean,
        private readonly isUnknown: (v: unknown) => boolean,
    ) {}

    private hit(path: string[], via: string[]) {
        this.found.push({ path, via });
    }

    value(v: unknown, path: string[], via: string[]): void {
        if (path.length && via.length === 0 && this.skip(path)) return;
        if (this.isUnknown(v)) return;
        if (typeof v === "string") return this.string(v, path, via);
        if (Array.isArray(v)) return v.forEach((e, i) => this.value(e, [...path, String(i)], via));
        if (!v || typeof v !== "object") return;
        const o = v as Record<string, unknown>;
        if (isPrivateJwk(o)) return this.hit(path, [...via, "JWK"]);
        const cloudInit = typeof o.content === "string" && typeof o.encoding === "string" ? o.encoding.toLowerCase() : undefined;
        for (const [k, e] of Object.entries(o)) {
            const at = [...path, k];
            if (k === "content" && cloudInit && /^(gz|gzip)\+(b64|base64)$|^(b64|base64)$/.test(cloudInit) && typeof e === "string") {
                const bytes = this.decodeBase64(e);
                if (bytes) this.bytes(bytes, at, [...via, `cloud-init ${cloudInit}`]);
                continue;
            }
            if (KEY_FIELDS.has(k) && typeof e === "string" && isKeyFieldValue(e) && !(via.length === 0 && this.skip(at))) {
                this.hit(at, [...via, k]);
                continue;
            }
            this.value(e, at, via);
        }
    }

    private spend(n: number): boolean {
        this.budget -= n;
        return this.budget >= 0;
    }

    string(s: string, path: string[], via: string[]): void {
        if (s.length > LIMITS.bytes || !this.spend(s.length)) return this.hit(path, [...via, `unscanned: over ${LIMITS.bytes} bytes or the scan budget`]);
        if (PEM_PRIVATE_KEY.test(s)) return this.hit(path, [...via, "PEM"]);
        if (via.length >= LIMITS.depth) return;
        const t = s.trim();
        if (t.length < 16) return;
        const before = this.found.length;
        // A whole encoded value
        const compact = t.replace(/\s+/g, "");
        if (HEX.test(compact.replace(/:/g, "")) && compact.length >= 64) {
            this.bytes(Buffer.from(compact.replace(/:/g, ""), "hex"), path, [...via, "hex"]);
            if (this.found.length > before) return;
        }
        if (BASE64.test(compact) && compact.length >= 24) {
            const bytes = this.decodeBase64(compact);
            if (bytes) this.bytes(bytes, path, [...via, "base64"]);
            if (this.found.length > before) return;
        }
        // A document: JSON, or YAML (multi-document, quoted scalars, kubeconfigs, cloud-config, Secret manifests)
        if (/^[[{]/.test(t)) {
            try {
                this.value(JSON.parse(t), path, [...via, "JSON"]);
            } catch {
                // not JSON
            }
            if (this.found.length > before) return;
        }
        if (/[:\-]\s/.test(t) && /\n|^[[{]|^-\s/.test(t)) {
            for (const doc of yamlDocuments(t)) this.value(doc, path, [...via, "YAML"]);
            if (this.found.length > before) return;
        }
        // Encoded runs inside free text
        for (const m of t.matchAll(HEX_RUN)) {
            if (this.found.length > before) return;
            this.bytes(Buffer.from(m[0], "hex"), path, [...via, "hex"]);
        }
        for (const m of t.matchAll(BASE64_RUN)) {
            if (this.found.length > before) return;
            const bytes = this.decodeBase64(m[0]);
            if (bytes) this.bytes(bytes, path, [...via, "base64"]);
        }
    }

    private decodeBase64(s: string): Buffer | undefined {
        const compact = s.replace(/\s+/g, "");
        if (!BASE64.test(compact) || compact.length > LIMITS.bytes * 2) return undefined;
        const bytes = Buffer.from(compact, /[-_]/.test(compact) ? "base64url" : "base64");
        return bytes.length ? bytes : undefined;
    }

    bytes(b: Buffer, path: string[], via: string[]): void {
        if (!this.spend(b.length)) return this.hit(path, [...via, "unscanned: over the scan budget"]);
        if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
            let out: Buffer;
            try {
                out = gunzipSync(b, { maxOutputLength: LIMITS.bytes });
            } catch (e) {
                if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") this.hit(path, [...via, `gzip, unscanned: over ${LIMITS.bytes} bytes`]);
                return;
            }
            return this.bytes(out, path, [...via, "gzip"]);
        }
        if (b.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) return this.hit(path, [...via, "OpenSSH private key"]);
        if (b[0] === 0x30) {
            const der = derPrivateKey(b);
            if (der) return this.hit(path, [...via, der]);
            return;
        }
        const text = b.toString("utf8");
        if (isText(text)) this.string(text, path, via);
    }
}

/** A key field's value: base64 (a kubeconfig's client-key-data, a Secret's data) or PEM (a Secret's stringData). */
function isKeyFieldValue(v: string): boolean {
    const compact = v.replace(/\s+/g, "");
    return (compact.length >= 16 && BASE64.test(compact)) || PEM_PRIVATE_KEY.test(v);
}

/** The DER encoding a private key has (PKCS#8, PKCS#1 RSA, SEC1 EC), or undefined. */
function derPrivateKey(b: Buffer): string | undefined {
    for (const { type, name } of DER_TYPES) {
        try {
            createPrivateKey({ key: b, format: "der", type });
            return name;
        } catch {
            // not this encoding
        }
    }
    return undefined;
}

/** A JWK carrying private key material: d (RSA, EC, OKP), or k (a symmetric "oct" key). */
function isPrivateJwk(o: Record<string, unknown>): boolean {
    if (typeof o.kty !== "string") return false;
    if (o.kty === "oct") return typeof o.k === "string" && o.k.length > 0;
    return typeof o.d === "string" && o.d.length > 0;
}

function isText(s: string): boolean {
    if (s.includes("\uFFFD")) return false;
    let control = 0;
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c < 9 || (c > 13 && c < 32)) control++;
    }
    return control === 0;
}

/** The documents of a YAML text, or [] when it is not YAML; plain scalars are not documents worth walking. */
function yamlDocuments(t: string): unknown[] {
    try {
        return parseAllDocuments(t)
            .filter((d) => d.errors.length === 0)
            .map((d) => d.toJS({ maxAliasCount: 100 }))
            .filter((v) => v && typeof v === "object");
    } catch {
        return [];
    }
}
