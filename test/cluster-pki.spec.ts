/**
 * ClusterPki under Pulumi mocks backed by the crypto-faithful tls emulator: every certificate is real and is
 * checked as X.509 (chain with openssl, KU/EKU, SANs, CN/O, key type, validity) against kubeadm's identities,
 * written out here by hand so that a wrong catalog row fails.
 */
import { HOUR_MS } from "../components/time";
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { ClusterPki, ClusterPkiArgs, ConfigError, plannedNames } from "../components/internal";
import { setupMocks, TlsEmulator } from "./support/tls-emulator";
import { opensslVerify, parseCert } from "./support/x509";
import { resolve, valueOf, valuesOf } from "./support/resolve";

type Files = Record<string, Record<string, { content: string; mode: string; secret: boolean; contentSecret: boolean }>>;

interface Built {
    pki: ClusterPki;
    emulator: TlsEmulator;
    files: Files;
    kubeconfigs: Record<string, string>;
    cas: Record<string, string>;
}

async function build(args: ClusterPkiArgs, name = "t"): Promise<Built> {
    const emulator = setupMocks();
    const pki = new ClusterPki(name, args);
    const files: Files = {};
    for (const [node, map] of Object.entries(pki.nodeFiles)) {
        files[node] = {};
        for (const [p, f] of Object.entries(map)) {
            const r = await resolve(f.content);
            files[node][p] = { content: r.value as string, mode: f.mode, secret: f.secret, contentSecret: r.secret };
        }
    }
    const kubeconfigs = await valuesOf(pki.kubeconfigs);
    const cas = await valuesOf(pki.caCertificates);
    return { pki, emulator, files, kubeconfigs, cas };
}

const ARGS: ClusterPkiArgs = {
    clusterName: "test",
    controlPlaneEndpoint: "api.test.example:6443",
    apiServerExtraSans: ["api.public.example", "203.0.113.10"],
    controlPlanes: [
        { name: "cp-1", advertiseAddress: "10.0.0.11", extraSans: ["cp-1.lb.example"] },
        { name: "cp-2", advertiseAddress: "10.0.0.12" },
    ],
    workers: [
        { name: "worker-1", addresses: ["10.0.1.21"] },
        { name: "worker-2", addresses: ["10.0.1.22", "fd00::22"] },
    ],
    users: [{ name: "alice", group: "dev-team", validity: "720h" }],
    kubeletServingCerts: true,
    kubeProxy: true,
};

const LEAF_KU = ["digital_signature", "key_encipherment"];
const CA_KU = ["digital_signature", "key_encipherment", "cert_signing"];

/** kubeadm's identities, by hand: file → expected subject, issuer CN, EKU and SANs, for a control plane. */
function expectedControlPlaneCerts(node: string, ip: string, extraDns: string[] = []) {
    const etcdSans = { dns: [node, "localhost"], ips: [ip, "127.0.0.1", "::1"] };
    return {
        "etc/kubernetes/pki/apiserver.crt": {
            cn: "kube-apiserver", o: [], issuer: "kubernetes", eku: ["server_auth"],
            dns: [node, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                "api.test.example", "api.public.example", ...extraDns],
            ips: ["10.96.0.1", ip, "203.0.113.10"],
        },
        "etc/kubernetes/pki/apiserver-kubelet-client.crt": { cn: "kube-apiserver-kubelet-client", o: ["kubeadm:cluster-admins"], issuer: "kubernetes", eku: ["client_auth"], dns: [], ips: [] },
        "etc/kubernetes/pki/apiserver-etcd-client.crt": { cn: "kube-apiserver-etcd-client", o: [], issuer: "etcd-ca", eku: ["client_auth"], dns: [], ips: [] },
        "etc/kubernetes/pki/front-proxy-client.crt": { cn: "front-proxy-client", o: [], issuer: "front-proxy-ca", eku: ["client_auth"], dns: [], ips: [] },
        "etc/kubernetes/pki/etcd/server.crt": { cn: node, o: [], issuer: "etcd-ca", eku: ["server_auth", "client_auth"], ...etcdSans },
        "etc/kubernetes/pki/etcd/peer.crt": { cn: node, o: [], issuer: "etcd-ca", eku: ["server_auth", "client_auth"], ...etcdSans },
        "etc/kubernetes/pki/etcd/healthcheck-client.crt": { cn: "kube-etcd-healthcheck-client", o: [], issuer: "etcd-ca", eku: ["client_auth"], dns: [], ips: [] },
        "var/lib/kubelet/pki/kubelet.crt": { cn: `system:node:${node}`, o: ["system:nodes"], issuer: "kubernetes", eku: ["server_auth"], dns: [node], ips: [ip] },
    };
}

