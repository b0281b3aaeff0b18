/**
 * Network section: clusterName, clusterDomain, serviceCidr, controlPlaneEndpoint, apiServerBindPort,
 * apiServerExtraSans. Rules are kubeadm 1.34's (app/apis/kubeadm/validation ValidateNetworking,
 * ValidateIPNetFromString, ValidateServiceSubnetSize, ValidateCertSANs, ValidateHostPort; app/util/endpoint
 * GetControlPlaneEndpoint; app/util ParseHostPort) unless a message says kube-pki is stricter, and why.
 */
import * as ipaddr from "ipaddr.js";
import { serverUrl } from "../kubeconfig";
import type { Endpoint, NetworkSection } from "../resolved";

export type { Endpoint, NetworkSection } from "../resolved";
import {
    canonicalIp,
    firstIp,
    isDns1123Subdomain,
    isIp,
    isWildcardDns1123Subdomain,
    Problems,
    sloppyIpv4,
    unicastProblem,
    zoneIdProblem,
} from "./problems";

/** kubeadm constants.MinimumAddressesInServiceSubnet. */
export const MINIMUM_ADDRESSES_IN_SERVICE_SUBNET = 10;
/** kubeadm constants.MaximumBitsForServiceSubnet (kube-apiserver's limit too: the allocator bitmap lives in etcd). */
export const MAXIMUM_BITS_FOR_SERVICE_SUBNET = 20;
export const DEFAULT_SERVICE_SUBNET = "10.96.0.0/12";
export const DEFAULT_BIND_PORT = 6443;

export interface NetworkInput {
    clusterName?: unknown;
    clusterDomain?: unknown;
    serviceCidr?: unknown;
    controlPlaneEndpoint?: unknown;
    apiServerBindPort?: unknown;
    apiServerExtraSans?: unknown;
}

/** Go net.SplitHostPort: host and port of "host:port" / "[v6]:port", or undefined when it is not of that form. */
export function splitHostPort(hostport: string): { host: string; port: string } | undefined {
    let host: string;
    let rest: string;
    if (hostport.startsWith("[")) {
        const end = hostport.indexOf("]");
        if (end < 0 || hostport[end + 1] !== ":") return undefined; // missing ']' or missing port
        host = hostport.slice(1, end);
        rest = hostport.slice(end + 2);
        if (host.includes("[")) return undefined;
    } else {
        const i = hostport.lastIndexOf(":");
        if (i < 0) return undefined; // missing port
        host = hostport.slice(0, i);
        rest = hostport.slice(i + 1);
        if (host.includes(":") || host.includes("[") || host.includes("]")) return undefined; // too many colons
    }
    if (rest.includes("[") || rest.includes("]")) return undefined;
    return { host, port: rest };
}

