/**
 * Worker pools section (`workerPools`): machines that join with a bootstrap token and get their kubelet client
 * certificate through the CSR API (kubeadm's TLS bootstrap). Names are DNS-1123 labels (they name the pool's file
 * tree next to the nodes' trees, its cloud-init document and its token group `system:bootstrappers:kube-pki:<name>`,
 * which must match the bootstrap token group rule `system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]`); a pool's
 * token lives at most as long as the cluster CA (the kubeconfig it is in trusts that CA only).
 */
import type { ResolvedWorkerPool } from "../resolved";
import { isDns1123Label, Problems } from "./problems";

export type { ResolvedWorkerPool } from "../resolved";
import { hoursField, validityField } from "./validity";

/** kubeadm's default bootstrap token TTL (kubeadm `bootstrapTokens[].ttl`: 24h). */
export const DEFAULT_POOL_TOKEN_TTL_HOURS = 24;

export interface WorkerPoolsInput {
    workerPools?: unknown;
}

type RawPool = { name?: unknown; tokenTtl?: unknown; tokenRenewBefore?: unknown; serverTLSBootstrap?: unknown; labels?: unknown };

const LABEL_KEY = /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/**
 * Validates `workerPools` against the nodes (a pool's files are written under its name, next to the nodes') and the
 * cluster CA's validity. Fields are named `workerPools[i].<field>`.
 */
export function validateWorkerPools(a: WorkerPoolsInput, nodeNames: Set<string>, caValidityHours: number, p: Problems): ResolvedWorkerPool[] {
    if (!p.ok("workerPools") || !Array.isArray(a.workerPools)) return [];
    const seen = new Map<string, string>();
    const pools: ResolvedWorkerPool[] = [];
    (a.workerPools as RawPool[]).forEach((raw, i) => {
        const at = `workerPools[${i}]`;
        if (!p.ok(at) || !raw || typeof raw !== "object") return;
        let name = typeof raw.name === "string" ? raw.name : "";
        if (p.ok(`${at}.name`) && typeof raw.name === "string") {
            if (!isDns1123Label(name) || name.length > 40) {
                p.add(
                    `${at}.name`,
                    `"${name}" is not a pool name: a DNS-1123 label of at most 40 characters (lowercase letters, digits and '-', ` +
                        `e.g. "general"); it names the pool's file tree and its token group system:bootstrappers:kube-pki:<name>`,
                );
                name = "";
            } else if (nodeNames.has(name)) {
                p.add(`${at}.name`, `"${name}" is also a node's name: the pool's files would be written into that node's tree; rename the pool (e.g. "${name}-pool")`);
            } else if (seen.has(name)) {
                p.add(`${at}.name`, `duplicate pool name "${name}" (already used by ${seen.get(name)}); every pool needs its own name`);
            } else {
                seen.set(name, at);
            }
        }
        const example = '"24h" or "7d"';
        const ttl = validityField(raw.tokenTtl, `${at}.tokenTtl`, DEFAULT_POOL_TOKEN_TTL_HOURS, p, example);
        const renewBefore = hoursField(raw.tokenRenewBefore, `${at}.tokenRenewBefore`, Math.max(1, Math.floor(ttl / 3)), p, example);
        if (ttl > caValidityHours) {
            p.add(
                `${at}.tokenTtl`,
                `${ttl}h is longer than caValidity (${caValidityHours}h): the token's bootstrap-kubelet.conf trusts the cluster CA only, ` +
                    `so the token cannot outlive it; shorten tokenTtl (kubeadm's default is 24h)`,
            );
        }
        if (renewBefore >= ttl) {
            p.add(`${at}.tokenRenewBefore`, `${renewBefore}h must be shorter than tokenTtl (${ttl}h), e.g. a third of it`);
        }
        const labels: Record<string, string> = {};
        if (raw.labels !== undefined && p.ok(`${at}.labels`)) {
            for (const [k, v] of Object.entries(raw.labels as Record<string, string>)) {
                if (!LABEL_KEY.test(k)) p.add(`${at}.labels["${k}"]`, `not a label key ("prefix/name", name ≤ 63 alphanumerics, '-', '_', '.')`);
                else if (!LABEL_VALUE.test(v)) p.add(`${at}.labels["${k}"]`, `"${v}" is not a label value (≤ 63 alphanumerics, '-', '_', '.')`);
                else if (/(^|\.)kubernetes\.io\/|(^|\.)k8s\.io\//.test(k) && !k.startsWith("node-role.kubernetes.io/") && !k.startsWith("node.kubernetes.io/")) {
                    p.add(`${at}.labels["${k}"]`, `the NodeRestriction admission refuses a kubelet that sets kubernetes.io / k8s.io labels other than node-role / node.kubernetes.io ones; use your own prefix`);
                } else labels[k] = v;
            }
        }
        pools.push({
            name,
            tokenTtlHours: ttl,
            tokenRenewBeforeHours: renewBefore,
            serverTLSBootstrap: raw.serverTLSBootstrap === undefined ? true : raw.serverTLSBootstrap === true,
            labels,
            group: `system:bootstrappers:kube-pki:${name}`,
        });
    });
    return pools.filter((pool) => pool.name !== "");
}
