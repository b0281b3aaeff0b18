/**
 * Vault intermediate (docs/design.md#vault-intermediate) under Pulumi mocks: the tls emulator plus the emulated Vault PKI engine
 * (test/support/vault-emulator.ts). Every certificate is real: root (tls, local) → intermediate generated in Vault
 * and signed by the root → leaves issued by Vault through catalog-derived roles, checked with openssl and X.509
 * parsing against kubeadm's identities (written out by hand here).
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as vault from "@pulumi/vault";
import { CaMaterial, ConfigError, identityOf, LEAVES, validateClusterPkiArgs } from "../components/internal";
import { CertificateAuthority } from "../components/ca";
import {
    validateVaultConfig,
    vaultProviderFromConfig,
    VaultIntermediateCa,
    VaultLeafCertificate,
    VaultRoles,
    vaultRoleName,
    vaultRolesFromCatalog,
} from "../components/vault";
import { setupMocks, TlsEmulator } from "./support/tls-emulator";
import { registerVault, VAULT_TYPES, vaultMounts, VaultEmulator } from "./support/vault-emulator";
import { opensslVerify, parseCert, pemStart } from "./support/x509";
import { resolve, valueOf } from "./support/resolve";

const ALG = "ECDSA-P256";
const sorted = (a: readonly string[]) => [...a].sort();
const spki = (pem: string) =>
    (/PRIVATE KEY/.test(pem) ? crypto.createPublicKey(crypto.createPrivateKey(pem)) : crypto.createPublicKey(pem))
        .export({ type: "spki", format: "der" })
        .toString("base64");
const hoursBetween = (a: Date, b: Date) => (b.getTime() - a.getTime()) / 3_600_000;

async function rejects(o: pulumi.Output<unknown>, re: RegExp) {
    await assert.rejects(valueOf(o), (e: Error) => re.test(e.message) || assert.fail(`unexpected error: ${e.message}`));
}

/** A cluster config, only to compute the catalog identities (SANs) the way ClusterPki does. */
const CLUSTER = validateClusterPkiArgs({
    clusterName: "dev",
    controlPlaneEndpoint: "api.dev.example:6443",
    apiServerExtraSans: ["api.public.example"],
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    keyAlgorithm: ALG,
});
const CP1 = CLUSTER.controlPlanes[0];
const W1 = CLUSTER.workers[0];
const entry = (id: string) => LEAVES.find((e) => e.id === id)!;
const specsOf = (key: string, specs: ReturnType<typeof vaultRolesFromCatalog>) => specs.find((s) => s.key === key)!;

interface World {
    em: VaultEmulator;
    root: CertificateAuthority;
    ca: VaultIntermediateCa;
    roles: VaultRoles;
    rootPem: string;
    interPem: string;
}

/** Registers root → Vault intermediate (exported key) → roles for the cluster CA. */
function buildWorld(em: VaultEmulator, opts: { provider?: vault.Provider } = {}): Omit<World, "rootPem" | "interPem"> {
    const root = new CertificateAuthority("root", { commonName: "kube-pki root", keyAlgorithm: ALG, validityHours: 87600, renewBeforeHours: 8760 });
    const ca = new VaultIntermediateCa("dev-ca", {
        caId: "ca",
        mountPath: "pki-dev-ca",
        keyMode: "exported",
        commonName: "kubernetes",
        keyAlgorithm: ALG,
        validityHours: 43800,
        parentCertPem: root.certPem,
        parentKeyPem: root.keyPem,
        parentNotAfter: root.notAfter,
        issuerUrls: {
            issuingCertificates: ["https://vault.example:8200/v1/pki-dev-ca/ca"],
            crlDistributionPoints: ["https://vault.example:8200/v1/pki-dev-ca/crl"],
        },
        provider: opts.provider,
    });
    const apiserverSans = identityOf(entry("apiserver"), CLUSTER, CP1).dnsNames;
    const roles = new VaultRoles(
        "dev-ca-roles",
        {
            caId: "ca",
            mountPath: ca.mountPath,
            issuerRef: ca.issuerId,
            keyAlgorithm: ALG,
            validityHours: 8760,
            nodeNames: ["cp-1", "worker-1"],
            allowedDnsSans: { apiserver: apiserverSans },
            users: [{ name: "alice", group: "dev-team", validityHours: 720 }],
            provider: opts.provider,
        },
        { dependsOn: [ca] },
    );
    return { em, root, ca, roles };
}

