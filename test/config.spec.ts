import { strict as assert } from "node:assert";
import { ClusterPkiArgs, ConfigError, firstIp, parseHours, validateClusterPkiArgs } from "../components";

export const baseArgs = (): ClusterPkiArgs => ({
    clusterName: "test",
    controlPlaneEndpoint: "api.test.example:6443",
    controlPlanes: [
        { name: "cp-1", advertiseAddress: "10.0.0.11" },
        { name: "cp-2", advertiseAddress: "10.0.0.12" },
    ],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    users: [{ name: "alice", group: "dev-team" }],
});

function problemsOf(mutate: (a: any) => void): string[] {
    const args: any = baseArgs();
    mutate(args);
    try {
        validateClusterPkiArgs(args);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return (e as ConfigError).problems;
    }
    return [];
}

/** [case, mutation, field the error must name, words the message must contain] */
const BAD_INPUT: [string, (a: any) => void, string, RegExp][] = [
    ["malformed service CIDR", (a) => (a.serviceCidr = "10.96.0.0/33"), "serviceCidr", /not a CIDR/],
    ["service CIDR without prefix", (a) => (a.serviceCidr = "10.96.0.0"), "serviceCidr", /not a CIDR/],
    ["service CIDR too small", (a) => (a.serviceCidr = "10.96.0.0/30"), "serviceCidr", /too small/],
    ["service CIDR with host bits", (a) => (a.serviceCidr = "10.96.0.1/12"), "serviceCidr", /host bits.*10\.96\.0\.0\/12/],
    ["IPv6 service CIDR too large", (a) => (a.serviceCidr = "fd00::/64"), "serviceCidr", /too large.*\/108/],
    ["invalid advertise address", (a) => (a.controlPlanes[0].advertiseAddress = "10.0.0.300"), "controlPlanes[0].advertiseAddress", /not an IP/],
    ["unspecified advertise address", (a) => (a.controlPlanes[1].advertiseAddress = "0.0.0.0"), "controlPlanes[1].advertiseAddress", /unspecified/],
    ["invalid worker address", (a) => (a.workers[0].addresses = ["fe80::zz"]), "workers[0].addresses[0]", /not an IP/],
    ["duplicate node names", (a) => (a.workers[0].name = "cp-2"), "workers[0].name", /duplicate node name "cp-2"/],
    ["node name not DNS-1123", (a) => (a.controlPlanes[1].name = "CP_2"), "controlPlanes[1].name", /DNS-1123/],
    ["unknown key algorithm", (a) => (a.keyAlgorithm = "DSA-1024"), "keyAlgorithm", /RSA-2048.*ECDSA-P384/],
    ["unsupported RSA size", (a) => (a.caKeyAlgorithm = "RSA-1024"), "caKeyAlgorithm", /not a supported key algorithm/],
    ["unsupported curve", (a) => (a.etcdCaKeyAlgorithm = "ECDSA-P224"), "etcdCaKeyAlgorithm", /not a supported/],
    ["leaf validity longer than CA", (a) => ((a.caValidity = "8760h"), (a.leafValidity = "9000h")), "leafValidity", /longer than caValidity/],
    ["leaf renewBefore >= validity", (a) => ((a.leafValidity = "720h"), (a.leafRenewBefore = "720h")), "leafRenewBefore", /shorter than leafValidity/],
    ["CA renewBefore >= validity", (a) => (a.caRenewBefore = "100000h"), "caRenewBefore", /shorter than caValidity/],
    ["malformed duration", (a) => (a.leafValidity = "1 year"), "leafValidity", /not a duration/],
    ["no control planes", (a) => (a.controlPlanes = []), "controlPlanes", /at least one/],
    ["etcd member that is not a node", (a) => (a.etcdMembers = ["cp-1", "cp-9"]), "etcdMembers[1]", /not a node/],
    ["etcd member that is a worker", (a) => (a.etcdMembers = ["worker-1"]), "etcdMembers[0]", /worker/],
    ["etcd members with external etcd", (a) => ((a.etcdMembers = ["cp-1"]), (a.externalEtcd = true)), "etcdMembers", /externalEtcd/],
    ["user in system:masters without opt-in", (a) => (a.users[0].group = "system:masters"), "users[0].group", /allowSystemMastersUsers/],
    ["user in the system: namespace", (a) => (a.users[0].name = "system:admin"), "users[0].name", /reserved/],
    ["duplicate users", (a) => a.users.push({ name: "alice" }), "users[1].name", /duplicate user/],
    ["user validity longer than CA", (a) => (a.users[0].validity = "100000h"), "users[0].validity", /longer than caValidity/],
    ["endpoint with bad port", (a) => (a.controlPlaneEndpoint = "api.example:70000"), "controlPlaneEndpoint", /not a TCP port/],
    ["endpoint with a path", (a) => (a.controlPlaneEndpoint = "api.example:6443/foo"), "controlPlaneEndpoint", /host\[:port\]/],
    ["endpoint with a bad host", (a) => (a.controlPlaneEndpoint = "api_bad!.example"), "controlPlaneEndpoint", /host\[:port\]|neither/],
    ["bad apiserver extra SAN", (a) => (a.apiServerExtraSans = ["ok.example", "not a san"]), "apiServerExtraSans[1]", /neither an IP/],
    ["bad per-node extra SAN", (a) => (a.controlPlanes[0].extraSans = ["bad_san!"]), "controlPlanes[0].extraSans[0]", /neither an IP/],
    ["bad cluster name", (a) => (a.clusterName = "Prod Cluster"), "clusterName", /DNS-1123/],
    ["bad cluster domain", (a) => (a.clusterDomain = "-cluster.local"), "clusterDomain", /not a DNS domain/],
    ["unknown field (typo)", (a) => (a.workerz = []), "(args)", /unknown field.*"workerz"/],
    ["unknown node field", (a) => (a.controlPlanes[0].advertiseAdress = "10.0.0.1"), "controlPlanes[0]", /advertiseAdress/],
    ["missing control-plane endpoint", (a) => delete a.controlPlaneEndpoint, "controlPlaneEndpoint", /required/],
    ["wrong type", (a) => (a.kubeletServingCerts = "yes"), "kubeletServingCerts", /boolean/],
    ["kubelet serving without worker IPs", (a) => ((a.kubeletServingCerts = true), (a.workers[0].addresses = [])), "workers[0].addresses", /kubeletServingCerts/],
    ["bad bind port", (a) => (a.apiServerBindPort = 0), "apiServerBindPort", /not a TCP port/],
];

