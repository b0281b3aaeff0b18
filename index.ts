/**
 * The kube-pki Pulumi program: reads the stack config, declares the cluster PKI and exports it.
 * Library users import `./components` instead (see README).
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, readClusterPkiArgs, readPreviousRun } from "./components";

export = async () => {
    const config = new pulumi.Config();
    const args = readClusterPkiArgs(config);
    // "What rotates on date D": KUBE_PKI_NOW overrides the clock for this run (e.g. a preview).
    if (process.env.KUBE_PKI_NOW) args.now = process.env.KUBE_PKI_NOW;
    // The stack's own previous outputs: CA rotation phases (to refuse illegal changes) and rotation tokens.
    args.previous = await readPreviousRun();
    const pki = new ClusterPki(args.clusterName ?? pulumi.getStack(), args);

    return {
        clusterName: pki.config.clusterName,
        caCertificates: pki.caCertificates,
        trustBundles: pki.trustBundles,
        serviceAccountPublicKey: pki.serviceAccountPublicKey,
        /** Secret: every kubeconfig, e.g. kubeconfigs["admin.conf"], kubeconfigs["worker-1/kubelet.conf"]. */
        kubeconfigs: pki.kubeconfigs,
        /** Per node: relative path → {content, mode, secret}; key contents are secrets. */
        nodeFiles: pki.nodeFiles,
        inventory: pki.inventory,
        rotationState: pki.rotationState,
        rotationTokens: pki.rotationTokens,
        nextRotation: pki.nextRotation,
    };
};
