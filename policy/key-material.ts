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
    /** Path inside the value (object keys / array indexes) to the string that holds the key. */
    path: string[];
    /** Path inside the decoded document(s) of that string, when the key is in one (e.g. users.0.user.client-key-data). */
    inner: string[];
    /** The decodings that led to the key, outermost first, ending with the key's form (e.g. ["base64", "PEM"]). */
    via: string[];
}

/** A PEM armour line (five dashes, BEGIN, a label ending in PRIVATE KEY), built so that no key marker is in the source. */
const DASHES = "-{5}";
const PEM_PRIVATE_KEY = new RegExp(`${DASHES}BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY${DASHES}`);
const PEM_PRIVATE_KEY_BODY = new RegExp(`${DASHES}BEGIN [A-Z0-9 ]*PRIVATE KEY${DASHES}([\\s\\S]*?)${DASHES}END`);
/** Fields whose value is a private key by definition (kubeconfig, Secret types kubernetes.io/tls and ssh-auth). */
const KEY_FIELDS = new Set(["client-key-data", "tls.key", "ssh-privatekey"]);
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
/** Runs of base64 / hex inside free text (shell scripts, env files, logs): at least an Ed25519 PKCS#8 key's worth. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{64,}={0,2}/g;
const HEX_RUN = /(?:[0-9a-fA-F]{2}){48,}/g;
/** The binary form inside an OpenSSH private-key PEM (sshkey.c AUTH_MAGIC). */
const OPENSSH_MAGIC = Buffer.from("openssh-key-v1\0", "latin1");
const DER_TYPES = [
    { type: "pkcs8", name: "DER PKCS#8" },
    { type: "pkcs1", name: "DER PKCS#1" },
    { type: "sec1", name: "DER SEC1" },
] as const;

/** How to scan: subtrees to prune (secrets), values not known yet, and the stack's own keys to look for by value. */
export interface ScanOptions {
    skip?: (path: string[]) => boolean;
    isUnknown?: (v: unknown) => boolean;
    /** Keys the stack holds (e.g. tls PrivateKey PEMs): found by value too, even inside a blob no decoder opens. */
    knownKeys?: string[];
}

/** Every place under `value` that holds private key material. */
export function findKeyMaterial(value: unknown, options: ScanOptions = {}): KeyFinding[] {
    const scan = new Scan(options.skip ?? (() => false), options.isUnknown ?? (() => false), fingerprints(options.knownKeys ?? []));
    scan.value(value, { path: [], via: [] });
    return scan.found;
}

/** Where the scan is: the path so far, the decodings so far, and how long the path was at the first decoding. */
interface At {
    path: string[];
    via: string[];
    outer?: number;
}

const child = (at: At, key: string): At => ({ ...at, path: [...at.path, key] });
const decoded = (at: At, how: string): At => ({ path: at.path, via: [...at.via, how], outer: at.outer ?? at.path.length });

class Scan {
    found: KeyFinding[] = [];
    private budget = LIMITS.budget;
    constructor(
        private readonly skip: (path: string[]) => boolean,
        private readonly isUnknown: (v: unknown) => boolean,
        private readonly known: Fingerprints,
    ) {}

    private hit(at: At, form: string): void {
        const outer = at.outer ?? at.path.length;
        this.found.push({ path: at.path.slice(0, outer), inner: at.path.slice(outer), via: [...at.via, form] });
    }

    private spend(n: number): boolean {
        this.budget -= n;
        return this.budget >= 0;
    }

    value(v: unknown, at: At): void {
        if (at.outer === undefined && at.path.length && this.skip(at.path)) return;
        if (this.isUnknown(v)) return;
        if (typeof v === "string") return this.string(v, at);
        if (Array.isArray(v)) return v.forEach((e, i) => this.value(e, child(at, String(i))));
        if (!v || typeof v !== "object") return;
        const o = v as Record<string, unknown>;
        if (isPrivateJwk(o)) return this.hit(at, "JWK");
        // cloud-init write_files: content is base64 (or gzip, then base64) when its encoding says so
        const encoding = typeof o.content === "string" && typeof o.encoding === "string" ? o.encoding.toLowerCase() : "";
        const cloudInitB64 = /^((gz|gzip)\+)?(b64|base64)$/.test(encoding);
        for (const [k, e] of Object.entries(o)) {
            const here = child(at, k);
            if (here.outer === undefined && this.skip(here.path)) continue;
            if (k === "content" && cloudInitB64 && typeof e === "string") {
                const bytes = decodeBase64(e);
                if (bytes) this.bytes(bytes, decoded(here, `cloud-init ${encoding}`));
            } else if (KEY_FIELDS.has(k) && typeof e === "string" && isKeyFieldValue(e)) {
                this.hit(here, k);
            } else {
                this.value(e, here);
            }
        }
    }

