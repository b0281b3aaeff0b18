/** Keys section: keyAlgorithm and the per-CA / SA overrides, kubeadm `encryptionAlgorithm` names. */
import { DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS, KeyAlgorithm } from "../catalog";
import { Problems } from "./problems";

export interface KeysInput {
    keyAlgorithm?: unknown;
    caKeyAlgorithm?: unknown;
    etcdCaKeyAlgorithm?: unknown;
    frontProxyCaKeyAlgorithm?: unknown;
    serviceAccountKeyAlgorithm?: unknown;
}

export interface KeysSection {
    leaf: KeyAlgorithm;
    ca: KeyAlgorithm;
    "etcd-ca": KeyAlgorithm;
    "front-proxy-ca": KeyAlgorithm;
    sa: KeyAlgorithm;
}

/** Why `value` is not a kubeadm encryptionAlgorithm name kube-pki supports, or undefined. */
export function keyAlgorithmProblem(value: unknown): string | undefined {
    if ((KEY_ALGORITHMS as readonly unknown[]).includes(value)) return undefined;
    const hint = value === "ECDSA" ? ' (name the curve: "ECDSA-P256" or "ECDSA-P384")' : value === "RSA" ? ' (name the size: "RSA-2048", "RSA-3072" or "RSA-4096")' : "";
    return `"${value}" is not a supported key algorithm (one of ${KEY_ALGORITHMS.join(", ")})${hint}`;
}

export function validateKeys(a: KeysInput, p: Problems): KeysSection {
    const alg = (field: keyof KeysInput, inherited: KeyAlgorithm): KeyAlgorithm => {
        const value = a[field];
        if (value === undefined || !p.ok(field)) return inherited;
        const problem = keyAlgorithmProblem(value);
        if (problem) {
            p.add(field, problem);
            return inherited;
        }
        return value as KeyAlgorithm;
    };
    const leaf = alg("keyAlgorithm", DEFAULT_KEY_ALGORITHM);
    const ca = alg("caKeyAlgorithm", leaf);
    return {
        leaf,
        ca,
        "etcd-ca": alg("etcdCaKeyAlgorithm", ca),
        "front-proxy-ca": alg("frontProxyCaKeyAlgorithm", ca),
        sa: alg("serviceAccountKeyAlgorithm", leaf),
    };
}
