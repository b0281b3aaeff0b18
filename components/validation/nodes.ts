/**
 * Nodes section: controlPlanes, workers, etcdMembers, externalEtcd, kubeletServingCerts. kubeadm 1.34:
 * ValidateNodeName (lowercase DNS-1123 subdomain), ValidateAPIEndpoint (advertiseAddress is an IP). kube-pki is
 * stricter where a pre-provisioned tree would be wrong: an address must be unicast (a multicast, broadcast or
 * unspecified advertise address ends up in kubelet.conf and the apiserver/etcd SANs), and no two nodes share an
 * address (two apiservers or etcd members cannot listen on one IP).
 */
import type { ResolvedNode } from "../resolved";
import { canonicalIp, isDns1123Subdomain, Problems, unicastProblem } from "./problems";
import { validateSans } from "./network";

export interface NodesInput {
    controlPlanes?: unknown;
    workers?: unknown;
    etcdMembers?: unknown;
    externalEtcd?: unknown;
    kubeletServingCerts?: unknown;
}

export interface NodesSection {
    controlPlanes: ResolvedNode[];
    workers: ResolvedNode[];
    etcdMembers: string[];
    externalEtcd: boolean;
    kubeletServing: boolean;
}

type RawNode = { name?: unknown; advertiseAddress?: unknown; addresses?: unknown; extraSans?: unknown };

export function validateNodes(a: NodesInput, p: Problems): NodesSection {
    const names = new Map<string, string>();
    const addressOwners = new Map<string, string>();
    const checkName = (name: unknown, field: string): string => {
        if (!p.ok(field) || typeof name !== "string") return "";
        if (!isDns1123Subdomain(name)) {
            const lower = name.toLowerCase();
            p.add(
                field,
                isDns1123Subdomain(lower)
                    ? `"${name}" has uppercase letters; write "${lower}" (kube-pki is stricter than kubeadm here: kubeadm lowercases the name ` +
                          `silently and the node registers as "${lower}", while etcdMembers, rotate selectors and output keys would say "${name}")`
                    : `"${name}" is not a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', e.g. "cp-1"`,
            );
        }
        const prior = names.get(name);
        if (prior) p.add(field, `duplicate node name "${name}" (already used by ${prior}); every node needs its own name`);
        else names.set(name, field);
        return name;
    };
    const checkAddress = (ip: unknown, field: string): string | undefined => {
        if (!p.ok(field) || typeof ip !== "string") return undefined;
        const problem = unicastProblem(ip, "node addresses go into certificate SANs and kubeconfigs, and a node cannot listen on such an address");
        if (problem) {
            p.add(field, problem);
            return undefined;
        }
        const canonical = canonicalIp(ip);
        const prior = addressOwners.get(canonical);
        if (prior) {
            p.add(field, `${canonical} is already the address of ${prior}; two nodes cannot share an IP (give each node its own)`);
            return undefined;
        }
        addressOwners.set(canonical, field);
        return canonical;
    };
    // A refused element is skipped by the per-field checks below, not the whole list.
    const list = (value: unknown): RawNode[] => (Array.isArray(value) ? value : []);

    const rawCps = list(a.controlPlanes);
    if (p.ok("controlPlanes") && rawCps.length === 0) {
        p.add("controlPlanes", `needs at least one control-plane node, e.g. [{name: "cp-1", advertiseAddress: "10.0.0.11"}]`);
    }
    const controlPlanes: ResolvedNode[] = rawCps.map((cp, i) => {
        const name = checkName(cp?.name, `controlPlanes[${i}].name`);
        const ip = checkAddress(cp?.advertiseAddress, `controlPlanes[${i}].advertiseAddress`);
        return {
            name,
            role: "control-plane" as const,
            addresses: ip ? [ip] : [],
            extraSans: validateSans(cp?.extraSans, `controlPlanes[${i}].extraSans`, p),
        };
    });

    const kubeletServing = a.kubeletServingCerts === true;
    const workers: ResolvedNode[] = list(a.workers).map((w, i) => {
        const name = checkName(w?.name, `workers[${i}].name`);
        const raw = Array.isArray(w?.addresses) ? (w.addresses as unknown[]) : [];
        const addresses = raw
            .map((ip, j) => checkAddress(ip, `workers[${i}].addresses[${j}]`))
            .filter((ip): ip is string => ip !== undefined);
        if (kubeletServing && p.ok(`workers[${i}].addresses`) && raw.length === 0) {
            p.add(`workers[${i}].addresses`, `needs at least one IP when kubeletServingCerts is on (the serving certificate's SANs), e.g. ["10.0.1.21"]`);
        }
        return { name, role: "worker" as const, addresses, extraSans: { dns: [], ips: [] } };
    });

    const externalEtcd = a.externalEtcd === true;
    let etcdMembers: string[] = controlPlanes.map((n) => n.name);
    if (externalEtcd) {
        if (Array.isArray(a.etcdMembers) && a.etcdMembers.length > 0) {
            p.add("etcdMembers", "stacked etcd members are set while externalEtcd is true; remove one of the two");
        }
        etcdMembers = [];
    } else if (a.etcdMembers !== undefined && p.ok("etcdMembers") && Array.isArray(a.etcdMembers)) {
        const cpNames = new Set(controlPlanes.map((n) => n.name));
        const members = new Set<string>();
        (a.etcdMembers as string[]).forEach((m, i) => {
            if (!cpNames.has(m)) {
                const kind = workers.some((w) => w.name === m) ? "a worker; stacked etcd runs on control planes" : "not a node";
                p.add(`etcdMembers[${i}]`, `"${m}" is ${kind} (use a controlPlanes[].name)`);
            }
            if (members.has(m)) p.add(`etcdMembers[${i}]`, `duplicate etcd member "${m}" (list each member once)`);
            members.add(m);
        });
        if (a.etcdMembers.length === 0) p.add("etcdMembers", "is empty; omit it (every control plane) or set externalEtcd: true");
        etcdMembers = [...members];
    }
    return { controlPlanes, workers, etcdMembers, externalEtcd, kubeletServing };
}