    string(s: string, at: At): void {
        if (s.length > LIMITS.bytes || !this.spend(s.length)) return this.hit(at, `unscanned: over ${LIMITS.bytes} bytes or the scan budget`);
        if (PEM_PRIVATE_KEY.test(s)) return this.hit(at, "PEM");
        const t = s.trim();
        if (t.length < 16) return;
        const compact = t.replace(/\s+/g, "");
        const hex = compact.replace(/:/g, "");
        const provenance = this.known.find(compact, hex);
        if (provenance) return this.hit(at, provenance);
        const encoded = (HEX.test(hex) && hex.length >= 64) || (BASE64.test(compact) && compact.length >= 24);
        if (at.via.length >= LIMITS.depth) {
            if (encoded) this.hit(at, `unscanned: more than ${LIMITS.depth} nested encodings`);
            return;
        }
        const before = this.found.length;
        const more = () => this.found.length === before;
        // the whole value encoded
        if (HEX.test(hex) && hex.length >= 64) this.bytes(Buffer.from(hex, "hex"), decoded(at, "hex"));
        if (more() && BASE64.test(compact) && compact.length >= 24) {
            const bytes = decodeBase64(compact);
            if (bytes) this.bytes(bytes, decoded(at, "base64"));
        }
        // a document: JSON, or YAML (multi-document, quoted scalars: kubeconfigs, cloud-config, Secret manifests)
        if (more() && /^[[{]/.test(t)) {
            try {
                this.value(JSON.parse(t), decoded(at, "JSON"));
            } catch {
                // not JSON
            }
        }
        if (more() && /[:-]\s/.test(t) && /\n|^[[{]|^-\s/.test(t)) for (const doc of yamlDocuments(t)) this.value(doc, decoded(at, "YAML"));
        // encoded runs inside free text (scripts, env files)
        for (const m of t.matchAll(HEX_RUN)) if (more()) this.bytes(Buffer.from(m[0], "hex"), decoded(at, "hex"));
        for (const m of t.matchAll(BASE64_RUN)) {
            const bytes = more() ? decodeBase64(m[0]) : undefined;
            if (bytes) this.bytes(bytes, decoded(at, "base64"));
        }
    }

    bytes(b: Buffer, at: At): void {
        if (!this.spend(b.length)) return this.hit(at, "unscanned: over the scan budget");
        if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
            let out: Buffer;
            try {
                out = gunzipSync(b, { maxOutputLength: LIMITS.bytes });
            } catch (e) {
                if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") this.hit(decoded(at, "gzip"), `unscanned: over ${LIMITS.bytes} bytes`);
                return;
            }
            return this.bytes(out, decoded(at, "gzip"));
        }
        if (b.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) return this.hit(at, "OpenSSH private key");
        if (b[0] === 0x30) {
            const der = derPrivateKey(b);
            if (der) this.hit(at, der);
            return;
        }
        const text = b.toString("utf8");
        if (isText(text)) this.string(text, at);
    }
}

function decodeBase64(s: string): Buffer | undefined {
    const compact = s.replace(/\s+/g, "");
    if (!BASE64.test(compact) || compact.length > LIMITS.bytes * 2) return undefined;
    const bytes = Buffer.from(compact, /[-_]/.test(compact) ? "base64url" : "base64");
    return bytes.length ? bytes : undefined;
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

/** The stack's own keys as the strings they turn into: base64 of their DER (a PEM's body) and hex of it. */
interface Fingerprints {
    find(compact: string, hex: string): string | undefined;
}

/**
 * Keys are indexed by a window taken at a fixed offset of their encoded form (past the algorithm prefix that many
 * keys share), so one pass over a string finds any of thousands of keys: a window hit is then compared in full.
 */
function fingerprints(pems: string[]): Fingerprints {
    const b64 = new Map<string, string>();
    const hexes = new Map<string, string>();
    const AT = 48;
    const WINDOW = 24;
    // a key's window needs this much of its encoding around it: cheaper to test for than to scan for
    const BASE64_SPAN = new RegExp(`[A-Za-z0-9+/]{${AT + WINDOW}}`);
    const HEX_SPAN = new RegExp(`[0-9a-fA-F]{${2 * (AT + WINDOW)}}`);
    for (const pem of pems) {
        const m = PEM_PRIVATE_KEY_BODY.exec(pem);
        const body = m?.[1].replace(/\s+/g, "");
        // an encrypted PEM (Proc-Type headers) or a short body says nothing by value
        if (!body || body.length < AT * 2 || !BASE64.test(body)) continue;
        const hex = Buffer.from(body, "base64").toString("hex");
        b64.set(body.slice(AT, AT + WINDOW), body);
        hexes.set(hex.slice(AT * 2, AT * 2 + WINDOW * 2), hex);
    }
    const scan = (text: string, index: Map<string, string>, at: number, window: number): boolean => {
        for (let i = at; i + window <= text.length; i++) {
            const full = index.get(text.slice(i, i + window));
            if (full && text.startsWith(full, i - at)) return true;
        }
        return false;
    };
    return {
        find(compact, hex) {
            if (!b64.size || compact.length < AT * 2) return undefined;
            if (BASE64_SPAN.test(compact) && scan(compact, b64, AT, WINDOW)) return "the base64 body of a key in the stack";
            if (HEX_SPAN.test(hex) && scan(hex.toLowerCase(), hexes, AT * 2, WINDOW * 2)) return "the hex DER of a key in the stack";
            return undefined;
        },
    };
}
