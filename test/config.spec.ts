import { strict as assert } from "node:assert";
import { ClusterPkiArgs, ConfigError, firstIp, parseHours, validateClusterPkiArgs } from "../components/internal";
import { problemsOf as problemsOfArgs } from "./support/problems";
import { findKubeadm, KubeadmNetworkInput, kubeadmConfig, kubeadmValidate } from "./support/kubeadm";

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

const problemsOf = (mutate: (a: any) => void): string[] => problemsOfArgs(baseArgs, mutate);

/** [case, mutation, field the error must name, words the message must contain] */
const BAD_INPUT: [string, (a: any) => void, string, RegExp][] = [
    ["malformed service CIDR", (a) => (a.serviceCidr = "10.96.0.0/33"), "serviceCidr", /not a CIDR/],
    ["missing worker name", (a) => delete a.workers[0].name, "workers[0].name", /^workers\[0\]\.name: is required \(the node's name, e.g. "worker-1"\)$/],
    ["missing control-plane name", (a) => delete a.controlPlanes[1].name, "controlPlanes[1].name", /is required \(the node's name, e.g. "cp-1"\)/],
    ["missing advertise address", (a) => delete a.controlPlanes[0].advertiseAddress, "controlPlanes[0].advertiseAddress", /is required \(the IP its apiserver and etcd listen on/],
    ["service CIDR without prefix", (a) => (a.serviceCidr = "10.96.0.0"), "serviceCidr", /not a CIDR/],
    ["service CIDR too small", (a) => (a.serviceCidr = "10.96.0.0/30"), "serviceCidr", /too small: 4 address\(es\), kubeadm needs at least 10/],
    ["service CIDR with host bits", (a) => (a.serviceCidr = "10.96.0.1/12"), "serviceCidr", /host bits.*10\.96\.0\.0\/12.*stricter/],
    ["IPv6 service CIDR too large", (a) => (a.serviceCidr = "fd00::/64"), "serviceCidr", /too large.*>= 108/],
    ["invalid advertise address", (a) => (a.controlPlanes[0].advertiseAddress = "10.0.0.300"), "controlPlanes[0].advertiseAddress", /not an IP/],
    ["unspecified advertise address", (a) => (a.controlPlanes[1].advertiseAddress = "0.0.0.0"), "controlPlanes[1].advertiseAddress", /unspecified.*stricter than kubeadm/],
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
    ["endpoint with a path", (a) => (a.controlPlaneEndpoint = "api.example:6443/foo"), "controlPlaneEndpoint", /not a TCP port.*host\[:port\]/],
    ["endpoint with a bad host", (a) => (a.controlPlaneEndpoint = "api_bad!.example"), "controlPlaneEndpoint", /must be an IP address or a lowercase DNS-1123 subdomain/],
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

/**
 * Network and node cases with kubeadm 1.34's own verdict (`kubeadm config validate`: ValidateClusterConfiguration,
 * ValidateAPIEndpoint, ValidateNodeRegistrationOptions, ParseHostPort). kube-pki accepts exactly what kubeadm
 * accepts, except where it is stricter, and then its message says so and why. [case, args change, the same input
 * for kubeadm, kubeadm accepts?, kube-pki accepts?, what kube-pki's problem (or result) must show]
 */
type Cfg = ReturnType<typeof validateClusterPkiArgs>;
/** kubeadm's verdict; "host": decided by the host's interfaces (SetAPIEndpointDynamicDefaults), not by validation. */
type KubeadmVerdict = boolean | "host";
type Verdict = [string, (a: any) => void, KubeadmNetworkInput, KubeadmVerdict, boolean, RegExp | ((cfg: Cfg) => void)];
const ep = (controlPlaneEndpoint: string): [(a: any) => void, KubeadmNetworkInput] => [(a) => (a.controlPlaneEndpoint = controlPlaneEndpoint), { controlPlaneEndpoint }];
const svc = (serviceSubnet: string): [(a: any) => void, KubeadmNetworkInput] => [(a) => (a.serviceCidr = serviceSubnet), { serviceSubnet }];
const adv = (advertiseAddress: string): [(a: any) => void, KubeadmNetworkInput] => [(a) => (a.controlPlanes[0].advertiseAddress = advertiseAddress), { advertiseAddress }];
const NETWORK_CASES: Verdict[] = [
    ["bare IPv6 endpoint is [fd00::10]:6443 with an IP SAN", ...ep("fd00::10"), true, true, (cfg: Cfg) => {
        assert.deepEqual(cfg.endpoint, { host: "fd00::10", port: 6443, hostIsIp: true, url: "https://[fd00::10]:6443" });
    }],
    ["bracketed IPv6 endpoint with port", ...ep("[fd00::10]:8443"), true, true, (cfg: Cfg) => assert.equal(cfg.endpoint.url, "https://[fd00::10]:8443")],
    ["bracketed IPv6 endpoint without port", ...ep("[fd00::10]"), false, false, /brackets need a port.*"\[fd00::10\]:6443".*"fd00::10"/],
    ["endpoint without port takes the bind port", (a) => ((a.controlPlaneEndpoint = "api.test.example"), (a.apiServerBindPort = 8443)), { controlPlaneEndpoint: "api.test.example", bindPort: 8443 }, true, true,
        (cfg: Cfg) => assert.equal(cfg.endpoint.url, "https://api.test.example:8443")],
    ["endpoint with an empty port", ...ep("api.test.example:"), true, true, (cfg: Cfg) => assert.equal(cfg.endpoint.port, 6443)],
    ["endpoint port 0", ...ep("api.test.example:0"), false, false, /port "0" is not a TCP port/],
    ["uppercase endpoint host", ...ep("API.test.example"), false, false, /lowercase DNS-1123/],
    ["endpoint 0.0.0.0", ...ep("0.0.0.0:6443"), true, false, /unspecified.*stricter than kubeadm.*IP SAN/],
    ["multicast endpoint", ...ep("224.0.0.1"), true, false, /multicast.*stricter than kubeadm/],
    ["IPv4-mapped endpoint", ...ep("[::ffff:10.0.0.10]:6443"), true, false, /IPv4-mapped.*"10\.0\.0\.10".*stricter/],
    ["dual-stack service subnet", ...svc("10.96.0.0/12,fd00:10:96::/108"), true, true, (cfg: Cfg) => {
        assert.deepEqual(cfg.serviceCidrs, ["10.96.0.0/12", "fd00:10:96::/108"]);
        assert.equal(cfg.serviceIp, "10.96.0.1", "kubeadm GetAPIServerVirtualIP: the first CIDR's first IP");
    }],
    ["dual-stack, IPv6 primary", ...svc("fd00:10:96::/108,10.96.0.0/12"), true, true, (cfg: Cfg) => assert.equal(cfg.serviceIp, "fd00:10:96::1")],
    ["two IPv4 service subnets", ...svc("10.96.0.0/12,10.112.0.0/12"), false, false, /two CIDRs from each family/],
    ["three service subnets", ...svc("10.96.0.0/12,fd00:10:96::/108,fd00:10:97::/108"), false, false, /two CIDRs from each family/],
    ["IPv4 /8 service subnet", ...svc("10.0.0.0/8"), false, false, /too large: for 32-bit addresses the mask must be >= 12/],
    ["IPv4 /12 service subnet", ...svc("10.96.0.0/12"), true, true, (cfg: Cfg) => assert.equal(cfg.serviceIp, "10.96.0.1")],
    ["IPv4 /28 service subnet", ...svc("10.96.0.0/28"), true, true, (cfg: Cfg) => assert.equal(cfg.serviceIp, "10.96.0.1")],
    ["IPv4 /29 service subnet", ...svc("10.96.0.0/29"), false, false, /too small: 8 address\(es\), kubeadm needs at least 10/],
    ["IPv6 /107 service subnet", ...svc("fd00:10:96::/107"), false, false, /too large: for 128-bit addresses the mask must be >= 108/],
    ["IPv6 /124 service subnet", ...svc("fd00:10:96::/124"), true, true, (cfg: Cfg) => assert.equal(cfg.serviceIp, "fd00:10:96::1")],
    ["service subnet with host bits", ...svc("10.96.0.1/12"), true, false, /host bits.*stricter/],
    ["service subnet with a space", ...svc("10.96.0.0/12, fd00:10:96::/108"), false, false, /not a CIDR/],
    ["multicast advertise address", ...adv("224.0.0.1"), true, false, /multicast.*stricter than kubeadm/],
    ["IPv4-mapped advertise address", ...adv("::ffff:10.0.0.11"), true, false, /IPv4-mapped.*stricter/],
    ["advertise address with leading zeros", ...adv("010.0.0.11"), true, false, /leading zeros.*"10\.0\.0\.11".*stricter/],
    // kubeadm replaces a loopback advertise address by the global unicast address of `lo`, and fails without one.
    ["loopback advertise address (single-host clusters)", ...adv("127.0.0.1"), "host", true, (cfg: Cfg) => assert.deepEqual(cfg.controlPlanes[0].addresses, ["127.0.0.1"])],
    // kubeadm lowercases node names and certSANs silently (its apiserver certificate carries "cp-1", "extra.test.example").
    ["uppercase node name", (a) => (a.controlPlanes[0].name = "CP-1"), { nodeName: "CP-1" }, true, false, /uppercase letters; write "cp-1".*stricter.*registers as "cp-1"/],
    ["wildcard cert SAN", (a) => (a.apiServerExtraSans = ["*.api.test.example"]), { certSANs: ["*.api.test.example"] }, true, true,
        (cfg: Cfg) => assert.deepEqual(cfg.apiServerExtraSans.dns, ["*.api.test.example"])],
    ["uppercase cert SAN", (a) => (a.apiServerExtraSans = ["API.test.example"]), { certSANs: ["API.test.example"] }, true, false, /uppercase letters; write "api\.test\.example".*stricter.*lowercases certSANs/],
    ["cert SAN that is no name", (a) => (a.apiServerExtraSans = ["bad_san!"]), { certSANs: ["bad_san!"] }, false, false, /neither an IP address nor a DNS name/],
    ["uppercase DNS domain", (a) => (a.clusterDomain = "Cluster.local"), { dnsDomain: "Cluster.local" }, false, false, /not a DNS domain/],
];

function verdictOf(mutate: (a: any) => void): { cfg?: ReturnType<typeof validateClusterPkiArgs>; problems: string[] } {
    const args: any = baseArgs();
    mutate(args);
    try {
        return { cfg: validateClusterPkiArgs(args), problems: [] };
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return { problems: e.problems };
    }
}

describe(`network and node rules equal kubeadm's (${NETWORK_CASES.length} cases)`, () => {
    for (const [name, mutate, , kubeadmAccepts, accepts, check] of NETWORK_CASES) {
        const verdict = kubeadmAccepts === "host" ? "depends on the host" : kubeadmAccepts ? "accepts" : "refuses";
        it(`${name}: kubeadm ${verdict}, kube-pki ${accepts ? "accepts" : "refuses"}`, () => {
            const { cfg, problems } = verdictOf(mutate);
            assert.equal(problems.length === 0, accepts, problems.join("\n"));
            if (typeof check === "function") check(cfg!);
            else assert.ok(problems.some((p) => check.test(p)), `no problem matches ${check}:\n${problems.join("\n")}`);
            // Where kube-pki refuses what kubeadm accepts, the message says so and why.
            if (kubeadmAccepts === true && !accepts) assert.ok(problems.some((p) => /stricter/.test(p)), problems.join("\n"));
        });
    }

    describe("kubeadm's own verdict (`kubeadm config validate`, when kubeadm is built)", function () {
        this.timeout(120_000);
        const kubeadm = findKubeadm();
        for (const [name, , input, kubeadmAccepts] of NETWORK_CASES.filter((c) => c[3] !== "host")) {
            it(`${name}: kubeadm ${kubeadmAccepts ? "accepts" : "refuses"}`, function () {
                if (!kubeadm) this.skip();
                const r = kubeadmValidate(kubeadm!, kubeadmConfig(input));
                assert.equal(r.ok, kubeadmAccepts, r.output);
            });
        }
    });
});

describe("topologies that cannot exist", () => {
    const CASES: [string, (a: any) => void, string, RegExp][] = [
        ["two control planes with one address", (a) => (a.controlPlanes[1].advertiseAddress = "10.0.0.11"), "controlPlanes[1].advertiseAddress", /10\.0\.0\.11 is already the address of controlPlanes\[0\]\.advertiseAddress/],
        ["a worker with a control plane's address", (a) => (a.workers[0].addresses = ["10.0.0.12"]), "workers[0].addresses[0]", /already the address of controlPlanes\[1\]/],
        ["the same address written two ways", (a) => ((a.controlPlanes[0].advertiseAddress = "fd00::11"), (a.workers[0].addresses = ["fd00:0::11"])), "workers[0].addresses[0]", /fd00::11 is already/],
        ["two workers with one address", (a) => a.workers.push({ name: "worker-2", addresses: ["10.0.1.21"] }), "workers[1].addresses[0]", /already the address of workers\[0\]/],
        ["a worker listing an address twice", (a) => (a.workers[0].addresses = ["10.0.1.21", "10.0.1.21"]), "workers[0].addresses[1]", /already the address of workers\[0\]\.addresses\[0\]/],
    ];
    for (const [name, mutate, field, message] of CASES) {
        it(name, () => {
            const problems = problemsOf(mutate);
            const hit = problems.find((p) => p.startsWith(`${field}: `));
            assert.ok(hit, `no problem names ${field}:\n${problems.join("\n")}`);
            assert.match(hit!, message);
        });
    }
});

describe("user names and groups", () => {
    const REFUSED: [string, (a: any) => void, string, RegExp][] = [
        ["a path in the name", (a) => (a.users[0].name = "../../etc/evil"), "users[0].name", /path separator.*users\/<name>\.conf/],
        ["a backslash in the name", (a) => (a.users[0].name = "dom\\alice"), "users[0].name", /path separator/],
        ["a newline in the name", (a) => (a.users[0].name = "alice\nbob"), "users[0].name", /control character U\+000A/],
        ["a right-to-left override in the name", (a) => (a.users[0].name = "\u202Eecila"), "users[0].name", /U\+202E/],
        ["system:masters + zero-width space", (a) => (a.users[0].group = "system:masters\u200B"), "users[0].group", /invisible or control character U\+200B/],
        ["full-width system:masters", (a) => (a.users[0].group = "\uFF53\uFF59\uFF53\uFF54\uFF45\uFF4D:masters"), "users[0].group", /looks like a "system:" group/],
        ["Cyrillic look-alike", (a) => (a.users[0].group = "\u0455ystem:masters"), "users[0].group", /looks like a "system:" group/],
        ["capitalised look-alike", (a) => (a.users[0].group = "System:Masters"), "users[0].group", /looks like a "system:" group/],
        ["a look-alike system: user", (a) => (a.users[0].name = "\uFF53ystem:admin"), "users[0].name", /looks like a "system:" name/],
        ["a name too long for a CN", (a) => (a.users[0].name = "a".repeat(65)), "users[0].name", /at most 64/],
        ["a name with a trailing space", (a) => (a.users[0].name = "alice "), "users[0].name", /starts or ends with a space/],
        ["a non-breaking space", (a) => (a.users[0].name = "alice\u00A0smith"), "users[0].name", /U\+00A0/],
    ];
    for (const [name, mutate, field, message] of REFUSED) {
        it(`refuses ${name}`, () => {
            const problems = problemsOf(mutate);
            const hit = problems.find((p) => p.startsWith(`${field}: `));
            assert.ok(hit, `no problem names ${field}:\n${problems.join("\n")}`);
            assert.match(hit!, message);
        });
    }
    it("accepts printable names and real system: groups (with the opt-in for system:masters)", () => {
        const cfg = validateClusterPkiArgs({
            ...baseArgs(),
            allowSystemMastersUsers: true,
            users: [
                { name: "alice@example.com", group: "dev-team" },
                { name: "Jane Doe", group: "system:masters" },
                { name: "José", group: "équipe" },
            ],
        });
        assert.deepEqual(cfg.users.map((u) => u.name), ["alice@example.com", "Jane Doe", "José"]);
    });
});

describe("one pass: schema and semantic problems together", () => {
    it("a worker with no name and a bad IP, a missing cluster name and a bad CIDR: one ConfigError", () => {
        const problems = problemsOf((a) => {
            delete a.clusterName;
            a.serviceCidr = "10.0.0.0/8";
            a.workers = [{ addresses: ["10.0.1.300"] }];
            a.controlPlanes[1].advertiseAddress = 42;
        });
        assert.deepEqual(problems.sort(), [
            `clusterName: is required (the cluster's name, e.g. "prod-eu1")`,
            `controlPlanes[1].advertiseAddress: must be a string (expected string, received number)`,
            `serviceCidr: "10.0.0.0/8" is too large: for 32-bit addresses the mask must be >= 12 (kubeadm and kube-apiserver refuse it; e.g. /12)`,
            `workers[0].addresses[0]: "10.0.1.300" is not an IP address (e.g. "10.0.0.11" or "fd00::11")`,
            `workers[0].name: is required (the node's name, e.g. "worker-1")`,
        ]);
    });

    it("one refused element does not hide its neighbours' problems", () => {
        const problems = problemsOf((a) => {
            a.workers[0].addresses = [7, "10.0.1.400"];
            a.apiServerExtraSans = [false, "bad_san"];
        });
        assert.deepEqual(problems.sort(), [
            `apiServerExtraSans[0]: must be a string (expected string, received boolean)`,
            `apiServerExtraSans[1]: "bad_san" is neither an IP address nor a DNS name (lowercase DNS-1123 subdomain, optionally "*." wildcard, e.g. "api.example.com")`,
            `workers[0].addresses[0]: must be a string (expected string, received number)`,
            `workers[0].addresses[1]: "10.0.1.400" is not an IP address (e.g. "10.0.0.11" or "fd00::11")`,
        ]);
    });

    it("a field the schema refused is not checked again", () => {
        const problems = problemsOf((a) => (a.controlPlanes[0].advertiseAddress = ["10.0.0.11"]));
        assert.equal(problems.filter((p) => p.startsWith("controlPlanes[0].advertiseAddress")).length, 1, problems.join("\n"));
    });
});
