"use strict";
// A JavaScript Pulumi program using kube-pki, installed with `npm install kube-pki` (see README.md).
// The e2e step consumer-js runs this file as it is.
const pulumi = require("@pulumi/pulumi");
const { ClusterPki, NodeFiles, cloudInit, memoryOf } = require("kube-pki");

module.exports = async () => {
    const config = new pulumi.Config();
    const pki = await ClusterPki.create("pki", {
        clusterName: config.get("clusterName") ?? "example",
        controlPlaneEndpoint: config.require("endpoint"),
        apiServerBindPort: config.requireNumber("bindPort"),
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [{ name: "worker-1", addresses: ["127.0.0.2"] }],
        caRotation: config.getObject("caRotation"), // e.g. {"ca": "stage"}, then promote, distrust
    });
    const sinks = Object.keys(pki.nodeFiles).map(
        (node) => new NodeFiles("files-" + node, { rootDir: config.require("nodesDir"), node, files: pki.nodeFiles[node] }),
    );
    return {
        kubePkiMemory: memoryOf(pki), // the component's memory: required for rotation
        nodeFiles: pki.nodeFiles,
        hashes: sinks.map((s) => s.hashes),
        workerUserData: cloudInit(pki.nodeFiles["worker-1"]), // secret
        adminKubeconfig: pki.kubeconfigs["admin.conf"], // secret
    };
};
