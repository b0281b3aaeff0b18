/**
 * Step "ha": the 3-control-plane shape of the dev stack, booted. Stack e2e-ha has cp-1..cp-3 with advertise
 * addresses 127.0.0.1..3 (all loopback) and one worker. Every member's etcd listens on its own address with the same
 * ports, so the peers and clients can only connect if each member's etcd server/peer cert carries its own address;
 * each kube-apiserver binds its own address and uses its local etcd member (as kubeadm's stacked etcd does).
 *  - a 3-member etcd cluster forms over peer mTLS and every member is healthy with its healthcheck-client;
 *  - every apiserver is ready, and each control plane's kubelet.conf (server: its own apiserver, kubeadm ≥ 1.33)
 *    authenticates as system:node:<cp> through that apiserver's serving cert;
 *  - a write through each apiserver is read back through another (replication through the etcd cluster).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ControlPlane } from "./cluster";
import { freePort } from "./procs";
import { CLUSTER_DOMAIN, Ctx, SERVICE_CIDR, upStack, writeScenarioTrees } from "./steps";

export async function stepHa(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const [apiPort, etcdClient, etcdPeer] = [await freePort(), await freePort(), await freePort()];
    const controlPlanes = [1, 2, 3].map((i) => ({ name: `cp-${i}`, advertiseAddress: `127.0.0.${i}` }));
    const config = {
        clusterName: "e2e-ha",
        controlPlaneEndpoint: `127.0.0.1:${apiPort}`,
        apiServerBindPort: apiPort,
        controlPlanes,
        workers: [{ name: "worker-1", addresses: ["127.0.0.9"] }],
    };
    s.info(`stack e2e-ha: cp-1..cp-3 on 127.0.0.1..3 (apiserver :${apiPort}, etcd :${etcdClient}/:${etcdPeer} on each), worker-1`);
    const { outputs } = await upStack(ctx, "e2e-ha", config, signal);
    const treeRoot = writeScenarioTrees(ctx, "e2e-ha", outputs.nodeFiles);
    const initialCluster = controlPlanes.map((c) => `${c.name}=https://${c.advertiseAddress}:${etcdPeer}`).join(",");
    const members = controlPlanes.map(
        (c) =>
            new ControlPlane({
                label: `ha-${c.name}`,
                nodeDir: path.join(treeRoot, c.name),
                workDir: ctx.work,
                env: ctx.env,
                nodeName: c.name,
                ports: { apiserver: apiPort, etcdClient, etcdPeer },
                serviceCidr: SERVICE_CIDR,
                clusterDomain: CLUSTER_DOMAIN,
                advertiseAddress: c.advertiseAddress,
                host: c.advertiseAddress,
                etcdInitialCluster: initialCluster,
                signal,
            }),
    );
    const superAdmin = path.join(members[0].kubeconfigDir, "super-admin.conf"); // kubeadm writes it on cp-1 only
    try {
        for (const m of members) await m.startEtcd(60_000, false); // no quorum until two members run
        for (const m of members) await m.waitEtcdHealthy();
        s.check("3-member etcd cluster formed over peer mTLS; each member healthy at https://127.0.0.<n> with its healthcheck-client", true);
        const list = await members[0].etcdctl("apiserver-etcd-client", ["member", "list", "-w", "json"]);
        const listed = list.code === 0 ? (JSON.parse(list.stdout).members ?? []).map((m: any) => `${m.name}=${(m.peerURLs ?? []).join("")}`).sort() : [];
        s.equal("etcd member list (with apiserver-etcd-client): cp-1..cp-3 at their own peer URLs", listed.join(","), initialCluster);

        for (const m of members) await m.startApiserver(120_000, superAdmin);
        s.check(`three kube-apiservers ready on 127.0.0.1..3:${apiPort}, each on its local etcd member`, true);
        for (const [i, m] of members.entries()) {
            const who = await m.whoami(path.join(m.kubeconfigDir, "kubelet.conf"));
            s.check(
                `${controlPlanes[i].name} kubelet.conf → its own apiserver ${m.apiserverUrl} (serving cert SAN ${controlPlanes[i].advertiseAddress}) → system:node:${controlPlanes[i].name}`,
                who.username === `system:node:${controlPlanes[i].name}` && (who.groups ?? []).includes("system:nodes"),
                who.error ?? `${who.username} [${(who.groups ?? []).join(", ")}]`,
            );
        }
        // control: the certs are per node, so the checks above depend on them (a member's certs do not cover another's address)
        for (const [i, m] of members.entries()) {
            // (not 127.0.0.1: kubeadm puts it in every etcd cert, and here it is also the endpoint in every apiserver cert)
            const own = controlPlanes[i].advertiseAddress;
            const other = own === "127.0.0.2" ? "127.0.0.3" : "127.0.0.2";
            const certs = ["apiserver.crt", "etcd/server.crt", "etcd/peer.crt"].map((f) => new crypto.X509Certificate(fs.readFileSync(m.pkiFile(f))));
            s.check(
                `${controlPlanes[i].name}: apiserver, etcd server and peer certs name ${own} and not ${other}`,
                certs.every((c) => c.checkIP(own) === own && c.checkIP(other) === undefined),
                certs.map((c) => c.subjectAltName).join(" | "),
            );
        }
        for (const [i, m] of members.entries()) {
            const w = await m.kubectl(superAdmin, [`--server=${m.apiserverUrl}`, "create", "configmap", `ha-${i + 1}`, "-n", "default", `--from-literal=via=${m.apiserverUrl}`]);
            s.check(`write ConfigMap ha-${i + 1} through ${m.apiserverUrl}`, w.code === 0, w.output);
        }
        for (const [i, m] of members.entries()) {
            const r = await m.kubectl(superAdmin, [`--server=${m.apiserverUrl}`, "get", "configmaps", "-n", "default", "-o", "name"]);
            const names = r.stdout.split("\n").filter((n) => n.startsWith("configmap/ha-")).sort();
            s.equal(`read back through cp-${i + 1}'s apiserver: all three ConfigMaps`, names.join(","), "configmap/ha-1,configmap/ha-2,configmap/ha-3");
        }
    } finally {
        for (const m of [...members].reverse()) await m.stop();
    }
}
