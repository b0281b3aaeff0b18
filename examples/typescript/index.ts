// A TypeScript Pulumi program using kube-pki, installed with `npm install kube-pki` (see README.md).
// The e2e step consumer-path runs this file as it is.
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, NodeFiles, cloudInit, memoryOf } from "kube-pki";

export = async () => {
    const config = new pulumi.Config();
    const pki = await ClusterPki.create("pki", {
        clusterName: config.get("clusterName") ?? "example",
        controlPlaneEndpoint: config.require("endpoint"),
        apiServerBindPort: config.requireNumber("bindPort"),
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [{ name: "worker-1", addresses: ["127.0.0.2"] }],
        caRotation: { ca: config.get("caPhase") ?? "none" }, // `pulumi config set caPhase stage`, then promote, distrust
    });
    for (const node of Object.keys(pki.nodeFiles)) {
        new NodeFiles(`files-${node}`, { rootDir: config.require("nodesDir"), node, files: pki.nodeFiles[node] });
    }
    return {
        kubePkiMemory: memoryOf(pki), // the component's memory: required for rotation
        nodeFiles: pki.nodeFiles,
        workerUserData: cloudInit(pki.nodeFiles["worker-1"]), // secret
        kubeconfigs: pki.kubeconfigs, // secret
    };
};
