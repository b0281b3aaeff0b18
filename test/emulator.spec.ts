/**
 * The tls emulator (test/support/tls-emulator.ts) is faithful to @pulumi/tls 5.6.1 / terraform-provider-tls:
 * real keys and certificates, Go crypto/x509 encodings, the provider's validation, renewal and secret semantics.
 * Resources are the real @pulumi/tls classes under pulumi.runtime.setMocks.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { RecordedResource, setupMocks, TLS_TYPES, TlsEmulator } from "./support/tls-emulator";
import { opensslText, opensslVerify, parseCert, ParsedCert, pemStart } from "./support/x509";
import { children, decode } from "./support/der";

function val<T>(o: pulumi.Output<T>): Promise<T> {
    return (o as any).promise();
}
function isKnown(o: pulumi.Output<unknown>): Promise<boolean> {
    return (o as any).isKnown;
}

const T0 = new Date("2030-01-01T00:00:00.250Z");
const CA_USES = ["digital_signature", "key_encipherment", "cert_signing"];
const LEAF_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

interface Chain {
    caKey: tls.PrivateKey;
    ca: tls.SelfSignedCert;
    leafKey: tls.PrivateKey;
    csr: tls.CertRequest;
    leaf: tls.LocallySignedCert;
}

function chain(prefix: string, caKey: tls.PrivateKeyArgs, leafKey: tls.PrivateKeyArgs): Chain {
    const k = new tls.PrivateKey(`${prefix}-ca-key`, caKey);
    const ca = new tls.SelfSignedCert(`${prefix}-ca`, {
        privateKeyPem: k.privateKeyPem,
        subject: { commonName: "kubernetes", organization: "kube-pki" },
        isCaCertificate: true,
        validityPeriodHours: 87600,
        allowedUses: CA_USES,
    });
    const lk = new tls.PrivateKey(`${prefix}-leaf-key`, leafKey);
    const csr = new tls.CertRequest(`${prefix}-leaf-csr`, {
        privateKeyPem: lk.privateKeyPem,
        subject: { commonName: "kube-apiserver", organization: "system:masters" },
        dnsNames: ["kubernetes", "kubernetes.default.svc.cluster.local"],
        ipAddresses: ["10.96.0.1", "fd00::1"],
    });
    const leaf = new tls.LocallySignedCert(`${prefix}-leaf`, {
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: k.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: 8760,
        earlyRenewalHours: 720,
        allowedUses: LEAF_USES,
    });
    return { caKey: k, ca, leafKey: lk, csr, leaf };
}

function checkChain(caPem: string, leafPem: string): { ca: ParsedCert; leaf: ParsedCert } {
    const ca = parseCert(caPem);
    const leaf = parseCert(leafPem);
    assert.ok(leaf.node.verify(ca.node.publicKey), "leaf signature verifies with the CA key");
    assert.ok(leaf.node.checkIssued(ca.node), "checkIssued");
    assert.ok(ca.node.verify(ca.node.publicKey), "CA is self-signed");
    for (const purpose of ["sslserver", "sslclient"]) {
        const v = opensslVerify([caPem], leafPem, undefined, { purpose, atTime: new Date(leaf.notBefore.getTime() + 1000) });
        assert.ok(v.ok, `openssl verify -x509_strict -purpose ${purpose}: ${v.output}`);
    }
    return { ca, leaf };
}

function expectCaCert(ca: ParsedCert) {
    assert.equal(ca.subjectCN, "kubernetes");
    assert.deepEqual(ca.subjectO, ["kube-pki"]);
    assert.equal(ca.issuerCN, "kubernetes");
    assert.equal(ca.isCA, true);
    assert.equal(ca.pathLen, undefined, "no pathlen constraint");
    assert.deepEqual(ca.keyUsage, CA_USES);
    assert.deepEqual(ca.extKeyUsage, []);
    assert.ok(ca.skid, "a CA gets a subject key id");
    assert.equal(ca.akid, undefined, "self-signed: no AKID unless setAuthorityKeyId");
    // Go's extension order and criticality: KU (critical), BC (critical), SKID
    assert.deepEqual(ca.extensions, [
        { oid: "2.5.29.15", critical: true },
        { oid: "2.5.29.19", critical: true },
        { oid: "2.5.29.14", critical: false },
    ]);
    assert.equal(ca.notAfter.getTime() - ca.notBefore.getTime(), 87600 * 3600_000);
}

function expectLeafCert(leaf: ParsedCert, ca: ParsedCert) {
    assert.equal(leaf.subjectCN, "kube-apiserver");
    assert.deepEqual(leaf.subjectO, ["system:masters"]);
    assert.equal(leaf.issuerCN, "kubernetes");
    assert.deepEqual(leaf.dnsNames, ["kubernetes", "kubernetes.default.svc.cluster.local"]);
    assert.deepEqual(leaf.ipAddresses, ["10.96.0.1", "fd00::1"]);
    assert.deepEqual(leaf.keyUsage, ["digital_signature", "key_encipherment"]);
    assert.deepEqual(leaf.extKeyUsage, ["server_auth", "client_auth"]);
    assert.equal(leaf.isCA, false, "basicConstraints CA:FALSE is present on leaves");
    assert.equal(leaf.skid, undefined);
    assert.equal(leaf.akid, ca.skid, "AKID = the CA's SKID");
    assert.deepEqual(leaf.extensions, [
        { oid: "2.5.29.15", critical: true },
        { oid: "2.5.29.37", critical: false },
        { oid: "2.5.29.19", critical: true },
        { oid: "2.5.29.35", critical: false },
        { oid: "2.5.29.17", critical: false },
    ]);
    assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 8760 * 3600_000);
}

describe("tls emulator", function () {
    describe("RSA 2048 CA, ECDSA P-256 leaf", () => {
        let em: TlsEmulator;
        let c: Chain;
        before(() => {
            em = setupMocks({ now: () => T0 });
            c = chain("rsa", { algorithm: "RSA", rsaBits: 2048 }, { algorithm: "ECDSA", ecdsaCurve: "P256" });
        });

        it("issues a chain that openssl and node:crypto verify, with kubeadm-like extensions", async () => {
            const [caPem, leafPem] = await Promise.all([val(c.ca.certPem), val(c.leaf.certPem)]);
            const { ca, leaf } = checkChain(caPem, leafPem);
            expectCaCert(ca);
            expectLeafCert(leaf, ca);
            assert.equal(ca.publicKeyAlgorithm, "RSA");
            assert.equal(ca.rsaBits, 2048);
            assert.equal(ca.signatureAlgorithm, "sha256WithRSAEncryption");
            assert.equal(leaf.publicKeyAlgorithm, "ECDSA");
            assert.equal(leaf.ecCurve, "P-256");
            assert.equal(leaf.signatureAlgorithm, "sha256WithRSAEncryption", "signed by the RSA CA");
        });

        it("computes the provider's outputs: ids, validity times, key algorithms, readyForRenewal", async () => {
            const ca = parseCert(await val(c.ca.certPem));
            const leaf = parseCert(await val(c.leaf.certPem));
            assert.equal(await val(c.ca.id), ca.serial, "id = serial number in decimal");
            assert.equal(await val(c.leaf.id), leaf.serial);
            assert.ok(BigInt(ca.serial) < 1n << 128n && ca.serial !== leaf.serial);
            assert.equal(await val(c.ca.validityStartTime), "2030-01-01T00:00:00.25Z", "NotBefore = now, no backdating");
            assert.equal(await val(c.ca.validityEndTime), "2039-12-30T00:00:00.25Z");
            assert.equal(ca.notBefore.toISOString(), "2030-01-01T00:00:00.000Z", "DER times are whole seconds");
            assert.equal(await val(c.ca.keyAlgorithm), "RSA");
            assert.equal(await val(c.csr.keyAlgorithm), "ECDSA");
            assert.equal(await val(c.leaf.caKeyAlgorithm), "RSA");
            assert.equal(await val(c.ca.readyForRenewal), false);
            assert.equal(await val(c.leaf.readyForRenewal), false);
            assert.equal(await val(c.leaf.earlyRenewalHours), 720);
            assert.equal(await val(c.ca.earlyRenewalHours), 0, "provider default");
            assert.equal(await val(c.ca.maxPathLength), -1, "provider default");
            const keyId = await val(c.caKey.id);
            const pub = crypto.createPublicKey(await val(c.caKey.publicKeyPem));
            assert.equal(keyId, crypto.createHash("sha1").update(pub.export({ type: "spki", format: "der" })).digest("hex"));
            const csrDer = decode(Buffer.from((await val(c.csr.certRequestPem)).split("\n").filter((l) => !l.startsWith("-")).join(""), "base64"));
            assert.equal(await val(c.csr.id), crypto.createHash("sha1").update(csrDer.raw).digest("hex"));
        });

        it("records every registration with its type, name, inputs and outputs", () => {
            assert.equal(em.byType(TLS_TYPES.PrivateKey).length, 2);
            assert.equal(em.byType(TLS_TYPES.SelfSignedCert).length, 1);
            assert.equal(em.byType(TLS_TYPES.CertRequest).length, 1);
            assert.equal(em.byType(TLS_TYPES.LocallySignedCert).length, 1);
            const leaf = em.find("rsa-leaf")!;
            assert.deepEqual(leaf.inputs.allowedUses, LEAF_USES);
            assert.equal(leaf.op, "create");
            assert.match(leaf.urn, /^urn:pulumi:test::kube-pki::tls:index\/locallySignedCert:LocallySignedCert::rsa-leaf$/);
            assert.match(leaf.outputs.certPem, /^-----BEGIN CERTIFICATE-----\n/);
            assert.equal(em.warnings.length, 0);
        });

        it("marks private keys secret through the real SDK classes (additionalSecretOutputs)", async () => {
            assert.equal(await pulumi.isSecret(c.caKey.privateKeyPem), true);
            assert.equal(await pulumi.isSecret(c.caKey.privateKeyPemPkcs8), true);
            assert.equal(await pulumi.isSecret(c.caKey.privateKeyOpenssh), true);
            assert.equal(await pulumi.isSecret(c.caKey.publicKeyPem), false);
            assert.equal(await pulumi.isSecret(c.ca.certPem), false);
            assert.equal(await pulumi.isSecret(c.leaf.caPrivateKeyPem), true);
            assert.equal(await pulumi.isSecret(c.leaf.certPem), false);
        });

        it("takes subject and SANs from the CSR (and drops the CSR's emailAddress, like Go's pkix.Name round trip)", async () => {
            const k = new tls.PrivateKey("mail-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const csr = new tls.CertRequest("mail-csr", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "alice", organization: "dev", emailAddress: "alice@example.com" },
                uris: ["spiffe://cluster.local/ns/default/sa/alice"],
            });
            const cert = new tls.LocallySignedCert("mail", {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: c.caKey.privateKeyPem,
                caCertPem: c.ca.certPem,
                validityPeriodHours: 1,
                allowedUses: ["client_auth"],
            });
            assert.match(opensslText(await val(csr.certRequestPem)), /emailAddress = alice@example.com/);
            const p = parseCert(await val(cert.certPem));
            assert.equal(p.subjectCN, "alice");
            assert.deepEqual(p.subjectO, ["dev"]);
            assert.doesNotMatch(opensslText(await val(cert.certPem)), /emailAddress/);
            assert.deepEqual(p.uris, ["spiffe://cluster.local/ns/default/sa/alice"]);
            assert.deepEqual(p.keyUsage, [], "no key usage bits: no KU extension");
            assert.deepEqual(p.extKeyUsage, ["client_auth"]);
        });
    });

    describe("ECDSA and Ed25519 CAs", () => {
        before(() => setupMocks({ now: () => T0 }));

        for (const [curve, sig] of [
            ["P256", "ecdsa-with-SHA256"],
            ["P384", "ecdsa-with-SHA384"],
            ["P521", "ecdsa-with-SHA512"],
        ] as const) {
            it(`ECDSA ${curve} CA signs with ${sig}`, async () => {
                const c = chain(`ec-${curve}`, { algorithm: "ECDSA", ecdsaCurve: curve }, { algorithm: "RSA", rsaBits: 2048 });
                const { ca, leaf } = checkChain(await val(c.ca.certPem), await val(c.leaf.certPem));
                expectCaCert(ca);
                expectLeafCert(leaf, ca);
                assert.equal(ca.signatureAlgorithm, sig);
                assert.equal(leaf.signatureAlgorithm, sig);
                assert.equal(await val(c.leaf.caKeyAlgorithm), "ECDSA");
                assert.match(await val(c.caKey.privateKeyPem), pemStart("EC PRIVATE KEY"));
            });
        }

        it("Ed25519 CA: PKCS#8 key, ED25519 signatures, SKID over the OCTET STRING-wrapped key (provider quirk)", async () => {
            const c = chain("ed", { algorithm: "ED25519" }, { algorithm: "ED25519" });
            const { ca, leaf } = checkChain(await val(c.ca.certPem), await val(c.leaf.certPem));
            assert.equal(ca.signatureAlgorithm, "ED25519");
            assert.equal(leaf.publicKeyAlgorithm, "ED25519");
            assert.match(await val(c.caKey.privateKeyPem), pemStart("PRIVATE KEY"));
            const raw = ca.node.publicKey.export({ format: "jwk" }).x!;
            const wrapped = Buffer.concat([Buffer.from([0x04, 0x20]), Buffer.from(raw, "base64url")]);
            assert.equal(ca.skid, crypto.createHash("sha1").update(wrapped).digest("hex"));
        });
    });

    describe("PrivateKey", () => {
        before(() => setupMocks());

        it("RSA: PKCS#1 private key, PKIX public key, OpenSSH encodings that ssh-keygen accepts", async () => {
            const k = new tls.PrivateKey("rsa", { algorithm: "RSA" });
            assert.equal(await val(k.rsaBits), 2048, "default rsaBits");
            assert.equal(await val(k.ecdsaCurve), "P224", "the schema default is stored whatever the algorithm");
            const pem = await val(k.privateKeyPem);
            assert.match(pem, pemStart("RSA PRIVATE KEY"));
            assert.match(await val(k.privateKeyPemPkcs8), pemStart("PRIVATE KEY"));
            assert.match(await val(k.publicKeyPem), /^-----BEGIN PUBLIC KEY-----\n/);
            assert.equal(crypto.createPrivateKey(pem).asymmetricKeyDetails?.modulusLength, 2048);
            await checkOpenssh(k);
        });

        it("ECDSA without ecdsaCurve is P-224 (provider default), with empty OpenSSH fields", async () => {
            const k = new tls.PrivateKey("ec-default", { algorithm: "ECDSA" });
            assert.equal(await val(k.ecdsaCurve), "P224");
            const pem = await val(k.privateKeyPem);
            assert.match(pem, pemStart("EC PRIVATE KEY"));
            assert.equal(crypto.createPrivateKey(pem).asymmetricKeyDetails?.namedCurve, "secp224r1");
            assert.equal(await val(k.publicKeyOpenssh), "");
            assert.equal(await val(k.publicKeyFingerprintSha256), "");
            assert.equal(await val(k.privateKeyOpenssh), "");
            // and a P-224 CA still works (ecdsa-with-SHA256, like Go)
            const ca = new tls.SelfSignedCert("p224-ca", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "p224" },
                isCaCertificate: true,
                validityPeriodHours: 1,
                allowedUses: ["cert_signing"],
            });
            const p = parseCert(await val(ca.certPem));
            assert.equal(p.ecCurve, "P-224");
            assert.equal(p.signatureAlgorithm, "ecdsa-with-SHA256");
            assert.ok(p.node.verify(p.node.publicKey));
        });

        it("ECDSA P-256 and ED25519 OpenSSH encodings", async () => {
            await checkOpenssh(new tls.PrivateKey("ec256", { algorithm: "ECDSA", ecdsaCurve: "P256" }));
            await checkOpenssh(new tls.PrivateKey("ed", { algorithm: "ED25519" }));
        });

        it("getPublicKey invoke agrees with the key resource", async () => {
            const k = new tls.PrivateKey("for-invoke", { algorithm: "ECDSA", ecdsaCurve: "P384" });
            const r = tls.getPublicKeyOutput({ privateKeyPem: k.privateKeyPem });
            assert.equal(await val(r.publicKeyPem), await val(k.publicKeyPem));
            assert.equal(await val(r.publicKeyFingerprintSha256), await val(k.publicKeyFingerprintSha256));
            assert.equal(await val(r.id), await val(k.id));
            assert.equal(await val(r.algorithm), "ECDSA");
        });
    });

    describe("provider validation errors fail the resource", () => {
        let em: TlsEmulator;
        before(() => (em = setupMocks()));

        async function rejects(o: pulumi.Output<unknown>, re: RegExp) {
            await assert.rejects(val(o), (e: Error) => re.test(e.message) || assert.fail(`unexpected error: ${e.message}`));
        }

        it("rejects an allowedUses value that is not a provider usage (camelCase from the SDK docs)", async () => {
            const k = new tls.PrivateKey("v-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const cert = new tls.SelfSignedCert("v-camel", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "x" },
                validityPeriodHours: 1,
                allowedUses: ["digital_signature", "serverAuth"],
            });
            await rejects(cert.certPem, /allowed_uses\[1\] value must be one of: .*"\\"server_auth\\"".*got: "\\"serverAuth\\""/);
            assert.match(em.find("v-camel")!.error!, /has a problem: Attribute allowed_uses\[1\]/, "failed registrations are recorded");
        });

        it("rejects a CA with an empty subject", async () => {
            const k = new tls.PrivateKey("v-key2", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const noSubject = new tls.SelfSignedCert("v-nosubject", {
                privateKeyPem: k.privateKeyPem,
                isCaCertificate: true,
                validityPeriodHours: 1,
                allowedUses: ["cert_signing"],
            });
            await rejects(noSubject.certPem, /Invalid Certificate Subject: Must contain at least one Distinguished Name/);
            const emptySubject = new tls.SelfSignedCert("v-emptysubject", {
                privateKeyPem: k.privateKeyPem,
                subject: {},
                isCaCertificate: true,
                validityPeriodHours: 1,
                allowedUses: ["cert_signing"],
            });
            await rejects(emptySubject.certPem, /Invalid Certificate Subject/);
        });

        it("rejects maxPathLength on a leaf (Go: only CAs are allowed to specify MaxPathLen), 0 and -1 are fine", async () => {
            const k = new tls.PrivateKey("v-key3", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const mk = (name: string, maxPathLength: number) =>
                new tls.SelfSignedCert(name, {
                    privateKeyPem: k.privateKeyPem,
                    subject: { commonName: name },
                    validityPeriodHours: 1,
                    maxPathLength,
                    allowedUses: ["server_auth"],
                });
            await rejects(mk("v-leaf-pathlen", 2).certPem, /Failed to create certificate: x509: only CAs are allowed to specify MaxPathLen/);
            assert.equal(parseCert(await val(mk("v-leaf-pathlen0", 0).certPem)).pathLen, undefined);
            assert.equal(parseCert(await val(mk("v-leaf-pathlen-1", -1).certPem)).isCA, false);
        });

        it("rejects bad IPs, bad keys, a CA key that does not match the CA cert, small RSA keys, bad curves", async () => {
            const k = new tls.PrivateKey("v-key4", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const other = new tls.PrivateKey("v-key5", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const badIp = new tls.CertRequest("v-badip", { privateKeyPem: k.privateKeyPem, ipAddresses: ["10.0.0.256"] });
            await rejects(badIp.certRequestPem, /Invalid IP address: Failed to parse "10.0.0.256"/);
            const badKey = new tls.CertRequest("v-badkey", { privateKeyPem: "not a pem" });
            await rejects(badKey.certRequestPem, /Failed to parse private key PEM/);
            const ca = new tls.SelfSignedCert("v-ca", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "v-ca" },
                isCaCertificate: true,
                validityPeriodHours: 1,
                allowedUses: ["cert_signing"],
            });
            const csr = new tls.CertRequest("v-csr", { privateKeyPem: other.privateKeyPem, subject: { commonName: "x" } });
            const wrongKey = new tls.LocallySignedCert("v-wrongkey", {
                certRequestPem: csr.certRequestPem,
                caCertPem: ca.certPem,
                caPrivateKeyPem: other.privateKeyPem,
                validityPeriodHours: 1,
                allowedUses: ["client_auth"],
            });
            await rejects(wrongKey.certPem, /x509: provided PrivateKey doesn't match parent's PublicKey/);
            await rejects(new tls.PrivateKey("v-rsa512", { algorithm: "RSA", rsaBits: 512 }).privateKeyPem, /512-bit keys are insecure/);
            await rejects(new tls.PrivateKey("v-p192", { algorithm: "ECDSA", ecdsaCurve: "P192" }).privateKeyPem, /ecdsa_curve value must be one of/);
            const neither = new tls.SelfSignedCert("v-nokey", { validityPeriodHours: 1, allowedUses: [] });
            await rejects(neither.certPem, /Exactly one of these attributes must be configured: \[private_key_pem,private_key_pem_wo\]/);
        });

        it("warns (only) when the issuing certificate is not a CA", async () => {
            const em = setupMocks();
            const k = new tls.PrivateKey("w-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const notCa = new tls.SelfSignedCert("w-notca", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "not a ca" },
                validityPeriodHours: 1,
                allowedUses: ["server_auth"],
            });
            const csr = new tls.CertRequest("w-csr", { privateKeyPem: k.privateKeyPem, subject: { commonName: "y" } });
            const leaf = new tls.LocallySignedCert("w-leaf", {
                certRequestPem: csr.certRequestPem,
                caCertPem: notCa.certPem,
                caPrivateKeyPem: k.privateKeyPem,
                validityPeriodHours: 1,
                allowedUses: ["client_auth"],
            });
            await val(leaf.certPem);
            assert.equal(em.warnings.length, 1);
            assert.equal(em.warnings[0].summary, "Potentially Invalid Certificate Authority");
        });
    });

    describe("key identifiers and path length", () => {
        before(() => setupMocks());

        it("setAuthorityKeyId on a self-signed CA copies its own SKID; without a SKID it is an error", async () => {
            const k = new tls.PrivateKey("kid-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const ca = new tls.SelfSignedCert("kid-ca", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "kid" },
                isCaCertificate: true,
                setAuthorityKeyId: true,
                validityPeriodHours: 1,
                allowedUses: ["cert_signing", "crl_signing"],
            });
            const p = parseCert(await val(ca.certPem));
            assert.ok(p.skid);
            assert.equal(p.akid, p.skid);
            assert.deepEqual(p.keyUsage, ["cert_signing", "crl_signing"]);
            assert.ok(opensslVerify([await val(ca.certPem)], await val(ca.certPem)).ok);
            const leafNoSkid = new tls.SelfSignedCert("kid-leaf", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "kid-leaf" },
                setAuthorityKeyId: true,
                validityPeriodHours: 1,
                allowedUses: ["server_auth"],
            });
            await assert.rejects(val(leafNoSkid.certPem), /Could not determine Authority Key Identifier/);
        });

        it("setSubjectKeyId on a leaf: SHA-1 of the subjectPublicKey bits", async () => {
            const k = new tls.PrivateKey("skid-key", { algorithm: "RSA", rsaBits: 2048 });
            const leaf = new tls.SelfSignedCert("skid-leaf", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "skid" },
                setSubjectKeyId: true,
                validityPeriodHours: 1,
                allowedUses: ["server_auth"],
            });
            const p = parseCert(await val(leaf.certPem));
            const spki = children(decode(crypto.createPublicKey(await val(k.publicKeyPem)).export({ type: "spki", format: "der" }) as Buffer));
            assert.equal(p.skid, crypto.createHash("sha1").update(spki[1].value.subarray(1)).digest("hex"));
            assert.equal(p.isCA, false);
        });

        it("maxPathLength 0 on a CA emits no pathlen constraint (MaxPathLenZero is never set); 1 emits pathlen:1", async () => {
            const k = new tls.PrivateKey("pl-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const mk = (name: string, maxPathLength: number) =>
                new tls.SelfSignedCert(name, {
                    privateKeyPem: k.privateKeyPem,
                    subject: { commonName: name },
                    isCaCertificate: true,
                    maxPathLength,
                    validityPeriodHours: 1,
                    allowedUses: ["cert_signing"],
                });
            const zero = await val(mk("pl-0", 0).certPem);
            assert.equal(parseCert(zero).pathLen, undefined);
            assert.match(opensslText(zero), /CA:TRUE\n/);
            const one = await val(mk("pl-1", 1).certPem);
            assert.equal(parseCert(one).pathLen, 1);
            assert.match(opensslText(one), /CA:TRUE, pathlen:1/);
        });
    });

    describe("renewal, state and the injected clock", () => {
        let em: TlsEmulator;
        const program = () => {
            const k = new tls.PrivateKey("r-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const ca = new tls.SelfSignedCert("r-ca", {
                privateKeyPem: k.privateKeyPem,
                subject: { commonName: "r-ca" },
                isCaCertificate: true,
                validityPeriodHours: 100,
                earlyRenewalHours: 10,
                allowedUses: ["cert_signing"],
            });
            const csr = new tls.CertRequest("r-csr", { privateKeyPem: k.privateKeyPem, subject: { commonName: "r-leaf" } });
            const leaf = new tls.LocallySignedCert("r-leaf", {
                certRequestPem: csr.certRequestPem,
                caCertPem: ca.certPem,
                caPrivateKeyPem: k.privateKeyPem,
                validityPeriodHours: 1000,
                earlyRenewalHours: 1000,
                allowedUses: ["client_auth"],
            });
            return { k, ca, csr, leaf };
        };

        it("readyForRenewal is planned true when earlyRenewalHours >= validityPeriodHours", async () => {
            em = setupMocks({ now: () => T0 });
            const p = program();
            assert.equal(await val(p.ca.readyForRenewal), false);
            assert.equal(await val(p.leaf.readyForRenewal), true);
            assert.equal(await val(p.ca.validityStartTime), "2030-01-01T00:00:00.25Z");
        });

        it("a later run keeps unchanged resources, replaces a certificate once its early-renewal time is reached", async () => {
            em = setupMocks({ now: () => T0 });
            const first = program();
            const caPem1 = await val(first.ca.certPem);
            const keyPem1 = await val(first.k.privateKeyPem);
            await val(first.leaf.certPem);

            em.advanceHours(89).install(); // before NotAfter - earlyRenewalHours = T0 + 90h
            const second = program();
            assert.equal(await val(second.ca.certPem), caPem1);
            assert.equal(await val(second.k.privateKeyPem), keyPem1);
            await val(second.leaf.certPem);
            assert.equal(em.find("r-ca")!.op, "same");
            assert.equal(em.find("r-key")!.op, "same");
            assert.equal(em.find("r-leaf")!.op, "replace", "earlyRenewalHours >= validity: always due");

            em.refresh();
            assert.equal(em.state.get(em.find("r-ca")!.urn)!.outputs.readyForRenewal, false);
            em.advanceHours(1).refresh(); // T0 + 90h: due
            assert.equal(em.state.get(em.find("r-ca")!.urn)!.outputs.readyForRenewal, true, "refresh flips readyForRenewal");

            em.install(true); // pulumi preview at T0 + 90h
            const preview = program();
            assert.equal(await isKnown(preview.ca.certPem), false, "the replacement's certPem is unknown in preview");
            assert.equal(await isKnown(preview.leaf.certPem), false);
            assert.equal(await val(preview.k.privateKeyPem), keyPem1, "unchanged resources keep their outputs in preview");
            assert.deepEqual(em.find("r-ca")!.reasons, ["readyForRenewal"]);
            assert.equal(em.find("r-leaf")!.op, "replace");
            assert.ok(em.find("r-leaf")!.unknownInputs.includes("caCertPem"));

            em.install(); // pulumi up at T0 + 90h
            const third = program();
            const caPem3 = await val(third.ca.certPem);
            assert.notEqual(caPem3, caPem1);
            assert.equal(await val(third.ca.validityStartTime), "2030-01-04T18:00:00.25Z");
            assert.equal(await val(third.ca.readyForRenewal), false);
            checkIssuedBy(await val(third.leaf.certPem), caPem3);
            assert.deepEqual(em.find("r-leaf")!.reasons, ["caCertPem"], "a new CA cert replaces what it signed");
            assert.equal(em.find("r-csr")!.op, "same");
        });

        it("earlyRenewalHours is updated in place; other inputs force a replacement", async () => {
            em = setupMocks({ now: () => T0 });
            const mk = (early: number, cn: string) => {
                const k = new tls.PrivateKey("u-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
                return new tls.SelfSignedCert("u-cert", {
                    privateKeyPem: k.privateKeyPem,
                    subject: { commonName: cn },
                    validityPeriodHours: 100,
                    earlyRenewalHours: early,
                    allowedUses: ["server_auth"],
                });
            };
            const pem1 = await val(mk(1, "a").certPem);
            em.install();
            const c2 = mk(2, "a");
            assert.equal(await val(c2.certPem), pem1);
            assert.equal(await val(c2.earlyRenewalHours), 2);
            assert.equal(em.find("u-cert")!.op, "update");
            em.install();
            const c3 = mk(2, "b");
            assert.notEqual(await val(c3.certPem), pem1);
            assert.deepEqual(em.find("u-cert")!.reasons, ["subject"]);
        });
    });

    describe("preview mode", () => {
        it("unknown inputs do not crash; computed outputs are unknown, planned ones known", async () => {
            const em = setupMocks({ preview: true });
            const c = chain("pv", { algorithm: "ECDSA", ecdsaCurve: "P384" }, { algorithm: "RSA" });
            assert.equal(await isKnown(c.caKey.privateKeyPem), false);
            assert.equal(await isKnown(c.caKey.id), false);
            assert.equal(await val(c.caKey.ecdsaCurve), "P384");
            assert.equal(await isKnown(c.ca.certPem), false);
            assert.equal(await isKnown(c.ca.validityEndTime), false);
            assert.equal(await val(c.ca.readyForRenewal), false);
            assert.equal(await val(c.ca.isCaCertificate), true);
            assert.equal(await isKnown(c.leaf.certPem), false);
            assert.equal(await val(c.leaf.readyForRenewal), false);
            assert.equal(em.resources.length, 5);
            assert.ok(em.resources.every((r) => r.op === "create" && r.preview));
            assert.ok(em.find("pv-ca")!.unknownInputs.includes("privateKeyPem"));
            assert.equal(em.state.size, 0, "a preview persists nothing");
            assert.equal(await pulumi.isSecret(c.caKey.privateKeyPem), true);
        });

        it("validation still runs in preview", async () => {
            setupMocks({ preview: true });
            const k = new tls.PrivateKey("pv-bad", { algorithm: "DSA" });
            await assert.rejects(val(k.privateKeyPem), /algorithm value must be one of/);
        });
    });

    describe("other resources", () => {
        it("are echoed (outputs = inputs, id = name-id), secrets stay secret; register() adds emulations", async () => {
            const em = setupMocks();
            class Secret extends pulumi.CustomResource {
                declare readonly data: pulumi.Output<Record<string, string>>;
                declare readonly metadata: pulumi.Output<{ name: string }>;
                constructor(name: string, args: Record<string, pulumi.Input<any>>) {
                    super("kubernetes:core/v1:Secret", name, { ...args });
                }
            }
            const secret = new Secret("s", { metadata: { name: "ca" }, data: pulumi.secret({ "tls.key": "c2VjcmV0" }) });
            assert.equal(await val(secret.id), "s-id");
            assert.deepEqual(await val(secret.data), { "tls.key": "c2VjcmV0" });
            assert.equal(await pulumi.isSecret(secret.data), true, "a secret input stays secret in the echoed output");
            assert.equal((await val(secret.metadata)).name, "ca");
            const rec = em.find("s")!;
            assert.equal(rec.id, "s-id");
            assert.deepEqual(rec.inputs.data, { "tls.key": "c2VjcmV0" }, "recorded inputs are unwrapped");

            em.register("vault:index/thing:Thing", (ctx) => ({ id: "v-1", state: { ...ctx.rawInputs, computed: "yes" } }));
            class Thing extends pulumi.CustomResource {
                declare readonly computed: pulumi.Output<string>;
                constructor(name: string) {
                    super("vault:index/thing:Thing", name, { input: 1, computed: undefined });
                }
            }
            const t = new Thing("t");
            assert.equal(await val(t.computed), "yes");
            assert.equal(await val(t.id), "v-1");
        });

        it("records engine URNs with the full parent type chain (the mock monitor keeps only the last parent type)", async () => {
            const em = setupMocks();
            class Outer extends pulumi.ComponentResource {
                constructor(name: string) {
                    super("kube-pki:index:Outer", name);
                    const inner = new Inner(`${name}-inner`, { parent: this });
                    this.registerOutputs({ key: inner.key.publicKeyPem });
                }
            }
            class Inner extends pulumi.ComponentResource {
                readonly key: tls.PrivateKey;
                constructor(name: string, opts: pulumi.ComponentResourceOptions) {
                    super("kube-pki:index:Inner", name, {}, opts);
                    this.key = new tls.PrivateKey(`${name}-key`, { algorithm: "ED25519" }, { parent: this });
                }
            }
            const o = new Outer("o");
            await val(o.urn);
            const k = await new Promise<RecordedResource>((resolve) => {
                const poll = () => (em.find("o-inner-key") ? resolve(em.find("o-inner-key")!) : setTimeout(poll, 5));
                poll();
            });
            assert.equal(k.urn, "urn:pulumi:test::kube-pki::kube-pki:index:Outer$kube-pki:index:Inner$tls:index/privateKey:PrivateKey::o-inner-key");
            assert.equal(k.mockUrn, "urn:pulumi:test::kube-pki::kube-pki:index:Inner$tls:index/privateKey:PrivateKey::o-inner-key");
            assert.equal(em.find("o-inner")!.custom, false, "components are registered too (custom: false)");
        });

        it("models the engine options replacementTrigger, replaceWith, ignoreChanges and replaceOnChanges", async () => {
            const em = setupMocks({ now: () => T0 });
            class Echo extends pulumi.CustomResource {
                constructor(name: string, args: Record<string, pulumi.Input<any>>, opts?: pulumi.CustomResourceOptions) {
                    super("kubernetes:core/v1:ConfigMap", name, args, opts);
                }
            }
            const program = (generation: number, label: string) => {
                const key = new tls.PrivateKey("rt-key", { algorithm: "ECDSA", ecdsaCurve: "P256" }, { replacementTrigger: `gen-${generation}` });
                const bundle = new Echo("rt-bundle", { data: key.publicKeyPem, label }, { replaceWith: [key], ignoreChanges: ["label"] });
                const other = new Echo("rt-other", { spec: label }, { replaceOnChanges: ["spec"] });
                return Promise.all([val(key.privateKeyPem), val(bundle.id), val(other.id)]);
            };
            const [pem1] = await program(1, "a");
            em.install();
            const [pem2] = await program(1, "b");
            assert.equal(pem2, pem1);
            assert.equal(em.find("rt-key")!.op, "same");
            assert.equal(em.find("rt-bundle")!.op, "same", "label is in ignoreChanges");
            assert.equal(em.find("rt-other")!.op, "replace", "replaceOnChanges: spec");
            em.install();
            const [pem3] = await program(2, "b");
            assert.notEqual(pem3, pem1);
            assert.deepEqual(em.find("rt-key")!.reasons, ["replacementTrigger"]);
            const bundle = em.find("rt-bundle")!;
            assert.equal(bundle.op, "replace");
            assert.deepEqual(bundle.reasons, ["data", `replaceWith:${em.find("rt-key")!.urn}`]);
            assert.equal(em.find("rt-other")!.op, "same");
        });

        it("StackReference outputs come from setStackOutputs (secret names stay secret)", async () => {
            const em = setupMocks();
            em.setStackOutputs("org/kube-pki/root", { caCertPem: "PEM", intermediateKey: "KEY" }, ["intermediateKey"]);
            const ref = new pulumi.StackReference("org/kube-pki/root");
            assert.equal(await val(ref.getOutput("caCertPem")), "PEM");
            const key = ref.getOutput("intermediateKey");
            assert.equal(await val(key), "KEY");
            assert.equal(await pulumi.isSecret(key), true);
        });
    });

    describe("byte-for-byte against Go's crypto/x509 (test/support/go-oracle)", function () {
        this.timeout(180_000);
        let oracle: string | undefined;
        let tmp: string;
        before(function () {
            const go = spawnSync("go", ["version"], { encoding: "utf8" });
            if (go.status !== 0) return this.skip();
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-go-oracle-"));
            oracle = path.join(tmp, "oracle");
            const b = spawnSync("go", ["build", "-o", oracle, "main.go"], {
                cwd: path.join(__dirname, "support", "go-oracle"),
                encoding: "utf8",
                env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "", GO111MODULE: "on" },
            });
            if (b.status !== 0) throw new Error(`go build failed: ${b.stderr}`);
        });
        after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

        function goRun(req: Record<string, unknown>): Buffer {
            const r = spawnSync(oracle!, [], { input: JSON.stringify(req), encoding: "utf8" });
            const out = JSON.parse(r.stdout);
            if (out.error) throw new Error(`go: ${out.error}`);
            return Buffer.from(out.der, "base64");
        }
        const der = (pem: string) => Buffer.from(pem.split("\n").filter((l) => l && !l.startsWith("-----")).join(""), "base64");
        const tbs = (d: Buffer) => children(decode(d))[0].raw;

        const subject = {
            commonName: "*.kube & co",
            organization: "system:masters",
            organizationalUnit: "ops_team",
            streetAddresses: ["zz street", "aa street", "ünïcode"],
            locality: "Berlin",
            province: "BE",
            country: "DE",
            postalCode: "10115",
            serialNumber: "42",
            emailAddress: "pki@example.com",
        };
        const sans = {
            dnsNames: ["a.example", "b.example"],
            ipAddresses: ["10.0.0.1", "::ffff:192.0.2.1", "2001:db8::1", "::1.2.3.4"],
            uris: ["spiffe://cluster.local/ns/a/sa/b"],
        };

        it("self-signed RSA CA with every subject field, SAN kind and usage: identical DER", async () => {
            setupMocks({ now: () => T0 });
            const k = new tls.PrivateKey("go-rsa", { algorithm: "RSA", rsaBits: 2048 });
            const args = {
                subject,
                ...sans,
                isCaCertificate: true,
                maxPathLength: 3,
                setAuthorityKeyId: true,
                validityPeriodHours: 200000, // NotAfter after 2050: GeneralizedTime
                allowedUses: ["digital_signature", "cert_signing", "decipher_only", "server_auth", "any_extended", "server_auth"],
            };
            const ca = new tls.SelfSignedCert("go-rsa-ca", { privateKeyPem: k.privateKeyPem, ...args });
            const pem = await val(ca.certPem);
            const go = goRun({ op: "self", privateKeyPem: await val(k.privateKeyPem), ...args, serial: await val(ca.id), notBeforeUnixMs: T0.getTime() });
            assert.equal(der(pem).toString("hex"), go.toString("hex"));
        });

        it("RSA CSR and a leaf signed from an ECDSA CSR by an RSA CA: identical DER", async () => {
            setupMocks({ now: () => T0 });
            const caKey = new tls.PrivateKey("go-ca-key", { algorithm: "RSA", rsaBits: 2048 });
            const ca = new tls.SelfSignedCert("go-ca", {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: "kubernetes" },
                isCaCertificate: true,
                validityPeriodHours: 87600,
                allowedUses: CA_USES,
            });
            const rsaCsr = new tls.CertRequest("go-rsa-csr", { privateKeyPem: caKey.privateKeyPem, subject, ...sans });
            const goCsr = goRun({ op: "csr", privateKeyPem: await val(caKey.privateKeyPem), subject, ...sans });
            assert.equal(der(await val(rsaCsr.certRequestPem)).toString("hex"), goCsr.toString("hex"));

            const lk = new tls.PrivateKey("go-leaf-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const csr = new tls.CertRequest("go-leaf-csr", { privateKeyPem: lk.privateKeyPem, subject, ...sans });
            const leafArgs = { validityPeriodHours: 8760, allowedUses: LEAF_USES, setSubjectKeyId: true };
            const leaf = new tls.LocallySignedCert("go-leaf", {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: ca.certPem,
                ...leafArgs,
            });
            const go = goRun({
                op: "local",
                certRequestPem: await val(csr.certRequestPem),
                caPrivateKeyPem: await val(caKey.privateKeyPem),
                caCertPem: await val(ca.certPem),
                ...leafArgs,
                serial: await val(leaf.id),
                notBeforeUnixMs: T0.getTime(),
            });
            assert.equal(der(await val(leaf.certPem)).toString("hex"), go.toString("hex"));
        });

        it("no subject, SANs only, no usages (critical SAN, basicConstraints only): identical DER", async () => {
            setupMocks({ now: () => T0 });
            const k = new tls.PrivateKey("go-nosub", { algorithm: "RSA", rsaBits: 2048 });
            const args = { ...sans, validityPeriodHours: 1, allowedUses: [] as string[] };
            const c = new tls.SelfSignedCert("go-nosub-cert", { privateKeyPem: k.privateKeyPem, ...args });
            const pem = await val(c.certPem);
            const go = goRun({ op: "self", privateKeyPem: await val(k.privateKeyPem), ...args, serial: await val(c.id), notBeforeUnixMs: T0.getTime() });
            assert.equal(der(pem).toString("hex"), go.toString("hex"));
            assert.deepEqual(parseCert(pem).extensions, [
                { oid: "2.5.29.19", critical: true },
                { oid: "2.5.29.17", critical: true },
            ]);
        });

        for (const key of [
            { algorithm: "ECDSA", ecdsaCurve: "P224" },
            { algorithm: "ECDSA", ecdsaCurve: "P521" },
            { algorithm: "ED25519" },
        ] as tls.PrivateKeyArgs[]) {
            it(`${key.algorithm} ${key.ecdsaCurve ?? ""} CA: identical TBSCertificate`, async () => {
                setupMocks({ now: () => T0 });
                const k = new tls.PrivateKey("go-k", key);
                const args = { subject: { commonName: "ca", organization: "o" }, isCaCertificate: true, validityPeriodHours: 10, allowedUses: CA_USES };
                const ca = new tls.SelfSignedCert("go-k-ca", { privateKeyPem: k.privateKeyPem, ...args });
                const go = goRun({ op: "self", privateKeyPem: await val(k.privateKeyPem), ...args, serial: await val(ca.id), notBeforeUnixMs: T0.getTime() });
                assert.equal(tbs(der(await val(ca.certPem))).toString("hex"), tbs(go).toString("hex"));
            });
        }

        it("the same errors for a leaf with maxPathLength", async () => {
            setupMocks({ now: () => T0 });
            const k = new tls.PrivateKey("go-e", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const args = { subject: { commonName: "leaf" }, maxPathLength: 1, validityPeriodHours: 10, allowedUses: ["server_auth"] };
            const c = new tls.SelfSignedCert("go-e-leaf", { privateKeyPem: k.privateKeyPem, ...args });
            await assert.rejects(val(c.certPem), /only CAs are allowed to specify MaxPathLen/);
            assert.throws(() => goRun({ op: "self", privateKeyPem: "", ...args, serial: "1", notBeforeUnixMs: 0 }));
            const pem = await val(k.privateKeyPem);
            assert.throws(() => goRun({ op: "self", privateKeyPem: pem, ...args, serial: "1", notBeforeUnixMs: 0 }), /only CAs are allowed to specify MaxPathLen/);
        });
    });
});

function checkIssuedBy(leafPem: string, caPem: string) {
    const leaf = new crypto.X509Certificate(leafPem);
    const ca = new crypto.X509Certificate(caPem);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
}

async function checkOpenssh(k: tls.PrivateKey) {
    const [priv, pub, sha256, md5] = await Promise.all([
        val(k.privateKeyOpenssh),
        val(k.publicKeyOpenssh),
        val(k.publicKeyFingerprintSha256),
        val(k.publicKeyFingerprintMd5),
    ]);
    assert.match(priv, pemStart("OPENSSH PRIVATE KEY"));
    assert.match(pub, /^(ssh-rsa|ecdsa-sha2-nistp\d+|ssh-ed25519) [A-Za-z0-9+/=]+\n$/);
    assert.match(md5, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    if (spawnSync("ssh-keygen", ["-?"]).error) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-ssh-"));
    try {
        const f = path.join(dir, "id");
        fs.writeFileSync(f, priv, { mode: 0o600 });
        const derived = spawnSync("ssh-keygen", ["-y", "-f", f], { encoding: "utf8" });
        assert.equal(derived.status, 0, derived.stderr);
        assert.equal(derived.stdout.trim(), pub.trim(), "ssh-keygen derives the same public key from privateKeyOpenssh");
        fs.writeFileSync(`${f}.pub`, pub);
        const fp = spawnSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${f}.pub`], { encoding: "utf8" });
        assert.ok(fp.stdout.includes(sha256), `${fp.stdout} has ${sha256}`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