describe("config validation", () => {
    it("accepts the base args and applies kubeadm defaults", () => {
        const cfg = validateClusterPkiArgs(baseArgs());
        assert.equal(cfg.clusterDomain, "cluster.local");
        assert.equal(cfg.serviceCidr, "10.96.0.0/12");
        assert.equal(cfg.serviceIp, "10.96.0.1");
        assert.deepEqual(cfg.endpoint, { host: "api.test.example", port: 6443, hostIsIp: false, url: "https://api.test.example:6443" });
        assert.deepEqual(cfg.etcdMembers, ["cp-1", "cp-2"]);
        assert.deepEqual(cfg.keys, { leaf: "RSA-2048", ca: "RSA-2048", "etcd-ca": "RSA-2048", "front-proxy-ca": "RSA-2048", sa: "RSA-2048" });
        assert.deepEqual(cfg.validityHours, { ca: 87600, leaf: 8760 });
        assert.deepEqual(cfg.renewBeforeHours, { ca: 8760, leaf: 720 });
        assert.deepEqual(cfg.features, { stackedEtcd: true, frontProxy: true, superAdmin: true, kubeProxy: false, kubeletServing: false });
    });

    it("parses IPv6 endpoints and service CIDRs", () => {
        const cfg = validateClusterPkiArgs({ ...baseArgs(), controlPlaneEndpoint: "[fd00::10]:8443", serviceCidr: "fd00:10:96::/112" });
        assert.equal(cfg.endpoint.host, "fd00::10");
        assert.equal(cfg.endpoint.url, "https://[fd00::10]:8443");
        assert.equal(cfg.serviceIp, "fd00:10:96::1");
    });

    it("inherits key algorithms: CAs from caKeyAlgorithm, then keyAlgorithm", () => {
        const cfg = validateClusterPkiArgs({ ...baseArgs(), keyAlgorithm: "ECDSA-P256", caKeyAlgorithm: "RSA-4096" });
        assert.deepEqual(cfg.keys, { leaf: "ECDSA-P256", ca: "RSA-4096", "etcd-ca": "RSA-4096", "front-proxy-ca": "RSA-4096", sa: "ECDSA-P256" });
    });

    it("parses durations in hours and days", () => {
        assert.equal(parseHours("8760h"), 8760);
        assert.equal(parseHours("30d"), 720);
        assert.equal(parseHours(48), 48);
        assert.equal(parseHours("0h"), undefined);
        assert.equal(parseHours("1y"), undefined);
    });

    it("computes the first IP of a range", () => {
        assert.equal(firstIp("10.96.0.0/12"), "10.96.0.1");
        assert.equal(firstIp("10.0.0.0/24"), "10.0.0.1");
        assert.equal(firstIp("fd00::/108"), "fd00::1");
    });

    it("reports every problem at once", () => {
        const problems = problemsOf((a) => {
            a.serviceCidr = "bogus";
            a.keyAlgorithm = "RSA-1";
            a.controlPlanes[0].name = "UPPER";
        });
        assert.equal(problems.length, 3, problems.join("\n"));
    });

    describe(`rejects bad input with the field and the fix (${BAD_INPUT.length} cases)`, () => {
        for (const [name, mutate, field, message] of BAD_INPUT) {
            it(name, () => {
                const problems = problemsOf(mutate);
                assert.ok(problems.length > 0, "expected a validation error");
                const hit = problems.find((p) => p.startsWith(`${field}: `));
                assert.ok(hit, `no problem names ${field}:\n${problems.join("\n")}`);
                assert.match(hit!, message);
            });
        }
    });
});
