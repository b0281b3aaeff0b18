/**
 * The cluster side of the CSR handoff (docs/multi-stack.md): a cluster stack under a root stack generates the key of
 * every intermediate its root's signing policy lists and publishes only the CSRs (`intermediateRequests`); the keys
 * stay in this stack's state (secrets, encrypted with this stack's own secrets provider). `planIntermediates` decides,
 * before anything is registered, which generations the root has signed for the keys this stack holds.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { privateKeyArgs } from "./keys";
import type { ExternalCa } from "./resolved";
import { certAnswersCsr, IntermediateRequest, RootStackMaterial } from "./root-link";
import { parseCsr } from "./csr";

export interface IntermediateRequestSpec {
    caId: string;
    generation: number;
    /** The subject CN the root signs (its policy's commonName). */
    commonName: string;
    /** kubeadm key algorithm name. */
    keyAlgorithm: string;
}

export interface IntermediateRequestsArgs {
    /** The cluster's name (resource names start with it). */
    clusterName: string;
    requests: IntermediateRequestSpec[];
}

const genSuffix = (g: number) => (g === 0 ? "" : `-g${g}`);

/** A tls PrivateKey + CertRequest per requested intermediate; the keys never leave this stack. */
export class IntermediateRequests extends pulumi.ComponentResource {
    /** CA id → [{generation, csrPem}]: the stack output `intermediateRequests`, read by the root stack. */
    public readonly csrs: Record<string, pulumi.Output<{ generation: number; csrPem: string }>[]> = {};
    /** `<ca>/<generation>` → the intermediate's private key (secret). */
    public readonly keys: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: IntermediateRequestsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kube-pki:index:IntermediateRequests", name, {}, opts);
        for (const r of args.requests) {
            const base = `${args.clusterName}-${r.caId}${genSuffix(r.generation)}-intermediate`;
            const key = new tls.PrivateKey(`${base}-key`, privateKeyArgs(r.keyAlgorithm), { parent: this });
            // kubeadm puts a CA's CN in a DNS SAN; the root's policy allows exactly that one
            const dnsNames = /^[A-Za-z0-9.-]+$/.test(r.commonName) ? [r.commonName] : [];
            const csr = new tls.CertRequest(`${base}-csr`, { privateKeyPem: key.privateKeyPem, subject: { commonName: r.commonName }, dnsNames }, { parent: this });
            (this.csrs[r.caId] ??= []).push(csr.certRequestPem.apply((csrPem) => ({ generation: r.generation, csrPem })));
            this.keys[`${r.caId}/${r.generation}`] = pulumi.secret(key.privateKeyPem);
        }
        this.registerOutputs({ csrs: this.csrs });
    }
}

export interface IntermediatePlan {
    /** What to generate keys and CSRs for: every generation the root signs by CSR. */
    requests: IntermediateRequestSpec[];
    /** CA id → the generations usable now (a certificate for the key this stack holds, or one the root handed a key with). */
    externalCas: Record<string, ExternalCa[]>;
    /** `<ca>/<generation>` the root lists but has not signed for the current key yet. */
    unsigned: string[];
    problems: string[];
}

/**
 * Matches the root's certificates to this stack's keys. A certificate counts only when it answers the CSR this
 * stack published last run (same public key) and that CSR still fits the config (CN and key algorithm): a key the
 * run is about to replace is not signed yet. `keyOf` gives the key of a CSR generation (created after the plan).
 */
export function planIntermediates(
    rootStack: string,
    root: RootStackMaterial,
    keyAlgorithms: Record<string, string>,
    previousRequests: Record<string, IntermediateRequest[]> | undefined,
    keyOf: (caId: string, generation: number) => pulumi.Input<string>,
): IntermediatePlan {
    const plan: IntermediatePlan = { requests: [], externalCas: {}, unsigned: [], problems: [] };
    for (const [caId, policy] of Object.entries(root.policy.cas)) {
        const keyAlgorithm = keyAlgorithms[caId];
        if (policy.byCsr.length && !policy.keyAlgorithms.includes(keyAlgorithm)) {
            const field = { ca: "caKeyAlgorithm", "etcd-ca": "etcdCaKeyAlgorithm", "front-proxy-ca": "frontProxyCaKeyAlgorithm" }[caId] ?? "keyAlgorithm";
            plan.problems.push(`${field}: ${keyAlgorithm} for ${caId} is not accepted by root stack ${rootStack} (it signs ${policy.keyAlgorithms.join(", ")})`);
        }
        const list: ExternalCa[] = [];
        for (const generation of policy.generations) {
            const cert = (root.issued[caId] ?? []).find((i) => i.generation === generation);
            if (!policy.byCsr.includes(generation)) {
                // issued before the CSR handoff: certificate and key come from the root (until a rotation retires it)
                if (cert?.keyPem) list.push({ generation, certPem: cert.certPem, keyPem: pulumi.secret(cert.keyPem) });
                else plan.unsigned.push(`${caId}/${generation}`);
                continue;
            }
            plan.requests.push({ caId, generation, commonName: policy.commonName, keyAlgorithm });
            const published = (previousRequests?.[caId] ?? []).find((r) => r.generation === generation)?.csrPem;
            const current = published !== undefined && fits(published, policy.commonName, keyAlgorithm);
            if (cert && current && certAnswersCsr(cert.certPem, published!)) list.push({ generation, certPem: cert.certPem, keyPem: keyOf(caId, generation) });
            else plan.unsigned.push(`${caId}/${generation}`);
        }
        if (list.length) plan.externalCas[caId] = list;
    }
    return plan;
}

function fits(csrPem: string, commonName: string, keyAlgorithm: string): boolean {
    try {
        const csr = parseCsr(csrPem);
        return csr.commonName === commonName && csr.keyAlgorithm === keyAlgorithm;
    } catch {
        return false;
    }
}
