/** Vault's rules for durations, globs, DNS names and common names (builtin/logical/pki). */
import * as crypto from "node:crypto";
import { HandlerContext } from "../../tls-emulator";
import { EMULATED_VAULT_ADDR, EmulatedRole } from "./state";

// ------------------------------------------------------------------------------------------ helpers

export const q = (s: unknown) => JSON.stringify(s);

export const normPath = (p: string) => String(p ?? "").replace(/^\/+|\/+$/g, "");

export function apiError(prefix: string, method: string, path: string, code: number, errors: string[]): Error {
    return new Error(
        `${prefix}: Error making API request.\n\nURL: ${method} ${EMULATED_VAULT_ADDR}/v1/${path}\nCode: ${code}. Errors:\n\n` +
            errors.map((e) => `* ${e}`).join("\n"),
    );
}

export function noRoute(prefix: string, method: string, path: string): Error {
    return apiError(prefix, method, path, 404, [`no handler for route ${q(path)}. route entry not found.`]);
}

export function requireInput(ctx: HandlerContext, attr: string, tf: string): void {
    if (ctx.unknownInputs.has(attr)) return; // computed in a preview
    if (ctx.inputs[attr] === undefined || ctx.inputs[attr] === null || ctx.inputs[attr] === "") {
        throw new Error(
            `${ctx.type} resource '${ctx.name}' has a problem: Missing required argument: The argument "${tf}" is required, but no definition was found.. Examine values at '${ctx.name}.${attr}'.`,
        );
    }
}

export const uuid = () => crypto.randomUUID();

/** Vault durations: an integer is seconds, else Go-style units (s, m, h, d). */
export function parseVaultDuration(v: unknown): number {
    if (v === undefined || v === null || v === "") return 0;
    if (typeof v === "number") return Math.floor(v);
    const s = String(v).trim();
    if (/^\d+$/.test(s)) return Number(s);
    const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
        total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
        consumed += m[0].length;
    }
    if (consumed !== s.length) throw new Error(`time: invalid duration ${q(s)}`);
    return Math.floor(total);
}

/** Go's time.Duration.String() for whole seconds (e.g. "8760h0m0s", "30s"). */
export function goDuration(secondsTotal: number): string {
    if (secondsTotal === 0) return "0s";
    const h = Math.floor(secondsTotal / 3600);
    const m = Math.floor((secondsTotal % 3600) / 60);
    const s = secondsTotal % 60;
    if (h > 0) return `${h}h${m}m${s}s`;
    if (m > 0) return `${m}m${s}s`;
    return `${s}s`;
}

/** Go time.RFC3339Nano in UTC (fraction trimmed). */
export function rfc3339Nano(d: Date): string {
    return d.toISOString().replace(/\.(\d*?)0*Z$/, (_m, f: string) => (f ? `.${f}Z` : "Z"));
}

/** github.com/ryanuber/go-glob */
export function glob(pattern: string, subj: string): boolean {
    if (pattern === "") return subj === pattern;
    if (pattern === "*") return true;
    const parts = pattern.split("*");
    if (parts.length === 1) return subj === pattern;
    const leadingGlob = pattern.startsWith("*");
    const trailingGlob = pattern.endsWith("*");
    const end = parts.length - 1;
    for (let i = 0; i < end; i++) {
        const idx = subj.indexOf(parts[i]);
        if (i === 0 && !leadingGlob && idx !== 0) return false;
        if (idx < 0) return false;
        subj = subj.slice(idx + parts[i].length);
    }
    return trailingGlob || subj.endsWith(parts[end]);
}

// issue_common.go: labelPattern, leftWildLabelPattern, hostnamePattern, wildHostnameRegex
const LABEL = `([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]*[a-zA-Z0-9])`;

const LEFT_WILD = `(\\*|\\*${LABEL}|${LABEL}\\*|${LABEL}\\*${LABEL})`;

const HOSTNAME = `(${LABEL}\\.)*${LABEL}\\.?$`;

export const WILD_HOSTNAME_RE = new RegExp(`^(${LEFT_WILD}\\.)?${HOSTNAME}`);

/** idna ToASCII (StrictDomainName, VerifyDNSLength), ASCII subset: lowercases; rejects what is not LDH. */
export function toAscii(name: string): string | undefined {
    if (/[^\x00-\x7f]/.test(name)) return undefined; // the emulator does not do punycode
    const labels = name.replace(/\.$/, "").split(".");
    if (labels.some((l) => l.length === 0 || l.length > 63) || name.length > 253) return undefined;
    if (/[^A-Za-z0-9.\-*]/.test(name)) return undefined;
    return name.toLowerCase();
}

/** ValidateNames: the first name the role does not allow, or "". */
export function validateNames(role: EmulatedRole, names: string[]): string {
    for (const name of names) {
        let reducedName = name;
        let emailDomain = reducedName;
        let wildcardLabel = "";
        let isEmail = false;
        let isWildcard = false;
        if (reducedName.includes("@")) {
            const split = reducedName.split("@");
            if (split.length !== 2) return name;
            reducedName = split[1];
            emailDomain = split[1];
            isEmail = true;
        }
        if (reducedName.includes("*")) {
            isWildcard = true;
            if (!role.allowWildcardCertificates) return name;
            if ((reducedName.match(/\*/g) ?? []).length > 1) return name;
            const split = reducedName.split(/\.(.*)/s);
            if (split.length < 2) {
                wildcardLabel = split[0];
                reducedName = "";
            } else {
                wildcardLabel = split[0];
                reducedName = split[1];
                if (reducedName.includes("*")) return name;
            }
        }
        if (isEmail && isWildcard) return name;
        if (role.enforceHostnames && reducedName !== "") {
            let converted = toAscii(reducedName);
            if (converted === undefined) return name;
            if (isWildcard) converted = `${wildcardLabel}.${converted}`;
            if (!WILD_HOSTNAME_RE.test(converted)) return name;
        }
        if (role.allowAnyName) continue;
        if (role.allowLocalhost) {
            if (["localhost", "localdomain"].includes(reducedName) || (isEmail && ["localhost", "localdomain"].includes(emailDomain))) continue;
            if (role.allowSubdomains) {
                if (reducedName.endsWith(".localhost") || (isWildcard && reducedName === "localhost")) continue;
                if (reducedName.endsWith(".localdomain") || (isWildcard && reducedName === "localdomain")) continue;
            }
        }
        if (role.allowedDomains.length > 0) {
            let valid = false;
            for (const currDomain of role.allowedDomains) {
                if (currDomain === "") continue;
                if (role.allowBareDomains && (name.toLowerCase() === currDomain.toLowerCase() || (isEmail && emailDomain.toLowerCase() === currDomain.toLowerCase()))) {
                    valid = true;
                    break;
                }
                if (role.allowSubdomains && (reducedName.endsWith("." + currDomain) || (isWildcard && reducedName.toLowerCase() === currDomain.toLowerCase()))) {
                    valid = true;
                    break;
                }
                if (role.allowGlobDomains && currDomain.includes("*") && glob(currDomain.toLowerCase(), name.toLowerCase())) {
                    valid = true;
                    break;
                }
            }
            if (valid) continue;
        }
        return name;
    }
    return "";
}

/** ValidateCommonName */
export function validateCommonName(role: EmulatedRole, name: string): string {
    if (role.cnValidations.length === 1 && role.cnValidations[0] === "disabled") return "";
    if (validateNames(role, [name]) !== "") return name;
    if (role.cnValidations.length === 0) return "";
    if (name.includes("@")) return role.cnValidations.includes("email") ? "" : name;
    return role.cnValidations.includes("hostname") ? "" : name;
}
