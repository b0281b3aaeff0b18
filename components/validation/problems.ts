/**
 * The vocabulary every validation section shares: the ConfigError, a problem collector that knows which fields
 * the schema already refused, durations, and kubeadm's name and address rules (k8s.io/apimachinery
 * pkg/util/validation, k8s.io/utils/net as kubeadm 1.34 calls them). No other kube-pki module is imported here,
 * so any module may import it (vault.ts, root-pki.ts, the sinks) without an import cycle.
 */
import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";

/**
 * Thrown by `validateClusterPkiArgs`: lists every problem as `field: what is wrong (fix)`. A `RunError`, so that
 * Pulumi prints the message alone, without a JavaScript stack (and without the seconds-long, gigabyte-hungry
 * source-mapped inspection it does for other uncaught errors).
 */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly context: string,
        readonly problems: string[],
    ) {
        super(`kube-pki: invalid ${context}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
        // Pulumi's run script also passes every uncaught error, RunErrors included, through util.inspect for its
        // trace span; formatting a V8 stack through the source maps then took 40-100 s and GBs of memory on Node 20.
        // The message names the field and the fix: a stack adds nothing for the user, so there is none to format.
        this.stack = this.message;
    }
}

/** `a.b[2].c` from a zod issue path. */
export function fieldPath(path: readonly PropertyKey[]): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/**
 * Problems of one validation pass. The schema's refusals are recorded with `refuse(path)`; a semantic check asks
 * `ok(path)` first and is skipped when the schema refused that field, one of its parents or one of its children —
 * so one run reports a missing name and a bad IP together, and never a follow-on error of a refused field.
 */
export class Problems {
    readonly list: string[] = [];
    private readonly refused: string[] = [];

    add(field: string, message: string): void {
        this.list.push(`${field}: ${message}`);
    }

    refuse(path: string): void {
        this.refused.push(path);
    }

    ok(path: string): boolean {
        const within = (inner: string, outer: string) =>
            inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
        return !this.refused.some((r) => within(r, path) || within(path, r));
    }
}

/** The shortest validity: renewal needs a window 0 < renewBefore < validity in whole hours, so at least 2h. */
export const MIN_VALIDITY_HOURS = 2;
/** The longest duration kube-pki accepts anywhere: 100 years (876000h). Longer is a typo, and dates stay exact. */
export const MAX_DURATION_HOURS = 876_000;

/** A value as a message quotes it: long values are cut (a 400-digit typo must not fill the screen). */
export function quoted(value: unknown): string {
    const text = typeof value === "string" ? value : String(value);
    return text.length > 40 ? `"${text.slice(0, 24)}…" (${text.length} characters)` : `"${text}"`;
}

/**
 * Parses "8760h", "365d" or a number of hours into whole hours, between 1h and MAX_DURATION_HOURS; otherwise
 * the problem, as `"<value>" <what is wrong> (<fix>)`. `example` gives two typical values of the field.
 */
export function parseDuration(value: unknown, example = '"8760h" or "365d"'): number | string {
    let n: number;
    if (typeof value === "number") n = value;
    else {
        const m = typeof value === "string" ? /^\s*(\d+)\s*(h|d)\s*$/.exec(value) : null;
        n = m ? Number(m[1]) * (m[2] === "d" ? 24 : 1) : NaN;
    }
    if (!Number.isInteger(n) || n <= 0) {
        if (n === Infinity || (Number.isFinite(n) && n > MAX_DURATION_HOURS)) return tooLong(value);
        return `${quoted(value)} is not a duration (whole hours or days, e.g. ${example})`;
    }
    if (n > MAX_DURATION_HOURS) return tooLong(value);
    return n;
}

function tooLong(value: unknown): string {
    return `${quoted(value)} is longer than 100 years (${MAX_DURATION_HOURS}h), the longest duration kube-pki accepts (e.g. "87600h" for ten years)`;
}

/** parseDuration's hours, or undefined when the value is not a duration kube-pki accepts. */
export function parseHours(value: string | number): number | undefined {
    const h = parseDuration(value);
    return typeof h === "number" ? h : undefined;
}

/** Why a validity of `hours` leaves no room for renewal (shorter than MIN_VALIDITY_HOURS), or undefined. */
export function shortValidityProblem(hours: number): string | undefined {
    return hours < MIN_VALIDITY_HOURS
        ? `${hours}h is too short: renewal needs at least 1h before expiry and at least 1h of use, so the shortest validity is ${MIN_VALIDITY_HOURS}h`
        : undefined;
}

/** The default renew-before of a validity: `preferred`, at most a third of the validity, and at least 1h. */
export function defaultRenewBefore(validityHours: number, preferred: number): number {
    return Math.max(1, Math.min(preferred, Math.floor(validityHours / 3)));
}

// ------------------------------------------------------------------------------------------ names (apimachinery)

const DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const WILDCARD_DNS1123_SUBDOMAIN = new RegExp(`^\\*\\.${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);

/** apimachinery IsDNS1123Label: one lowercase RFC 1123 label, at most 63 characters. */
export function isDns1123Label(value: string): boolean {
    return value.length <= 63 && new RegExp(`^${DNS1123_LABEL}$`).test(value);
}

/** apimachinery IsDNS1123Subdomain: lowercase RFC 1123 labels joined by dots, at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
    return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

/** apimachinery IsWildcardDNS1123Subdomain: `*.` followed by a DNS-1123 subdomain, at most 253 characters. */
export function isWildcardDns1123Subdomain(value: string): boolean {
    return value.length <= 253 && WILDCARD_DNS1123_SUBDOMAIN.test(value);
}

// ------------------------------------------------------------------------------------------ addresses

/** An IP in strict text form (Node's parser: no IPv4 leading zeros, no zone); kubeadm's ParseIPSloppy is laxer. */
export function isIp(value: string): boolean {
    return net.isIP(value) !== 0 && !value.includes("%");
}

/**
 * Why an IPv6 address with a zone id ("fe80::2%eth0") is refused, or undefined when `value` has none. A zone
 * names an interface of one host: it has no place in a certificate SAN, a CSR or a kubeconfig URL.
 */
export function zoneIdProblem(value: string): string | undefined {
    const i = value.indexOf("%");
    if (i < 0 || net.isIP(value) !== 6) return undefined;
    return (
        `"${value}" has an IPv6 zone id ("${value.slice(i)}"); write the address without it, "${value.slice(0, i)}" ` +
        `(a zone names an interface of one host: certificates, CSRs and kubeconfig URLs cannot carry it)`
    );
}

/** Go's ParseIPSloppy accepts IPv4 octets with leading zeros ("010.0.0.1" = 10.0.0.1); Node and ipaddr.js do not. */
export function sloppyIpv4(value: string): string | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
    if (!m || isIp(value)) return undefined;
    const octets = m.slice(1).map(Number);
    return octets.every((o) => o <= 255) ? octets.join(".") : undefined;
}

/** Canonical text form of an IP (IPv6 compressed). */
export function canonicalIp(ip: string): string {
    return ipaddr.parse(ip).toString();
}

/** The first usable IP of a CIDR (kubeadm GetAPIServerVirtualIP: GetIndexedIP(network, 1)). */
export function firstIp(cidr: string): string {
    const [network] = ipaddr.parseCIDR(cidr);
    const bytes = network.toByteArray();
    for (let i = bytes.length - 1; i >= 0; i--) {
        bytes[i] = (bytes[i] + 1) & 0xff;
        if (bytes[i] !== 0) break;
    }
    return ipaddr.fromByteArray(bytes).toString();
}

/**
 * Why an IP cannot be a node's or the endpoint's address, or undefined when it can (a unicast address in
 * canonical form). Loopback and link-local stay allowed: single-host and lab clusters use them. `why` says what
 * the address is used for, appended where kubeadm itself would accept the address.
 */
export function unicastProblem(ip: string, why = ""): string | undefined {
    const stricter = why ? ` (kube-pki is stricter than kubeadm here: ${why})` : "";
    const zone = zoneIdProblem(ip);
    if (zone) return zone;
    const sloppy = sloppyIpv4(ip);
    if (sloppy) {
        return `"${ip}" has leading zeros; write "${sloppy}" (kubeadm reads it as ${sloppy}, but other tools read a leading 0 as octal: kube-pki is stricter here)`;
    }
    if (!isIp(ip)) return `"${ip}" is not an IP address (e.g. "10.0.0.11" or "fd00::11")`;
    const addr = ipaddr.parse(ip);
    const range = addr.range();
    if (range === "unspecified") return `"${ip}" is the unspecified address (it means "any"); give a real unicast IP${stricter}`;
    if (range === "multicast") return `"${ip}" is a multicast address; give a unicast IP${stricter}`;
    if (range === "broadcast") return `"${ip}" is the broadcast address; give a unicast IP${stricter}`;
    if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
        const v4 = (addr as ipaddr.IPv6).toIPv4Address().toString();
        return `"${ip}" is an IPv4-mapped IPv6 address; write "${v4}" (Go and kubeadm read it as IPv4 ${v4} while certificates and kubeconfigs would carry the IPv6 form: kube-pki is stricter here)`;
    }
    return undefined;
}
