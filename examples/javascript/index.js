"use strict";
// Someone else's Pulumi program (JavaScript), with kube-pki installed from its npm tarball.
const pulumi = require("@pulumi/pulumi");
const { ClusterPki, NodeFiles, cloudInit, memoryOf } = require("kube-pki");

module.exports = async () => {
    const config = new pulumi.Config();
    const pki = await ClusterPki.create("consumer", {
        clusterName: "consumer-js",
        controlPlaneEndpoint: config.require("endpoint"),
        apiServerBindPort: config.requireNumber("bindPort"),
        controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
        workers: [{ name: "worker-1", addresses: ["127.0.0.2"] }],
        caRotation: config.getObject("caRotation"),
    });
    const sinks = Object.keys(pki.nodeFiles).map(
        (node) => new NodeFiles("consumer-" + node, { rootDir: config.require("nodesDir"), node, files: pki.nodeFiles[node] }),
    );
    return {
        kubePkiMemory: memoryOf(pki),
        nodeFiles: pki.nodeFiles,
        hashes: sinks.map((s) => s.hashes),
        workerUserData: cloudInit(pki.nodeFiles["worker-1"]),
        adminKubeconfig: pki.kubeconfigs["admin.conf"],
    };
};
