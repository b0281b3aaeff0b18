/**
 * Users section: extra client certificates (users[].name → CN, users[].group → O, users[].validity). kubeadm has
 * no such users; the rules are kube-pki's, because a name becomes an output key and a file name
 * (`users/<name>.conf`) and both name and group are read by RBAC:
 *  - printable: no control, format (zero-width, bidi) or other invisible characters, no line or paragraph
 *    separators, no space other than U+0020 and none at either end;
 *  - no path separators (`/`, `\`) and not `.` or `..`; at most 64 characters (X.509's upper bound for a CN);
 *  - no look-alike of a `system:` name (full-width or other compatibility forms, invisible characters, case,
 *    Cyrillic/Greek homoglyphs): RBAC matches bytes, a reviewer reads glyphs;
 *  - names not in `system:` (reserved for Kubernetes components); the `system:masters` group only with
 *    allowSystemMastersUsers.
 */
import type { ResolvedUser } from "../resolved";
import { defaultRenewBefore, parseDuration, Problems, shortValidityProblem } from "./problems";

export interface UsersInput {
    users?: unknown;
    allowSystemMastersUsers?: unknown;
}

/** Latin look-alikes that NFKC does not fold (Cyrillic, Greek, small capitals) for the letters of "system:". */
const HOMOGLYPHS: Record<string, string> = {
    "\u0455": "s", "\ua731": "s", "\u0443": "y", "\u04af": "y", "\u028f": "y", "\u03b3": "y", "\u0435": "e", "\u1d07": "e",
    "\u0442": "t", "\u1d1b": "t", "\u03c4": "t", "\u043c": "m", "\u1d0d": "m", "\u02d0": ":", "\u2236": ":", "\u05c3": ":", "\ua789": ":",
};

/** What a reader sees: compatibility forms folded, invisible characters dropped, lowercase, homoglyphs mapped. */
export function skeleton(value: string): string {
    return [...value.normalize("NFKC").replace(/\p{Cf}/gu, "").toLowerCase()].map((c) => HOMOGLYPHS[c] ?? c).join("");
}

/** Why a user name or group is not acceptable text, or undefined. */
export function principalTextProblem(value: string): string | undefined {
    if (value.trim() === "") return "is empty";
    const bad = [...value].find((c) => /[\p{C}\p{Zl}\p{Zp}]/u.test(c) || (/\p{Zs}/u.test(c) && c !== " "));
    if (bad) {
        const code = `U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
        return `contains the invisible or control character ${code} at position ${[...value].indexOf(bad)}; remove it (RBAC would see a different name than a reviewer does)`;
    }
    if (value !== value.trim()) return `${JSON.stringify(value)} starts or ends with a space; remove it`;
    if (/[/\\]/.test(value) || value === "." || value === "..") {
        return `${JSON.stringify(value)} contains a path separator or is a relative path; the name becomes a file and output key (users/<name>.conf): use letters, digits, '-', '.', '@', ':'`;
    }
    if ([...value].length > 64) return `is ${[...value].length} characters long; X.509 allows at most 64 in a CN/O`;
    return undefined;
}

export function validateUsers(a: UsersInput, leafValidityHours: number, leafRenewBeforeHours: number, caValidityHours: number, p: Problems): ResolvedUser[] {
    const seen = new Set<string>();
    const users = Array.isArray(a.users) ? (a.users as { name?: unknown; group?: unknown; validity?: unknown }[]) : [];
    return users.map((u, i) => {
        const field = `users[${i}]`;
        const name = typeof u?.name === "string" ? u.name : "";
        if (p.ok(`${field}.name`)) {
            const text = principalTextProblem(name);
            if (text) p.add(`${field}.name`, text === "is empty" ? `is empty (the user name, the certificate's CN, e.g. "alice")` : text);
            else if (name.startsWith("system:")) p.add(`${field}.name`, `"${name}" is in the reserved "system:" namespace (Kubernetes components); pick a plain user name, e.g. "alice"`);
            else if (skeleton(name).startsWith("system:")) p.add(`${field}.name`, `${JSON.stringify(name)} looks like a "system:" name; pick a plain user name, e.g. "alice"`);
            if (seen.has(name)) p.add(`${field}.name`, `duplicate user "${name}" (each user once; give one user one group)`);
            seen.add(name);
        }
        const group = typeof u?.group === "string" ? u.group : undefined;
        if (group !== undefined && p.ok(`${field}.group`)) {
            const text = principalTextProblem(group);
            if (text) p.add(`${field}.group`, text === "is empty" ? "is empty; omit it for no group" : text);
            else if (group === "system:masters" && a.allowSystemMastersUsers !== true) {
                p.add(`${field}.group`, `"system:masters" bypasses RBAC; set allowSystemMastersUsers: true to allow it, or bind a group with RBAC`);
            } else if (!group.startsWith("system:") && skeleton(group).startsWith("system:")) {
                p.add(`${field}.group`, `${JSON.stringify(group)} looks like a "system:" group but is not one; write the group exactly (e.g. "system:masters") or pick a plain name`);
            }
        }
        let validity = leafValidityHours;
        if (u?.validity !== undefined && p.ok(`${field}.validity`)) {
            const h = parseDuration(u.validity, '"720h" or "30d"');
            if (typeof h === "string") p.add(`${field}.validity`, h);
            else if (shortValidityProblem(h)) p.add(`${field}.validity`, shortValidityProblem(h)!);
            else if (h > caValidityHours) p.add(`${field}.validity`, `${h}h is longer than caValidity (${caValidityHours}h): a leaf cannot outlive its CA; shorten it`);
            else validity = h;
        }
        // A short-lived user cert renews in the last third of its life when leafRenewBefore would not fit.
        const renewBefore = defaultRenewBefore(validity, leafRenewBeforeHours);
        return { name, ...(group !== undefined ? { group } : {}), validityHours: validity, renewBeforeHours: renewBefore };
    });
}
