/**
 * Resolves a catalog entry into a concrete identity (subject and SANs) for one node or user.
 * The SAN sets follow kubeadm's GetAPIServerAltNames / GetEtcdAltNames (certs/pkiutil).
 */
import { LeafEntry, SanSet } from "./catalog";
import type { ResolvedConfig, ResolvedNode, ResolvedUser } from "./resolved";

export interface Identity {
    commonName: string;
    organization?: string;
    dnsNames: string[];
    ipAddresses: string[];
}

/** Keeps the first occurrence of each value (kubeadm RemoveDuplicateAltNames). */
function unique(values: string[]): string[] {
    return [...new Set(values)];
}

function fill(template: string, node?: ResolvedNode, user?: ResolvedUser): string {
    return template
        .replace("{node}", node?.name ?? "")
        .replace("{user}", user?.name ?? "")
        .replace("{group}", user?.group ?? "");
}

const SAN_SETS: Record<SanSet, (cfg: ResolvedConfig, node: ResolvedNode) => { dns: string[]; ips: string[] }> = {
    apiserver: (cfg, node) => ({
        dns: [
            node.name,
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            `kubernetes.default.svc.${cfg.clusterDomain}`,
            ...(cfg.endpoint.hostIsIp ? [] : [cfg.endpoint.host]),
            ...cfg.apiServerExtraSans.dns,
            ...node.extraSans.dns,
        ],
        ips: [
            cfg.serviceIp,
            ...node.addresses,
            ...(cfg.endpoint.hostIsIp ? [cfg.endpoint.host] : []),
            ...cfg.apiServerExtraSans.ips,
            ...node.extraSans.ips,
        ],
    }),
    etcd: (_cfg, node) => ({ dns: [node.name, "localhost"], ips: [...node.addresses, "127.0.0.1", "::1"] }),
    "kubelet-serving": (_cfg, node) => ({ dns: [node.name], ips: node.addresses }),
};

export function identityOf(entry: LeafEntry, cfg: ResolvedConfig, node?: ResolvedNode, user?: ResolvedUser): Identity {
    const sans = entry.sans && node ? SAN_SETS[entry.sans](cfg, node) : { dns: [], ips: [] };
    const organization = entry.organization ? fill(entry.organization, node, user) : undefined;
    return {
        commonName: fill(entry.commonName, node, user),
        organization: organization || undefined,
        dnsNames: unique(sans.dns),
        ipAddresses: unique(sans.ips),
    };
}
