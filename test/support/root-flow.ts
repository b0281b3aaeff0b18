/** Test helpers for the CSR handoff: a RootPki's outputs as plain values, a cluster's real CSRs from the tls emulator. */
import { IntermediateRequests, RootPki } from "../../components/internal";
import { valueOf } from "./resolve";

type Plain = Record<string, Record<string, { generation: number; certPem: string; keyPem?: string }[]>>;
type Requests = Record<string, { generation: number; csrPem: string }[]>;

export async function rootOutputs(root: RootPki) {
    const intermediates: Plain = {};
    for (const [cluster, cas] of Object.entries(root.intermediates)) {
        intermediates[cluster] = {};
        for (const [ca, list] of Object.entries(cas)) {
            intermediates[cluster][ca] = await Promise.all(
                list.map(async (i) => ({ generation: i.generation, certPem: await valueOf(i.certPem), ...(i.keyPem ? { keyPem: await valueOf(i.keyPem) } : {}) })),
            );
        }
    }
    return { rootCertificate: await valueOf(root.rootCertificate), intermediates, signingPolicy: root.signingPolicy };
}

/** A cluster's CSRs, as its stack publishes them (real keys and CSRs from the tls emulator). */
export async function clusterRequests(cluster: string, specs: { caId: string; generation: number; keyAlgorithm?: string; commonName?: string }[]) {
    const cn = { ca: "kubernetes", "etcd-ca": "etcd-ca", "front-proxy-ca": "front-proxy-ca" } as Record<string, string>;
    const req = new IntermediateRequests(`${cluster}-intermediates`, {
        clusterName: cluster,
        requests: specs.map((s) => ({ keyAlgorithm: "ECDSA-P256", commonName: `${cn[s.caId]}-${cluster}`, ...s })),
    });
    const csrs: Requests = {};
    for (const [ca, list] of Object.entries(req.csrs)) csrs[ca] = await Promise.all(list.map((o) => valueOf(o)));
    const keys: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.keys)) keys[k] = await valueOf(v);
    return { csrs, keys, component: req };
}

