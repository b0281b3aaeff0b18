/**
 * Sinks section: `kube-pki:nodeFilesRoot`, `kube-pki:secretsSink` (read by components/sinks/wiring.ts), checked
 * against what the cluster has: its kubeconfig keys, leaf keys and CA ids. Field names are the stack config keys.
 */
import { LEAVES } from "../catalog";
import { SECRETS_SINK_SETTINGS } from "../settings";
import { Problems } from "./problems";

/** The fields of `kube-pki:secretsSink` (components/settings.ts; components/sinks/wiring.ts SecretsSinkConfig). */
export const SECRETS_SINK_FIELDS = Object.keys(SECRETS_SINK_SETTINGS);

/** What a cluster offers the sinks (ClusterPki's kubeconfigs, leaves and CAs, by key). */
export interface SinkTargets {
    kubeconfigs: string[];
    leaves: string[];
    cas: string[];
}

export interface SinksInput {
    nodeFilesRoot?: unknown;
    secretsSink?: unknown;
}

/** The CA of a leaf key (`<id>` or `<id>/<node|user>`), from the catalog. */
export function caOfLeafKey(key: string): string | undefined {
    const id = key.includes("/") ? key.slice(0, key.indexOf("/")) : key;
    return LEAVES.find((e) => e.id === id)?.ca;
}

export function validateSinks(cfg: SinksInput, targets: SinkTargets, p: Problems): void {
    const k = (s: string) => `kube-pki:${s}`;
    if (cfg.nodeFilesRoot !== undefined && (typeof cfg.nodeFilesRoot !== "string" || cfg.nodeFilesRoot.trim() === "")) {
        p.add(k("nodeFilesRoot"), "must be a directory path (e.g. ./out/nodes)");
    }
    const ss = cfg.secretsSink as Record<string, unknown> | undefined;
    if (ss === undefined) return;
    if (!ss || typeof ss !== "object" || Array.isArray(ss)) {
        p.add(k("secretsSink"), "must be an object (e.g. { certificates: [front-proxy-client/cp-1], clusterAdmins: true })");
        return;
    }
    for (const field of Object.keys(ss)) {
        if (!SECRETS_SINK_FIELDS.includes(field)) p.add(k(`secretsSink.${field}`), `unknown field (known: ${SECRETS_SINK_FIELDS.join(", ")})`);
    }
    const kc = (ss.kubeconfig as string | undefined) ?? "admin.conf";
    if (!targets.kubeconfigs.includes(kc)) {
        p.add(k("secretsSink.kubeconfig"), `${JSON.stringify(kc)} is not one of the kubeconfigs (${targets.kubeconfigs.join(", ")})`);
    }
    ((ss.certificates as string[] | undefined) ?? []).forEach((key, i) => {
        if (!targets.leaves.includes(key) || !caOfLeafKey(key)) {
            p.add(k(`secretsSink.certificates[${i}]`), `${JSON.stringify(key)} is not a certificate of this cluster (e.g. ${targets.leaves.slice(0, 4).join(", ")})`);
        }
    });
    ((ss.caKeys as string[] | undefined) ?? []).forEach((id, i) => {
        if (!targets.cas.includes(id)) p.add(k(`secretsSink.caKeys[${i}]`), `${JSON.stringify(id)} is not a CA of this cluster (${targets.cas.join(", ")})`);
    });
}