/** kubeadm ParsePort: strconv.Atoi, 1-65535. */
function parsePort(text: string): number | undefined {
    if (!/^[+-]?\d+$/.test(text)) return undefined;
    const n = Number(text);
    return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * kubeadm ParseHostPort + GetControlPlaneEndpoint: "host", "host:port", "ipv4:port", "[ipv6]:port", or a bare
 * IPv6 address (SplitHostPort fails, so the whole string is the host); no port → the apiserver bind port.
 * Returns the endpoint or a problem message.
 */
export function parseControlPlaneEndpoint(raw: string, bindPort: number): Endpoint | string {
    const example = `(the form is "host[:port]", e.g. "k8s.example.com:6443", "10.0.0.10", "[fd00::10]:6443" or "fd00::10")`;
    if (raw === "") return `is empty: give the address clients reach the apiservers at ${example}`;
    const split = splitHostPort(raw);
    const host = split ? split.host : raw;
    const portText = split?.port ?? "";
    let port = bindPort;
    if (portText !== "") {
        const p = parsePort(portText);
        if (p === undefined) return `"${raw}": port "${portText}" is not a TCP port (a number between 1 and 65535) ${example}`;
        port = p;
    }
    if (isIp(host) || sloppyIpv4(host) || zoneIdProblem(host)) {
        const problem = unicastProblem(host, "the apiserver certificate would carry it as an IP SAN and every kubeconfig would dial it");
        if (problem) return problem;
        const canonical = canonicalIp(host);
        return { host: canonical, port, hostIsIp: true, url: serverUrl(canonical, port) };
    }
    if (isDns1123Subdomain(host)) return { host, port, hostIsIp: false, url: serverUrl(host, port) };
    if (/^\[.*\]$/.test(raw)) {
        return `"${raw}": brackets need a port, as kubeadm reads it: "${raw}:${bindPort}", or the bare address "${raw.slice(1, -1)}"`;
    }
    return `"${raw}": host "${host}" must be an IP address or a lowercase DNS-1123 subdomain ${example}`;
}

/**
 * kubeadm ValidateIPNetFromString(serviceSubnet, MinimumAddressesInServiceSubnet) + ValidateServiceSubnetSize:
 * one CIDR, or two of different families (dual-stack); each with at least 10 addresses and at most 20 host bits
 * (IPv4 /12 … /28, IPv6 /108 … /124). Returns the CIDRs or pushes problems.
 */
export function validateServiceSubnet(value: string, p: Problems, field = "serviceCidr"): string[] | undefined {
    const parts = value.split(",");
    const example = `(e.g. "10.96.0.0/12", "fd00:10:96::/108", or dual-stack "10.96.0.0/12,fd00:10:96::/108")`;
    const parsed: { text: string; addr: ipaddr.IPv4 | ipaddr.IPv6; prefix: number }[] = [];
    for (const part of parts) {
        const m = /^([^/]+)\/(\d{1,3})$/.exec(part);
        if (!m || !ipaddr.isValidCIDR(part) || !isIp(m[1])) {
            p.add(field, `"${part}" is not a CIDR ${example}`);
            return undefined;
        }
        const [addr, prefix] = ipaddr.parseCIDR(part);
        parsed.push({ text: part, addr, prefix });
    }
    if (parsed.length > 2 || (parsed.length === 2 && parsed[0].addr.kind() === parsed[1].addr.kind())) {
        p.add(field, `"${value}": expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking ${example}`);
        return undefined;
    }
    let ok = true;
    for (const { text, addr, prefix } of parsed) {
        const bits = addr.kind() === "ipv4" ? 32 : 128;
        const hostBits = bits - prefix;
        // netutils.RangeSize: /31, /32, /127, /128 count as 0 addresses.
        const size = hostBits <= 1 ? 0 : 2 ** hostBits;
        const network = (addr.kind() === "ipv4" ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(text).toString();
        if (network !== addr.toString()) {
            p.add(field, `"${text}" has host bits set; write "${network}/${prefix}" (kubeadm silently uses ${network}/${prefix}; kube-pki is stricter so that the SAN IP ${firstIp(`${network}/${prefix}`)} is what you wrote)`);
            ok = false;
        }
        if (size < MINIMUM_ADDRESSES_IN_SERVICE_SUBNET) {
            p.add(field, `"${text}" is too small: ${size} address(es), kubeadm needs at least ${MINIMUM_ADDRESSES_IN_SERVICE_SUBNET} (a prefix of /${bits - 4} or shorter)`);
            ok = false;
        } else if (hostBits > MAXIMUM_BITS_FOR_SERVICE_SUBNET) {
            p.add(field, `"${text}" is too large: for ${bits}-bit addresses the mask must be >= ${bits - MAXIMUM_BITS_FOR_SERVICE_SUBNET} (kubeadm and kube-apiserver refuse it; e.g. /${bits - MAXIMUM_BITS_FOR_SERVICE_SUBNET})`);
            ok = false;
        }
    }
    return ok ? parsed.map((c) => c.text) : undefined;
}

/** kubeadm ValidateCertSANs: each a DNS-1123 subdomain, a wildcard `*.` subdomain, or an IP. */
export function validateSans(list: unknown, field: string, p: Problems): { dns: string[]; ips: string[] } {
    const out = { dns: [] as string[], ips: [] as string[] };
    if (!Array.isArray(list)) return out;
    list.forEach((san: unknown, i) => {
        if (typeof san !== "string" || !p.ok(`${field}[${i}]`)) return;
        if (isIp(san)) out.ips.push(canonicalIp(san));
        else if (sloppyIpv4(san) || zoneIdProblem(san)) p.add(`${field}[${i}]`, unicastProblem(san)!);
        else if (isDns1123Subdomain(san) || isWildcardDns1123Subdomain(san)) out.dns.push(san);
        else if (isDns1123Subdomain(san.toLowerCase()) || isWildcardDns1123Subdomain(san.toLowerCase())) {
            p.add(
                `${field}[${i}]`,
                `"${san}" has uppercase letters; write "${san.toLowerCase()}" (kube-pki is stricter than kubeadm here: kubeadm lowercases ` +
                    `certSANs silently, so the certificate would not carry the name as written)`,
            );
        } else {
            p.add(
                `${field}[${i}]`,
                `"${san}" is neither an IP address nor a DNS name (lowercase DNS-1123 subdomain, optionally "*." wildcard, e.g. "api.example.com")`,
            );
        }
    });
    return out;
}

export function validateNetwork(a: NetworkInput, p: Problems): NetworkSection {
    const clusterName = typeof a.clusterName === "string" ? a.clusterName : "";
    if (p.ok("clusterName") && !isDns1123Subdomain(clusterName)) {
        p.add(
            "clusterName",
            `"${clusterName}" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'; e.g. "prod-eu1"); ` +
                `kube-pki is stricter than kubeadm here: the name becomes kubeconfig cluster and context names, resource names and Vault role names`,
        );
    }
    const clusterDomain = typeof a.clusterDomain === "string" ? a.clusterDomain : "cluster.local";
    if (p.ok("clusterDomain") && !isDns1123Subdomain(clusterDomain)) {
        p.add("clusterDomain", `"${clusterDomain}" is not a DNS domain (lowercase DNS-1123 subdomain, e.g. "cluster.local")`);
    }

    const serviceCidr = typeof a.serviceCidr === "string" ? a.serviceCidr : DEFAULT_SERVICE_SUBNET;
    let serviceCidrs: string[] = [];
    let serviceIp = "";
    if (p.ok("serviceCidr")) {
        serviceCidrs = validateServiceSubnet(serviceCidr, p) ?? [];
        if (serviceCidrs.length > 0) serviceIp = firstIp(serviceCidrs[0]);
    }

    const apiServerBindPort = typeof a.apiServerBindPort === "number" ? a.apiServerBindPort : DEFAULT_BIND_PORT;
    if (p.ok("apiServerBindPort") && (!Number.isInteger(apiServerBindPort) || apiServerBindPort < 1 || apiServerBindPort > 65535)) {
        p.add("apiServerBindPort", `${apiServerBindPort} is not a TCP port (1-65535; kubeadm's default is 6443)`);
    }

    let endpoint: Endpoint = { host: "", port: apiServerBindPort, hostIsIp: false, url: "" };
    if (p.ok("controlPlaneEndpoint") && typeof a.controlPlaneEndpoint === "string") {
        const parsed = parseControlPlaneEndpoint(a.controlPlaneEndpoint, apiServerBindPort);
        if (typeof parsed === "string") p.add("controlPlaneEndpoint", parsed);
        else endpoint = parsed;
    }
    const apiServerExtraSans = validateSans(a.apiServerExtraSans, "apiServerExtraSans", p);
    return { clusterName, clusterDomain, serviceCidr, serviceCidrs, serviceIp, endpoint, apiServerBindPort, apiServerExtraSans };
}
