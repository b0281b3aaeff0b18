/**
 * The kube-pki Pulumi program: reads the stack config, declares the cluster PKI and exports it.
 * Library users import `./components` instead (see README).
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, readClusterPkiArgs } from "./components";

const config = new pulumi.Config();
const args = readClusterPkiArgs(config);
const pki = new ClusterPki(args.clusterName ?? pulumi.getStack(), args);

export const clusterName = pki.config.clusterName;
export const caCertificates = pki.caCertificates;
export const trustBundles = pki.trustBundles;
export const serviceAccountPublicKey = pki.serviceAccountPublicKey;
/** Secret: every kubeconfig, e.g. kubeconfigs["admin.conf"], kubeconfigs["worker-1/kubelet.conf"]. */
export const kubeconfigs = pki.kubeconfigs;
/** Per node: relative path → {content, mode, secret}; key contents are secrets. */
export const nodeFiles = pki.nodeFiles;
export const inventory = pki.inventory;