function leaf(w: Pick<World, "ca" | "roles">, name: string, leafId: string, node?: typeof CP1, extra: Partial<ConstructorParameters<typeof VaultLeafCertificate>[1]> = {}) {
    const id = identityOf(entry(leafId), CLUSTER, node);
    return new VaultLeafCertificate(name, {
        mountPath: w.ca.mountPath,
        roleName: w.roles.roleNames[leafId],
        commonName: id.commonName,
        dnsNames: id.dnsNames,
        ipAddresses: id.ipAddresses,
        validityHours: 8760,
        renewBeforeHours: 720,
        ...extra,
    });
}

describe("Vault intermediate CA (emulated Vault PKI, real certificates)", function () {
    let w: World;
    let leaves: Record<string, VaultLeafCertificate>;
    const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);

    before(async () => {
        const em = registerVault(setupMocks({ now: () => NOW }));
        const provider = vaultProviderFromConfig({}, "vault", undefined, { VAULT_ADDR: "https://vault.example:8200", VAULT_TOKEN: "s.emulated-token" });
        const built = buildWorld(em, { provider });
        leaves = {
            apiserver: leaf(built, "apiserver-cp-1", "apiserver", CP1, { provider }),
            "admin.conf": leaf(built, "admin-conf", "admin.conf", undefined, { provider }),
            "kubelet.conf": leaf(built, "kubelet-conf-worker-1", "kubelet.conf", W1, { provider }),
            "kubelet-serving": leaf(built, "kubelet-serving-worker-1", "kubelet-serving", W1, { provider }),
            "scheduler.conf": leaf(built, "scheduler-conf-cp-1", "scheduler.conf", CP1, { provider }),
        };
        w = { ...built, rootPem: await valueOf(built.root.certPem), interPem: await valueOf(built.ca.certPem) };
    });

    it("the intermediate is generated in Vault and signed by the local root: a CA with kubeadm's CN", async () => {
        const c = parseCert(w.interPem);
        assert.equal(c.subjectCN, "kubernetes");
        assert.equal(c.issuerCN, "kube-pki root");
        assert.equal(c.isCA, true);
        assert.deepEqual(sorted(c.keyUsage), sorted(["digital_signature", "key_encipherment", "cert_signing", "crl_signing"]));
        assert.deepEqual(c.dnsNames, [], "no CN DNS SAN on the CA (excludeCnFromSans)");
        assert.equal(c.ecCurve, "P-256");
        assert.equal(Math.round(hoursBetween(c.notBefore, c.notAfter)), 43800);
        const v = opensslVerify([w.rootPem], w.interPem);
        assert.ok(v.ok, v.output);
        // the CSR really came from the emulated Vault mount, whose key signs the leaves
        const csrReq = w.em.byType(VAULT_TYPES.IntermediateCertRequest)[0];
        assert.equal(csrReq.inputs.type, "exported");
        assert.equal(csrReq.inputs.keyType, "ec");
        assert.equal(csrReq.inputs.keyBits, 256);
        const mount = vaultMounts(w.em).get("pki-dev-ca")!;
        assert.equal(mount.type, "pki");
        assert.equal(mount.issuers.size, 2, "intermediate (with key) and root (without) imported by set-signed");
        const def = mount.issuers.get(mount.defaultIssuer!)!;
        assert.equal(def.certPem.trim(), w.interPem.trim(), "the default issuer is the intermediate");
        assert.ok(def.keyId);
        assert.equal(await valueOf(w.ca.issuerId), mount.defaultIssuer);
        assert.equal(w.ca.exported, true);
        assert.equal(await valueOf(w.ca.mountPath), "pki-dev-ca");
        assert.equal(await valueOf(w.ca.chainPem), w.interPem.trim() + "\n" + w.rootPem.trim() + "\n");
        // compile-time: the CaMaterial shape ClusterPki consumes
        const material: CaMaterial = w.ca;
        assert.ok(material.notAfter);
    });

    it("uses the explicit provider, whose token is a secret input", () => {
        const p = w.em.resources.find((r) => r.type === "pulumi:providers:vault")!;
        assert.equal(p.inputs.address, "https://vault.example:8200");
        assert.ok(pulumi.runtime.isRpcSecret(p.rawInputs.token), "token is sent as a secret");
        // (runs before the tests below register Vault resources without a provider)
        const ours = w.em.resources.filter((x) => x.type.startsWith("vault:"));
        assert.equal(ours.length, 1 + 1 + 1 + 1 + 1 + 10 + 5, "mount, CSR, set-signed, issuers, urls, 10 roles, 5 certs");
        for (const r of ours) {
            assert.ok(r.provider?.includes("pulumi:providers:vault::vault"), `${r.name} uses the explicit provider`);
        }
        for (const r of w.em.resources.filter((x) => x.type.startsWith("tls:"))) assert.ok(!r.provider, `${r.name}: no vault provider on tls`);
    });

    it("exported: keyPem is a secret that matches the intermediate certificate and can sign locally", async () => {
        const r = await resolve(w.ca.keyPem);
        assert.equal(r.secret, true);
        assert.match(r.value!, pemStart("EC PRIVATE KEY"));
        assert.equal(spki(r.value!), spki(w.interPem));
        // leaves: "local" works with an exported key
        const k = new tls.PrivateKey("local-leaf-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const csr = new tls.CertRequest("local-leaf-csr", { privateKeyPem: k.privateKeyPem, subject: { commonName: "front-proxy-client" } });
        const cert = new tls.LocallySignedCert("local-leaf", {
            certRequestPem: csr.certRequestPem,
            caCertPem: w.ca.certPem,
            caPrivateKeyPem: w.ca.keyPem,
            validityPeriodHours: 24,
            allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
        });
        const v = opensslVerify([w.rootPem], await valueOf(cert.certPem), [w.interPem]);
        assert.ok(v.ok, v.output);
    });

    it("leaves issued by Vault chain to the root through the intermediate (openssl -untrusted)", async () => {
        for (const [id, l] of Object.entries(leaves)) {
            const pem = await valueOf(l.certPem);
            const purpose = id === "apiserver" || id === "kubelet-serving" ? "sslserver" : "sslclient";
            const v = opensslVerify([w.rootPem], pem, [w.interPem], { purpose });
            assert.ok(v.ok, `${id}: ${v.output}`);
            assert.equal(opensslVerify([w.rootPem], pem).ok, false, `${id} needs the intermediate`);
            assert.equal((await valueOf(l.issuingCaPem)).trim(), w.interPem.trim());
            assert.equal(await valueOf(l.caChainPem), w.interPem.trim() + "\n" + w.rootPem.trim() + "\n");
            const key = await resolve(l.keyPem);
            assert.equal(key.secret, true, `${id} key is secret`);
            assert.equal(spki(key.value!), spki(pem), `${id} key matches`);
        }
    });

    it("leaves carry kubeadm's identities: CN, O, key usages, EKU, SANs (from the catalog-derived roles)", async () => {
        const want: Record<string, { cn: string; o: string[]; eku: string[]; dns: string[]; ips: string[] }> = {
            apiserver: {
                cn: "kube-apiserver",
                o: [],
                eku: ["server_auth"],
                dns: ["cp-1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "api.dev.example", "api.public.example"],
                ips: ["10.96.0.1", "10.0.0.11"],
            },
            "admin.conf": { cn: "kubernetes-admin", o: ["kubeadm:cluster-admins"], eku: ["client_auth"], dns: [], ips: [] },
            "kubelet.conf": { cn: "system:node:worker-1", o: ["system:nodes"], eku: ["client_auth"], dns: [], ips: [] },
            "kubelet-serving": { cn: "system:node:worker-1", o: ["system:nodes"], eku: ["server_auth"], dns: ["worker-1"], ips: ["10.0.1.21"] },
            "scheduler.conf": { cn: "system:kube-scheduler", o: [], eku: ["client_auth"], dns: [], ips: [] },
        };
        for (const [id, l] of Object.entries(leaves)) {
            const c = parseCert(await valueOf(l.certPem));
            const x = want[id];
            assert.equal(c.subjectCN, x.cn, id);
            assert.deepEqual(c.subjectO, x.o, id);
            assert.equal(c.issuerCN, "kubernetes", id);
            assert.equal(c.isCA, undefined, `${id}: Vault leaves have no basicConstraints`);
            assert.deepEqual(sorted(c.keyUsage), ["digital_signature", "key_encipherment"], id);
            assert.deepEqual(c.extKeyUsage, x.eku, id);
            assert.deepEqual(sorted(c.dnsNames), sorted(x.dns), `${id} DNS SANs (no CN SAN: excludeCnFromSans)`);
            assert.deepEqual(sorted(c.ipAddresses), sorted(x.ips), `${id} IP SANs`);
            assert.equal(c.ecCurve, "P-256", `${id}: the role's key type`);
            // Vault backdates 30 s; the validity is the requested ttl
            assert.equal(Math.round(hoursBetween(c.notBefore, c.notAfter) * 100) / 100, 8760.01, id);
            assert.equal(c.notBefore.getTime(), NOW.getTime() - 30_000, `${id}: NotBefore = now - 30s`);
            assert.equal(await valueOf(l.notAfter), c.notAfter.toISOString().replace(".000Z", "Z"));
            const oids = c.extensions.map((e) => e.oid);
            assert.ok(oids.includes("1.3.6.1.5.5.7.1.1") && oids.includes("2.5.29.31"), `${id}: AIA and CRL DP from config/urls`);
            assert.equal(c.akid, parseCert(w.interPem).skid, `${id}: AKID = intermediate SKID`);
        }
    });

    it("creates one role per catalog kind of the CA, names always set, CN patterns from the templates", async () => {
        const roles = w.em.byType(VAULT_TYPES.Role);
        const expectedKeys = [
            "apiserver", "apiserver-kubelet-client", "kubelet-serving", "admin.conf", "super-admin.conf",
            "controller-manager.conf", "scheduler.conf", "kubelet.conf", "kube-proxy.conf", "user/dev-team",
        ];
        assert.deepEqual(sorted(Object.keys(w.roles.roles)), sorted(expectedKeys));
        assert.equal(roles.length, expectedKeys.length);
        for (const r of roles) {
            assert.ok(typeof r.inputs.name === "string" && /^kube-pki-[A-Za-z0-9_-]+$/.test(r.inputs.name), `${r.name}: name ${r.inputs.name}`);
            assert.equal(r.inputs.notBeforeDuration, "0s");
            assert.deepEqual(r.inputs.keyUsages, ["DigitalSignature", "KeyEncipherment"]);
            assert.equal(r.inputs.keyType, "ec");
            assert.equal(r.inputs.keyBits, 256);
            assert.equal(r.inputs.allowAnyName, false);
            assert.equal(r.inputs.allowSubdomains, false);
            assert.equal(typeof r.inputs.serverFlag, "boolean", "server_flag defaults to true in Vault: always explicit");
            assert.equal(typeof r.inputs.clientFlag, "boolean");
        }
        const byKey = (k: string) => roles.find((r) => r.inputs.name === vaultRoleName(k.split("/")[0], k.split("/")[1]))!.inputs;
        assert.equal(vaultRoleName("admin.conf"), "kube-pki-admin-conf");
        assert.equal(vaultRoleName("user", "system:nodes"), "kube-pki-user-system-nodes");
        const kubelet = byKey("kubelet.conf");
        assert.deepEqual(kubelet.allowedDomains, ["system:node:cp-1", "system:node:worker-1"]);
        assert.deepEqual(kubelet.organizations, ["system:nodes"]);
        assert.equal(kubelet.enforceHostnames, false);
        assert.equal(kubelet.allowIpSans, false);
        assert.deepEqual([kubelet.serverFlag, kubelet.clientFlag], [false, true]);
        const sched = byKey("scheduler.conf");
        assert.deepEqual(sched.allowedDomains, ["system:kube-scheduler"]);
        assert.equal(sched.enforceHostnames, false, "system:kube-scheduler is not a hostname");
        assert.equal(sched.organizations, undefined);
        const api = byKey("apiserver");
        assert.equal(api.allowedDomains[0], "kube-apiserver");
        assert.ok(api.allowedDomains.includes("kubernetes.default.svc.cluster.local"));
        assert.equal(api.enforceHostnames, true);
        assert.equal(api.allowIpSans, true);
        assert.equal(api.allowGlobDomains, false);
        assert.deepEqual([api.serverFlag, api.clientFlag], [true, false]);
        assert.equal(api.ttl, "31536000");
        assert.equal(api.maxTtl, "31536000");
        const user = byKey("user/dev-team");
        assert.deepEqual(user.allowedDomains, ["alice"]);
        assert.deepEqual(user.organizations, ["dev-team"]);
        assert.equal(user.ttl, "2592000", "the group's users' validity");
        assert.equal(byKey("admin.conf").organizations[0], "kubeadm:cluster-admins");
        assert.equal(await valueOf(w.roles.roleNames["admin.conf"]), "kube-pki-admin-conf");

        const wild = vaultRolesFromCatalog({ caId: "ca", keyAlgorithm: ALG, validityHours: 8760, allowedDnsSans: { apiserver: ["kubernetes", "*.apps.example"] } });
        const wa = wild.find((x) => x.key === "apiserver")!;
        assert.deepEqual([wa.allowWildcardCertificates, wa.allowGlobDomains], [true, true], "an explicit wildcard SAN");
        assert.equal(specsOf("admin.conf", wild).allowWildcardCertificates, false);

        // without node names: `{node}` becomes a glob, e.g. system:node:*
        const specs = vaultRolesFromCatalog({ caId: "ca", keyAlgorithm: "RSA-2048", validityHours: 8760 });
        const k = specs.find((s) => s.key === "kubelet.conf")!;
        assert.deepEqual(k.allowedDomains, ["system:node:*"]);
        assert.equal(k.allowGlobDomains, true);
        assert.deepEqual([k.keyType, k.keyBits], ["rsa", 2048]);
        assert.ok(!specs.some((s) => s.leafId === "user"), "no user role without users");
        const etcd = vaultRolesFromCatalog({ caId: "etcd-ca", keyAlgorithm: ALG, validityHours: 8760, nodeNames: ["cp-1"] });
        assert.deepEqual(sorted(etcd.map((s) => s.key)), ["apiserver-etcd-client", "etcd-healthcheck-client", "etcd-peer", "etcd-server"]);
        const server = etcd.find((s) => s.key === "etcd-server")!;
        assert.deepEqual(server.allowedDomains, ["cp-1", "localhost"]);
        assert.equal(server.allowLocalhost, true);
        assert.deepEqual([server.serverFlag, server.clientFlag], [true, true]);
        assert.deepEqual(
            vaultRolesFromCatalog({ caId: "front-proxy-ca", keyAlgorithm: ALG, validityHours: 8760, features: { frontProxy: false } }),
            [],
            "a feature that is off gets no role",
        );
    });

    it("Vault refuses requests that violate a role (CN, SAN, IP SAN), like pki/issue does", async () => {
        const wrongCn = leaf(w, "bad-cn", "scheduler.conf", undefined, { commonName: "system:kube-controller-manager" });
        await rejects(wrongCn.certPem, /error creating certificate system:kube-controller-manager by kube-pki-scheduler-conf .*Code: 400.*\n\n\* common name system:kube-controller-manager not allowed by this role/s);
        const otherNode = leaf(w, "bad-node", "kubelet.conf", undefined, { commonName: "system:node:intruder" });
        await rejects(otherNode.certPem, /common name system:node:intruder not allowed by this role/);
        const badSan = leaf(w, "bad-san", "apiserver", CP1, { dnsNames: ["kubernetes", "evil.example"] });
        await rejects(badSan.certPem, /subject alternate name evil\.example not allowed by this role/);
        const ipOnClient = leaf(w, "bad-ip", "admin.conf", undefined, { ipAddresses: ["10.0.0.1"] });
        await rejects(ipOnClient.certPem, /IP Subject Alternative Names are not allowed in this role, but was provided \[10\.0\.0\.1\]/);
        const noRole = new VaultLeafCertificate("no-role", { mountPath: "pki-dev-ca", roleName: "kube-pki-nope", commonName: "x", validityHours: 1, renewBeforeHours: 0 });
        await rejects(noRole.certPem, /unknown role: kube-pki-nope/);
    });

    it("TTL: longer than the role's max_ttl is capped with a Vault warning; past the intermediate's NotAfter is refused", async () => {
        const long = leaf(w, "long-admin", "admin.conf", undefined, { validityHours: 10000 });
        const c = parseCert(await valueOf(long.certPem));
        assert.equal(Math.round(hoursBetween(c.notBefore, c.notAfter)), 8760, "capped at max_ttl");
        assert.ok(w.em.warnings.some((x) => /TTL "10000h0m0s" is longer than permitted maxTTL "8760h0m0s", so maxTTL is being used/.test(x.detail)));
        const specs = vaultRolesFromCatalog({ caId: "ca", keyAlgorithm: ALG, validityHours: 8760, maxValidityHours: 50000 });
        const s = specs.find((x) => x.key === "kube-proxy.conf")!;
        const { key, leafId, organizations, ...rest } = s;
        void key, leafId, organizations;
        const role = new vault.pkisecret.SecretBackendRole("long-role", { backend: w.ca.mountPath, ...rest, name: "long-role" }, { dependsOn: [w.ca] });
        const beyond = new VaultLeafCertificate("beyond-ca", {
            mountPath: w.ca.mountPath,
            roleName: role.name,
            commonName: "system:kube-proxy",
            validityHours: 50000,
            renewBeforeHours: 720,
        });
        await rejects(beyond.certPem, /cannot satisfy request, as TTL would result in notAfter of .* that is beyond the expiration of the CA certificate at/);
    });

    it("why roles set notBeforeDuration 0s: with Vault's default 30s a fresh intermediate refuses to issue", async () => {
        const role = new vault.pkisecret.SecretBackendRole(
            "default-nbd",
            { backend: w.ca.mountPath, name: "default-nbd", allowedDomains: ["x.example"], allowBareDomains: true, keyType: "ec", keyBits: 256, maxTtl: "3600" },
            { dependsOn: [w.ca] },
        );
        const cert = new VaultLeafCertificate("default-nbd-cert", { mountPath: w.ca.mountPath, roleName: role.name, commonName: "x.example", validityHours: 1, renewBeforeHours: 0 });
        await rejects(cert.certPem, /notBefore before signer's notBefore/);
        // and a role without `name` is auto-named (the SDK's default): always set it
        const unnamed = new vault.pkisecret.SecretBackendRole("unnamed", { backend: w.ca.mountPath, keyType: "ec", keyBits: 256 }, { dependsOn: [w.ca] });
        assert.match(await valueOf(unnamed.name), /^unnamed-[0-9a-f]{7}$/);
    });

    it("internal: the CA key stays in Vault (keyPem is a secret \"\"), Vault still issues verifiable leaves", async () => {
        const etcd = new VaultIntermediateCa("dev-etcd", {
            caId: "etcd-ca",
            mountPath: "pki-dev-etcd",
            keyMode: "internal",
            commonName: "etcd-ca",
            keyAlgorithm: ALG,
            validityHours: 43800,
            parentCertPem: w.root.certPem,
            parentKeyPem: w.root.keyPem,
            parentNotAfter: w.root.notAfter,
        });
        const roles = new VaultRoles("dev-etcd-roles", { caId: "etcd-ca", mountPath: etcd.mountPath, issuerRef: etcd.issuerId, keyAlgorithm: ALG, validityHours: 8760, nodeNames: ["cp-1"] }, { dependsOn: [etcd] });
        const key = await resolve(etcd.keyPem);
        assert.equal(key.value, "");
        assert.equal(key.secret, true);
        assert.equal(etcd.exported, false);
        const server = leaf({ ca: etcd, roles }, "etcd-server-cp-1", "etcd-server", CP1);
        const pem = await valueOf(server.certPem);
        const interPem = await valueOf(etcd.certPem);
        const req = w.em.find("dev-etcd-csr", VAULT_TYPES.IntermediateCertRequest)!;
        assert.equal(req.inputs.type, "internal");
        assert.equal(req.outputs.privateKey, "", "Vault returns no key for internal");
        assert.ok([...vaultMounts(w.em).get("pki-dev-etcd")!.keys.values()].length === 1, "the key is in the mount");
        const v = opensslVerify([w.rootPem], pem, [interPem], { purpose: "sslserver" });
        assert.ok(v.ok, v.output);
        const c = parseCert(pem);
        assert.equal(c.subjectCN, "cp-1");
        assert.equal(c.issuerCN, "etcd-ca");
        assert.deepEqual(c.extKeyUsage, ["server_auth", "client_auth"]);
        assert.deepEqual(sorted(c.dnsNames), ["cp-1", "localhost"]);
        assert.deepEqual(sorted(c.ipAddresses), sorted(["10.0.0.11", "127.0.0.1", "::1"]));
        assert.equal(opensslVerify([w.rootPem], pem, [w.interPem]).ok, false, "not under the cluster CA");
    });

    it("a second CA on the same (or a nested) mount path is refused by Vault", async () => {
        const dup = new VaultIntermediateCa("dup", {
            caId: "front-proxy-ca",
            mountPath: "pki-dev-ca/front",
            keyMode: "internal",
            commonName: "front-proxy-ca",
            keyAlgorithm: ALG,
            validityHours: 1000,
            parentCertPem: w.root.certPem,
            parentKeyPem: w.root.keyPem,
        });
        await rejects(dup.mountPath, /path is already in use at pki-dev-ca\//);
    });
});

describe("Vault: preview", function () {
    it("a first preview registers the whole chain with unknown outputs and does not touch the emulated Vault", async () => {
        const em = registerVault(setupMocks({ preview: true }));
        const world = buildWorld(em);
        const l = leaf(world, "pv-admin", "admin.conf");
        const r = await resolve(l.certPem);
        assert.equal(r.known, false);
        assert.equal((await resolve(world.ca.keyPem)).secret, true);
        assert.equal(vaultMounts(em).size, 0);
        assert.ok(em.byType(VAULT_TYPES.Role).length === 10 && em.byType(VAULT_TYPES.Cert).length === 1);
        assert.ok(em.byType(VAULT_TYPES.Role).every((x) => typeof x.inputs.name === "string"), "role names are known in preview");
    });
});

describe("Vault: rotation and renewal across runs", function () {
    it("a new rotation token replaces only the Vault certificate; autoRenew acts after a refresh", async () => {
        let now = new Date(Math.floor(Date.now() / 1000) * 1000);
        const em = registerVault(setupMocks({ now: () => now }));
        const run = (token: string) => {
            const world = buildWorld(em);
            return leaf(world, "admin", "admin.conf", undefined, { rotationToken: token });
        };
        const first = await valueOf(run("e1").certPem);
        const again = (token: string) => {
            setupMocks({ emulator: em as TlsEmulator, now: () => now });
            return run(token);
        };
        assert.equal(await valueOf(again("e1").certPem), first, "same token: nothing changes");
        assert.deepEqual(em.withOp("create", "replace", "update"), []);
        const rotated = await valueOf(again("e2").certPem);
        assert.notEqual(rotated, first);
        const changed = em.withOp("create", "replace", "update");
        assert.deepEqual(changed.map((r) => [r.type, r.op, r.reasons]), [[VAULT_TYPES.Cert, "replace", ["replacementTrigger"]]]);

        // inside min_seconds_remaining: nothing happens until a refresh sets renewPending
        now = new Date(now.getTime() + (8760 - 700) * 3_600_000);
        em.setNow(() => now);
        await valueOf(again("e2").certPem);
        assert.equal(em.withOp("replace").length, 0, "no refresh: no renewal");
        em.refresh();
        const renewed = await valueOf(again("e2").certPem);
        assert.notEqual(renewed, rotated);
        assert.deepEqual(em.withOp("replace").map((r) => [r.type, r.reasons]), [[VAULT_TYPES.Cert, ["renewPending"]]]);
    });
});

describe("Vault: bad input fails with clear errors", function () {
    const env = { VAULT_ADDR: "https://vault.example:8200" };
    const problems = (f: () => unknown): string[] => {
        try {
            f();
        } catch (e) {
            assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
            return e.problems;
        }
        assert.fail("no error");
    };

    it("validateVaultConfig reports every problem at once, naming the field", () => {
        const p = problems(() =>
            validateVaultConfig(
                {
                    ca: { mountPath: "pki", keyMode: "internal", leaves: "local" },
                    "etcd-ca": { mountPath: "pki/etcd", keyMode: "hsm" },
                    "front-proxy-ca": { mountPath: "pki", validity: "200000h" },
                },
                { env: {}, parentValidityHours: 87600 },
            ),
        );
        const has = (re: RegExp) => assert.ok(p.some((x) => re.test(x)), `missing ${re} in:\n${p.join("\n")}`);
        has(/^vault\.ca\.leaves: "local" signs leaves with the CA key, but keyMode "internal" keeps that key inside Vault/);
        has(/^vault\.etcd-ca\.mountPath: "pki\/etcd" collides with vault\.ca\.mountPath "pki"/);
        has(/^vault\.etcd-ca\.keyMode: "hsm" is not one of internal, exported/);
        has(/^vault\.front-proxy-ca\.mountPath: "pki" collides with vault\.ca\.mountPath "pki"/);
        has(/^vault\.front-proxy-ca\.validity: 200000h is longer than the parent CA's 87600h validity/);
        has(/^vault\.address: is required when a CA is in Vault mode .*VAULT_ADDR/);
    });

    it("validateVaultConfig: a validity outliving the parent's NotAfter, unknown keys, a bad address", () => {
        const nowMs = Date.parse("2030-01-01T00:00:00Z");
        const p = problems(() =>
            validateVaultConfig(
                { address: "vault:8200", ca: { mountPath: "pki-ca", validity: "1000d", mode: "vault", typo: 1 } as never },
                { env, parentNotAfter: { ca: "2031-01-01T00:00:00Z" }, nowMs },
            ),
        );
        assert.ok(p.some((x) => /^vault\.ca\.validity: 24000h outlives the parent CA, which expires 2031-01-01T00:00:00\.000Z \(8760h left\)/.test(x)), p.join("\n"));
        assert.ok(p.some((x) => /^vault\.ca\.typo: unknown field/.test(x)));
        assert.ok(p.some((x) => /^vault\.address: "vault:8200" is not an http\(s\) URL/.test(x)));
    });

    it("validateVaultConfig resolves defaults and reads VAULT_* from the environment", async () => {
        setupMocks();
        const r = validateVaultConfig(
            { ca: { mountPath: "pki-ca" }, "etcd-ca": { mode: "local" }, "front-proxy-ca": { mountPath: "pki-fp", keyMode: "exported", leaves: "local", validity: "20000h" } },
            { env: { ...env, VAULT_TOKEN: "s.t", VAULT_NAMESPACE: "team" }, caValidityHours: 43800, parentValidityHours: 87600 },
        );
        assert.deepEqual(r.cas.ca, { caId: "ca", mountPath: "pki-ca", keyMode: "internal", leaves: "vault", trust: "chain", validityHours: 43800 });
        assert.equal(r.cas["etcd-ca"], undefined, "mode local: not a Vault CA");
        assert.equal(r.cas["front-proxy-ca"]!.validityHours, 20000);
        assert.equal(r.connection!.address, "https://vault.example:8200");
        assert.equal(r.connection!.namespace, "team");
        const token = await resolve(r.connection!.token!);
        assert.deepEqual([token.value, token.secret], ["s.t", true]);
        assert.deepEqual(validateVaultConfig(undefined), { cas: {} });
    });

    it("vaultProviderFromConfig: a missing address names vault.address and VAULT_ADDR", () => {
        const p = problems(() => vaultProviderFromConfig({ token: "s.x" }, "v", undefined, {}));
        assert.equal(p.length, 1);
        assert.match(p[0], /^vault\.address: is required .*VAULT_ADDR/);
        assert.ok(!p[0].includes("s.x"), "the token is never in messages");
    });

    it("VaultIntermediateCa: bad keyMode, bad key algorithm, a validity longer than the parent's", async () => {
        setupMocks();
        const base = {
            caId: "ca",
            mountPath: "pki-x",
            keyMode: "internal" as const,
            commonName: "kubernetes",
            keyAlgorithm: ALG,
            validityHours: 1000,
            parentCertPem: "cert",
            parentKeyPem: pulumi.secret("key"),
        };
        const p = problems(() => new VaultIntermediateCa("bad", { ...base, keyMode: "hsm" as never, keyAlgorithm: "RSA-1024", mountPath: "/pki/" }));
        assert.ok(p.some((x) => /^keyMode: "hsm" is not one of internal, exported/.test(x)), p.join("\n"));
        assert.ok(p.some((x) => /^keyAlgorithm: "RSA-1024" is not supported/.test(x)));
        assert.ok(p.some((x) => /^mountPath: "\/pki\/" is not a Vault mount path/.test(x)));
        const nowMs = Date.parse("2030-01-01T00:00:00Z");
        const q = problems(() => new VaultIntermediateCa("long", { ...base, parentNotAfter: "2030-01-11T00:00:00Z", nowMs }));
        assert.match(q[0], /^validityHours: 1000h outlives the parent CA, which expires 2030-01-11T00:00:00\.000Z \(240h left\): shorten the validity to at most 240h/);
    });

    it("VaultIntermediateCa: a parent NotAfter known only at run time warns (later runs of an unchanged CA must not fail)", async () => {
        const warnings: string[] = [];
        const log = pulumi.log as unknown as { warn: (msg: string, res?: pulumi.Resource) => Promise<void> };
        const orig = log.warn;
        log.warn = async (msg: string) => void warnings.push(msg);
        try {
            const em = registerVault(setupMocks());
            const root = new CertificateAuthority("short-root", { commonName: "short root", keyAlgorithm: ALG, validityHours: 100, renewBeforeHours: 10 });
            const ca = new VaultIntermediateCa("too-long", {
                caId: "ca",
                mountPath: "pki-too-long",
                keyMode: "internal",
                commonName: "kubernetes",
                keyAlgorithm: ALG,
                validityHours: 1000,
                parentCertPem: root.certPem,
                parentKeyPem: root.keyPem,
                parentNotAfter: root.notAfter,
            });
            await valueOf(ca.certPem);
            assert.ok(
                warnings.some((m) => /^too-long: validityHours: 1000h outlives the parent CA, which expires .* \(\d+h left\): shorten the validity to at most \d+h or renew the parent first/.test(m)),
                warnings.join("\n"),
            );
            assert.equal(em.byType("tls:index/locallySignedCert:LocallySignedCert").length, 1, "the intermediate is still signed");
        } finally {
            log.warn = orig;
        }
    });
});