const CA_FILES: Record<string, { cn: string; file: string }> = {
    ca: { cn: "kubernetes", file: "etc/kubernetes/pki/ca.crt" },
    "etcd-ca": { cn: "etcd-ca", file: "etc/kubernetes/pki/etcd/ca.crt" },
    "front-proxy-ca": { cn: "front-proxy-ca", file: "etc/kubernetes/pki/front-proxy-ca.crt" },
};

function sorted(a: string[]) {
    return [...a].sort();
}

function publicKeyDer(pem: string): string {
    return crypto.createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");
}

function hoursBetween(a: Date, b: Date) {
    return Math.round((b.getTime() - a.getTime()) / HOUR_MS);
}

interface ParsedKubeconfig {
    server: string;
    caPem: string;
    certPem: string;
    keyPem: string;
    user: string;
    cluster: string;
}

function parseKubeconfig(text: string): ParsedKubeconfig {
    const kc = parseYaml(text);
    const ctx = kc.contexts.find((c: any) => c.name === kc["current-context"]).context;
    const cluster = kc.clusters.find((c: any) => c.name === ctx.cluster).cluster;
    const user = kc.users.find((u: any) => u.name === ctx.user).user;
    const dec = (s: string) => Buffer.from(s, "base64").toString("utf8");
    return {
        server: cluster.server,
        caPem: dec(cluster["certificate-authority-data"]),
        certPem: dec(user["client-certificate-data"]),
        keyPem: dec(user["client-key-data"]),
        user: ctx.user,
        cluster: ctx.cluster,
    };
}

