/** Step "ca-rotation": the stack, the files each CA owns in a tree, the kubeconfigs clients hold, small helpers. */
import { createHash, KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { CA_PHASES, CaPhase, CaRotationState, RotatableCa, ROTATABLE_CAS } from "../../components/rotation";

export const CLUSTER = "e2e-rot";
export const SERVICE_CIDR = "10.96.0.0/12";
export const CLUSTER_DOMAIN = "cluster.local";
/** The rotatable CAs and their phases: the component's own vocabulary (components/rotation.ts). */
export const ROTATED = ROTATABLE_CAS;
export type Rotated = RotatableCa;
export const PHASES = CA_PHASES;
export type Phase = CaPhase;
export type CaState = CaRotationState;

/** The CA (or SA key) files of each rotated CA in a control plane's tree. */
export const PAIRS: Record<Rotated, { bundle: string; key: string }> = {
    ca: { bundle: "etc/kubernetes/pki/ca.crt", key: "etc/kubernetes/pki/ca.key" },
    "etcd-ca": { bundle: "etc/kubernetes/pki/etcd/ca.crt", key: "etc/kubernetes/pki/etcd/ca.key" },
    "front-proxy-ca": { bundle: "etc/kubernetes/pki/front-proxy-ca.crt", key: "etc/kubernetes/pki/front-proxy-ca.key" },
    sa: { bundle: "etc/kubernetes/pki/sa.pub", key: "etc/kubernetes/pki/sa.key" },
};
/** Leaf cert/key pairs (path without .crt/.key, under etc/kubernetes/pki) signed by each CA. */
export const LEAF_FILES: Record<Rotated, string[]> = {
    ca: ["apiserver", "apiserver-kubelet-client"],
    "etcd-ca": ["apiserver-etcd-client", "etcd/server", "etcd/peer", "etcd/healthcheck-client"],
    "front-proxy-ca": ["front-proxy-client"],
    sa: [],
};
/** The kubeconfigs held by clients: where they are in a snapshot and who they must authenticate as. */
export const KUBECONFIGS: { name: string; file: string; user: string }[] = [
    { name: "admin.conf", file: "cp-1/etc/kubernetes/admin.conf", user: "kubernetes-admin" },
    { name: "super-admin.conf", file: "cp-1/etc/kubernetes/super-admin.conf", user: "kubernetes-super-admin" },
    { name: "controller-manager.conf", file: "cp-1/etc/kubernetes/controller-manager.conf", user: "system:kube-controller-manager" },
    { name: "scheduler.conf", file: "cp-1/etc/kubernetes/scheduler.conf", user: "system:kube-scheduler" },
    { name: "cp-1 kubelet.conf", file: "cp-1/etc/kubernetes/kubelet.conf", user: "system:node:cp-1" },
    { name: "worker-1 kubelet.conf", file: "worker-1/etc/kubernetes/kubelet.conf", user: "system:node:worker-1" },
    { name: "users/alice.conf", file: "users/alice.conf", user: "alice" },
];
export const SA_USER = "system:serviceaccount:default:rot";

export const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
export const pemBlocks = (text: string, label: string) => text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, "g")) ?? [];
export const spki = (k: KeyObject) => sha(k.export({ type: "spki", format: "der" }));
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One phase's outputs and node trees on disk (kept: clients of later phases still hold these files). */
export interface Snapshot {
    label: string;
    root: string;
    outputs: Record<string, any>;
}
export const at = (snap: Snapshot, rel: string) => path.join(snap.root, rel);
export const pki = (snap: Snapshot, rel: string) => path.join(snap.root, "cp-1/etc/kubernetes/pki", rel);
export const read = (file: string) => fs.readFileSync(file, "utf8");

