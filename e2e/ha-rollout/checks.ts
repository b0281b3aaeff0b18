/**
 * Step `rollout`: what the step reads back from the machines and the cluster between phases — the files kube-pki
 * delivered, the whole text of a failed operation, a pool machine's signer and Lease — and its phase timing record.
 */
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { waitFor } from "../procs";
import { fingerprint } from "../tree";
import { CpMachine } from "./machines";

export interface PhaseTiming {
    phase: string;
    previewS: number;
    upS: number;
    /** first supervisor stop → last start of the up (the rolling part) */
    rollS: number;
    restarts: number;
    result: string;
}

export const secs = (ms: number) => (ms / 1000).toFixed(1);

/** What kube-pki delivered to a machine (its etc/kubernetes; not the manifests the machine's provisioning owns). */
export function delivered(m: CpMachine): Map<string, string> {
    const all = fingerprint(path.join(m.tree, "etc/kubernetes"));
    return new Map([...all].filter(([rel]) => !/^(manifests|kube-pki-held)(\/|$)/.test(rel)));
}

/** The whole message of a failed operation (the engine's log holds the provider's error). */
export function failureText(e: unknown): string {
    const message = (e as Error).message ?? String(e);
    const log = /\(log: (\S+)\)/.exec(message)?.[1];
    return log && fs.existsSync(log) ? fs.readFileSync(log, "utf8") : message;
}

/** The certificate in `leafFile` is signed by the (single) CA certificate in `caFile`. */
export function signedBy(caFile: string, leafFile: string): boolean {
    const ca = new X509Certificate(fs.readFileSync(caFile));
    const leaf = new X509Certificate(fs.readFileSync(leafFile));
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

type Kubectl = (args: string[]) => Promise<{ code: number | null; stdout: string; output: string }>;

/** Waits (up to 45 s: a kubelet renews every 10 s) for a node's Lease in kube-node-lease to be renewed after `t`. */
export async function leaseRenewedSince(kubectl: Kubectl, node: string, t: number, signal: AbortSignal): Promise<string> {
    let last = "";
    const ok = await waitFor(
        `${node}: Lease renewed`,
        async () => {
            const r = await kubectl(["get", "lease", "-n", "kube-node-lease", node, "-o", "jsonpath={.spec.renewTime}"]);
            last = r.code === 0 ? r.stdout.trim() : r.output.slice(0, 300);
            return (r.code === 0 && Date.parse(last) > t - 1000) || last;
        },
        { timeoutMs: 45_000, intervalMs: 2000, signal },
    ).then(
        () => true,
        () => false,
    );
    return ok ? `renewed ${last}` : `not renewed since ${new Date(t).toISOString()}: last ${last}`;
}