describe("ClusterPki (kubeadm catalog, real certificates through the tls emulator)", function () {
    let b: Built;
    before(async function () {
        b = await build(ARGS);
    });

    it("creates the three CAs as self-signed CA certificates with kubeadm's CNs and key usages", async () => {
        for (const [id, { cn }] of Object.entries(CA_FILES)) {
            const c = parseCert(b.cas[id]);
            assert.equal(c.subjectCN, cn, id);
            assert.equal(c.issuerCN, cn, id);
            assert.equal(c.isCA, true, id);
            assert.deepEqual([...c.dnsNames], [cn], `${id}: kubeadm puts the CN in a DNS SAN`);
            assert.deepEqual(sorted(c.keyUsage), sorted(CA_KU), id);
            assert.deepEqual([...c.extKeyUsage], [], id);
            assert.equal(c.publicKeyAlgorithm, "RSA");
            assert.equal(c.rsaBits, 2048);
            assert.equal(hoursBetween(c.notBefore, c.notAfter), 87600, id);
            assert.ok((await opensslVerify([b.cas[id]], b.cas[id])).ok, `${id} self-verifies`);
        }
    });

    for (const [node, ip, extra] of [["cp-1", "10.0.0.11", ["cp-1.lb.example"]], ["cp-2", "10.0.0.12", []]] as const) {
        it(`issues ${node}'s control-plane and etcd certificates with kubeadm's identities, chained to the right CA`, async () => {
            const files = b.files[node];
            const caByCn: Record<string, string> = { kubernetes: b.cas.ca, "etcd-ca": b.cas["etcd-ca"], "front-proxy-ca": b.cas["front-proxy-ca"] };
            for (const [file, want] of Object.entries(expectedControlPlaneCerts(node, ip, [...extra]))) {
                assert.ok(files[file], `${node}: ${file} missing`);
                const c = parseCert(files[file].content);
                assert.equal(c.subjectCN, want.cn, file);
                assert.deepEqual(c.subjectO, want.o, file);
                assert.equal(c.issuerCN, want.issuer, file);
                assert.equal(c.isCA, false, file);
                assert.deepEqual(sorted(c.keyUsage), sorted(LEAF_KU), file);
                assert.deepEqual(sorted(c.extKeyUsage), sorted(want.eku), file);
                assert.deepEqual(sorted(c.dnsNames), sorted(want.dns), `${file} DNS SANs`);
                assert.deepEqual(sorted(c.ipAddresses), sorted(want.ips), `${file} IP SANs`);
                assert.equal(c.publicKeyAlgorithm, "RSA");
                assert.equal(c.rsaBits, 2048);
                assert.equal(hoursBetween(c.notBefore, c.notAfter), 8760, file);
                const v = await opensslVerify([caByCn[want.issuer]], files[file].content);
                assert.ok(v.ok, `${file}: ${v.output}`);
                const keyFile = file.replace(/\.crt$/, ".key");
                assert.equal(publicKeyDer(files[keyFile].content), publicKeyDer(files[file].content), `${keyFile} matches`);
            }
        });
    }

    it("a leaf does not verify against a CA that did not sign it", async () => {
        const v = await opensslVerify([b.cas["etcd-ca"]], b.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"].content);
        assert.equal(v.ok, false);
    });

    it("gives every node exactly the kubeadm files of its role, with kubeadm modes", () => {
        const cpFiles = [
            "etc/kubernetes/pki/ca.crt", "etc/kubernetes/pki/ca.key", "etc/kubernetes/pki/ca-signer.crt",
            "etc/kubernetes/pki/etcd/ca.crt", "etc/kubernetes/pki/etcd/ca.key",
            "etc/kubernetes/pki/front-proxy-ca.crt", "etc/kubernetes/pki/front-proxy-ca.key",
            "etc/kubernetes/pki/sa.key", "etc/kubernetes/pki/sa.pub",
            ...Object.keys(expectedControlPlaneCerts("x", "1.1.1.1")).flatMap((f) => [f, f.replace(/\.crt$/, ".key")]),
            "etc/kubernetes/admin.conf", "etc/kubernetes/controller-manager.conf", "etc/kubernetes/scheduler.conf",
            "etc/kubernetes/kubelet.conf", "etc/kubernetes/kube-proxy.conf",
        ];
        assert.deepEqual(sorted(Object.keys(b.files["cp-1"])), sorted([...cpFiles, "etc/kubernetes/super-admin.conf"]));
        assert.deepEqual(sorted(Object.keys(b.files["cp-2"])), sorted(cpFiles), "super-admin.conf only on the first control plane");
        const workerFiles = [
            "etc/kubernetes/pki/ca.crt", "etc/kubernetes/kubelet.conf", "etc/kubernetes/kube-proxy.conf",
            "var/lib/kubelet/pki/kubelet.crt", "var/lib/kubelet/pki/kubelet.key",
        ];
        for (const w of ["worker-1", "worker-2"]) assert.deepEqual(sorted(Object.keys(b.files[w])), sorted(workerFiles), w);
        for (const [node, map] of Object.entries(b.files)) {
            for (const [file, f] of Object.entries(map)) {
                const secret = /\.(key|conf)$/.test(file);
                assert.equal(f.secret, secret, `${node}:${file} secret flag`);
                assert.equal(f.mode, secret ? "0600" : "0644", `${node}:${file} mode`);
            }
        }
    });

    it("keeps every private key and kubeconfig a Pulumi secret, and public material plain", async () => {
        for (const [node, map] of Object.entries(b.files)) {
            for (const [file, f] of Object.entries(map)) {
                assert.equal(f.contentSecret, f.secret, `${node}:${file} secretness`);
            }
        }
        for (const [key, kc] of Object.entries(b.pki.kubeconfigs)) {
            assert.equal(await pulumi.isSecret(kc), true, `kubeconfig ${key}`);
        }
        for (const ca of Object.values(b.pki.cas)) assert.equal(await pulumi.isSecret(ca!.keyPem), true);
        for (const leaf of Object.values(b.pki.leaves)) assert.equal(await pulumi.isSecret(leaf.keyPem), true);
        for (const out of Object.values(b.pki.caCertificates)) assert.equal(await pulumi.isSecret(out), false);
        assert.equal(await pulumi.isSecret(b.pki.inventory), false);
    });

    it("writes kubeconfigs with kubeadm's identities, servers and CA data", () => {
        const want: Record<string, { cn: string; o: string[]; server: string }> = {
            "admin.conf": { cn: "kubernetes-admin", o: ["kubeadm:cluster-admins"], server: "https://api.test.example:6443" },
            "super-admin.conf": { cn: "kubernetes-super-admin", o: ["system:masters"], server: "https://api.test.example:6443" },
            "kube-proxy.conf": { cn: "system:kube-proxy", o: [], server: "https://api.test.example:6443" },
            "cp-1/controller-manager.conf": { cn: "system:kube-controller-manager", o: [], server: "https://10.0.0.11:6443" },
            "cp-1/scheduler.conf": { cn: "system:kube-scheduler", o: [], server: "https://10.0.0.11:6443" },
            "cp-2/controller-manager.conf": { cn: "system:kube-controller-manager", o: [], server: "https://10.0.0.12:6443" },
            "cp-2/scheduler.conf": { cn: "system:kube-scheduler", o: [], server: "https://10.0.0.12:6443" },
            // kubeadm ≥ 1.33 (ControlPlaneKubeletLocalMode): a control plane's kubelet talks to its own apiserver.
            "cp-1/kubelet.conf": { cn: "system:node:cp-1", o: ["system:nodes"], server: "https://10.0.0.11:6443" },
            "cp-2/kubelet.conf": { cn: "system:node:cp-2", o: ["system:nodes"], server: "https://10.0.0.12:6443" },
            "worker-1/kubelet.conf": { cn: "system:node:worker-1", o: ["system:nodes"], server: "https://api.test.example:6443" },
            "worker-2/kubelet.conf": { cn: "system:node:worker-2", o: ["system:nodes"], server: "https://api.test.example:6443" },
            "users/alice.conf": { cn: "alice", o: ["dev-team"], server: "https://api.test.example:6443" },
        };
        assert.deepEqual(sorted(Object.keys(b.kubeconfigs)), sorted(Object.keys(want)));
        for (const [key, w] of Object.entries(want)) {
            const kc = parseKubeconfig(b.kubeconfigs[key]);
            assert.equal(kc.server, w.server, key);
            assert.equal(kc.caPem.trim(), b.cas.ca.trim(), `${key} CA data`);
            assert.equal(kc.cluster, "test", key);
            const c = parseCert(kc.certPem);
            assert.equal(c.subjectCN, w.cn, key);
            assert.deepEqual(c.subjectO, w.o, key);
            assert.equal(c.issuerCN, "kubernetes", key);
            assert.deepEqual([...c.extKeyUsage], ["client_auth"], key);
            assert.deepEqual(sorted(c.keyUsage), sorted(LEAF_KU), key);
            assert.equal(kc.user, w.cn, `${key} user name`);
            assert.equal(publicKeyDer(kc.keyPem), publicKeyDer(kc.certPem), `${key} key matches cert`);
            const expectHours = key.startsWith("users/") ? 720 : 8760;
            assert.equal(hoursBetween(c.notBefore, c.notAfter), expectHours, `${key} validity`);
        }
        // The node file is the same kubeconfig as the output.
        assert.equal(b.files["worker-1"]["etc/kubernetes/kubelet.conf"].content, b.kubeconfigs["worker-1/kubelet.conf"]);
        assert.equal(b.files["cp-2"]["etc/kubernetes/admin.conf"].content, b.kubeconfigs["admin.conf"]);
    });

    it("issues worker kubelet serving certs for all node IPs", async () => {
        const c = parseCert(b.files["worker-2"]["var/lib/kubelet/pki/kubelet.crt"].content);
        assert.equal(c.subjectCN, "system:node:worker-2");
        assert.deepEqual(c.subjectO, ["system:nodes"]);
        assert.deepEqual([...c.extKeyUsage], ["server_auth"]);
        assert.deepEqual(c.dnsNames, ["worker-2"]);
        assert.deepEqual(sorted(c.ipAddresses), sorted(["10.0.1.22", "fd00::22"]));
        assert.ok((await opensslVerify([b.cas.ca], b.files["worker-2"]["var/lib/kubelet/pki/kubelet.crt"].content)).ok);
    });

    it("creates a matching service-account key pair (no certificate)", () => {
        const files = b.files["cp-1"];
        assert.match(files["etc/kubernetes/pki/sa.key"].content, /BEGIN RSA PRIVATE KEY/);
        assert.match(files["etc/kubernetes/pki/sa.pub"].content, /BEGIN PUBLIC KEY/);
        assert.equal(publicKeyDer(files["etc/kubernetes/pki/sa.key"].content), publicKeyDer(files["etc/kubernetes/pki/sa.pub"].content));
        assert.equal(files["etc/kubernetes/pki/sa.key"].content, b.files["cp-2"]["etc/kubernetes/pki/sa.key"].content, "shared by control planes");
    });

    it("lists every certificate in the inventory with its identity and validity", async () => {
        const inv = await valueOf(b.pki.inventory);
        // 3 CAs; per CP: 4 apiserver-side + 3 etcd + serving + kubelet.conf + controller-manager + scheduler = 11;
        // per worker: kubelet.conf + serving = 2; cluster: admin, super-admin, kube-proxy; 1 user.
        assert.equal(inv.length, 3 + 2 * 11 + 2 * 2 + 3 + 1);
        const apiserver = inv.find((e) => e.id === "apiserver" && e.node === "cp-2")!;
        assert.equal(apiserver.file, "etc/kubernetes/pki/apiserver.crt");
        assert.equal(apiserver.issuer, "ca");
        assert.ok(apiserver.ipAddresses.includes("10.96.0.1"));
        assert.equal(apiserver.validityHours, 8760);
        assert.equal(apiserver.renewBeforeHours, 720);
        const cert = parseCert(b.files["cp-2"]["etc/kubernetes/pki/apiserver.crt"].content);
        assert.equal(new Date(apiserver.notAfter).getTime(), cert.notAfter.getTime());
        const alice = inv.find((e) => e.user === "alice")!;
        assert.equal(alice.file, "users/alice.conf");
        assert.equal(alice.organization, "dev-team");
        assert.equal(inv.filter((e) => e.isCa).length, 3);
    });

    it("registers a fixed number of resources per node (kubelet.conf + serving cert = 6 per worker)", () => {
        const tlsResources = b.emulator.resources.filter((r) => r.type.startsWith("tls:"));
        const forNode = (n: string) => tlsResources.filter((r) => r.name.endsWith(`-${n}-key`) || r.name.endsWith(`-${n}-csr`) || r.name.endsWith(`-${n}-cert`));
        assert.equal(forNode("worker-1").length, 6);
        assert.equal(forNode("cp-1").length, 11 * 3);
        // 3 CAs × (key + cert) + SA key + leaves × 3
        assert.equal(tlsResources.length, 3 * 2 + 1 + (2 * 11 + 2 * 2 + 3 + 1) * 3);
        assert.equal(tlsResources.filter((r) => r.type === "tls:index/privateKey:PrivateKey").length, 3 + 1 + 30);
    });
});

describe("ClusterPki variants", function () {
    it("IPv6: the apiserver carries the first IP of an IPv6 service CIDR and IPv6 endpoints", async () => {
        const b = await build({
            clusterName: "v6",
            controlPlaneEndpoint: "[fd00::10]:6443",
            serviceCidr: "fd00:10:96::/112",
            controlPlanes: [{ name: "cp-1", advertiseAddress: "fd00::11" }],
            superAdmin: false,
            frontProxy: false,
        });
        const c = parseCert(b.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"].content);
        assert.deepEqual(sorted(c.ipAddresses), sorted(["fd00:10:96::1", "fd00::11", "fd00::10"]));
        assert.ok(!c.dnsNames.includes("fd00::10"));
        const etcd = parseCert(b.files["cp-1"]["etc/kubernetes/pki/etcd/server.crt"].content);
        assert.deepEqual(sorted(etcd.ipAddresses), sorted(["fd00::11", "127.0.0.1", "::1"]));
        assert.equal(parseKubeconfig(b.kubeconfigs["admin.conf"]).server, "https://[fd00::10]:6443");
        assert.equal(parseKubeconfig(b.kubeconfigs["cp-1/scheduler.conf"]).server, "https://[fd00::11]:6443");
        assert.ok(!b.kubeconfigs["super-admin.conf"], "superAdmin: false");
        assert.ok(!b.files["cp-1"]["etc/kubernetes/pki/front-proxy-ca.crt"], "frontProxy: false");
        assert.ok(!b.files["cp-1"]["etc/kubernetes/pki/front-proxy-client.crt"]);
    });

    it("ECDSA: CA and leaf key algorithms are honoured (P-384 CA, P-256 leaves, P-256 SA key)", async () => {
        const b = await build({
            clusterName: "ec",
            controlPlaneEndpoint: "10.0.0.100",
            controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
            keyAlgorithm: "ECDSA-P256",
            caKeyAlgorithm: "ECDSA-P384",
        });
        const ca = parseCert(b.cas.ca);
        assert.equal(ca.publicKeyAlgorithm, "ECDSA");
        assert.equal(ca.ecCurve, "P-384");
        const leaf = parseCert(b.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"].content);
        assert.equal(leaf.publicKeyAlgorithm, "ECDSA");
        assert.equal(leaf.ecCurve, "P-256");
        assert.ok(leaf.ipAddresses.includes("10.0.0.100"), "an IP endpoint is an IP SAN");
        assert.match(b.files["cp-1"]["etc/kubernetes/pki/apiserver.key"].content, /BEGIN EC PRIVATE KEY/);
        assert.match(b.files["cp-1"]["etc/kubernetes/pki/sa.key"].content, /BEGIN EC PRIVATE KEY/);
        assert.ok((await opensslVerify([b.cas.ca], b.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"].content)).ok);
    });

    it("external etcd: no etcd CA, etcd certs or apiserver-etcd-client", async () => {
        const b = await build({
            clusterName: "ext",
            controlPlaneEndpoint: "api.ext.example",
            controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
            externalEtcd: true,
        });
        const files = Object.keys(b.files["cp-1"]);
        assert.deepEqual(files.filter((f) => f.includes("etcd")), []);
        assert.ok(!("etcd-ca" in b.cas));
        assert.ok(b.files["cp-1"]["etc/kubernetes/pki/apiserver.crt"]);
    });

    it("etcd members: only the listed control planes get etcd certificates", async () => {
        const b = await build({
            clusterName: "partial",
            controlPlaneEndpoint: "api.example",
            controlPlanes: [
                { name: "cp-1", advertiseAddress: "10.0.0.11" },
                { name: "cp-2", advertiseAddress: "10.0.0.12" },
            ],
            etcdMembers: ["cp-2"],
        });
        assert.ok(!b.files["cp-1"]["etc/kubernetes/pki/etcd/server.crt"]);
        assert.ok(b.files["cp-2"]["etc/kubernetes/pki/etcd/server.crt"]);
        assert.ok(b.files["cp-1"]["etc/kubernetes/pki/apiserver-etcd-client.crt"], "every apiserver still talks to etcd");
    });

    it("bad config throws a ConfigError and registers nothing", async () => {
        const emulator = setupMocks();
        assert.throws(
            () => new ClusterPki("bad", { ...ARGS, serviceCidr: "10.96.0.0/40", keyAlgorithm: "RSA-1" }),
            (e: unknown) => e instanceof ConfigError && /serviceCidr/.test(e.message) && /keyAlgorithm/.test(e.message),
        );
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(emulator.resources.length, 0);
    });

    it("preview: unknown provider outputs do not crash the component", async () => {
        const emulator = setupMocks({ preview: true });
        const pki = new ClusterPki("pv", ARGS);
        const r = await resolve(pki.kubeconfigs["admin.conf"]);
        assert.equal(r.secret, true);
        const inv = await resolve(pki.inventory);
        assert.ok(inv.known === false || Array.isArray(inv.value));
        assert.ok(emulator.resources.length > 0);
    });

    it("Pulumi.yaml's typed config schema and its defaults match the component's defaults", () => {
        const project = parseYaml(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
        assert.equal(project.name, "kube-pki");
        assert.equal(project.stackConfigDir, "stacks");
        const { STACK_CONFIG_KEYS, SINK_CONFIG_KEYS } = require("../components/internal");
        for (const [key, decl] of Object.entries<any>(project.config)) {
            assert.ok(key in STACK_CONFIG_KEYS || SINK_CONFIG_KEYS.includes(key), `Pulumi.yaml declares ${key}, which the program does not read`);
            assert.ok(decl.description, `${key} has a description`);
        }
        const defaults = Object.fromEntries(
            Object.entries<any>(project.config).filter(([k, d]) => d.default !== undefined && k in STACK_CONFIG_KEYS).map(([k, d]) => [k, d.default]),
        );
        const { validateClusterPkiArgs } = require("../components/internal");
        const base = { clusterName: "x", controlPlaneEndpoint: "x.example", controlPlanes: [{ name: "a", advertiseAddress: "10.0.0.1" }], now: "2030-01-01T00:00:00Z" };
        assert.deepEqual(validateClusterPkiArgs({ ...base, ...defaults }), validateClusterPkiArgs(base));
    });
});

describe("ClusterPki's walk: the names known before anything is registered are the names it builds", function () {
    it("plannedNames(config) = the component's kubeconfig, leaf and CA keys (sink config is checked against them first)", () => {
        setupMocks();
        for (const extra of [{}, { kubeProxy: true, kubeletServingCerts: true, superAdmin: false }, { externalEtcd: true, frontProxy: false }] as Partial<ClusterPkiArgs>[]) {
            const pki = new ClusterPki("plan", {
                clusterName: "plan",
                controlPlaneEndpoint: "api.plan.example:6443",
                controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }, { name: "cp-2", advertiseAddress: "10.0.0.12" }],
                workers: [{ name: "w-1", addresses: ["10.0.1.1"] }],
                users: [{ name: "alice", group: "dev" }],
                keyAlgorithm: "ECDSA-P256",
                ...extra,
            });
            assert.deepEqual(plannedNames(pki.config), {
                kubeconfigs: Object.keys(pki.kubeconfigs),
                leaves: Object.keys(pki.leaves),
                cas: Object.keys(pki.cas),
            });
        }
    });
});
