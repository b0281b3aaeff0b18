/**
 * The CrossGuard pack's policies (policy/policies.ts), each both ways: a violation and a pass. @pulumi/policy ships
 * no test harness; its documented way is to call a policy's validateResource / validateStack with the args the
 * analyzer would pass. The helpers below build them as @pulumi/policy's server.js does: properties
 * under its unknown-checking proxy, stack resources linked by parent and property dependencies. e2e step "policy"
 * runs the same pack on the real engine.
 */
import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    caCertSigning,
    caKeySecret,
    caMaxLifetime,
    caRotationStaged,
    DEFAULTS,
    earlyRenewal,
    keyStrength,
    leafCertSigning,
    leafMaxLifetime,
    leafOutlivesCa,
    plainKeyOutput,
    type PolicyResource,
    POLICIES,
    type ResourceValidationPolicy,
    SECRET_PATHS,
    serverCertSans,
    type StackValidationPolicy,
    systemMasters,
    T,
    vaultDurationHours,
} from "../policy/policies";
import { installSecretMarkers } from "../policy/secret-markers";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy");
const UNKNOWN_STRING: string = proxy.unknownStringValue;
const UNKNOWN_NUMBER: string = proxy.unknownNumberValue;

type Props = Record<string, any>;

function resourceViolations(policy: ResourceValidationPolicy, type: string, props: Props, config: object = {}): string[] {
    const out: string[] = [];
    const validations = [policy.validateResource].flat().filter((v) => v !== undefined);
    for (const v of validations) {
        void v(
            {
                type,
                props: proxy.unknownCheckingProxy(props),
                urn: `urn:pulumi:test::test::${type}::r`,
                name: "r",
                opts: {} as any,
                stackTags: new Map(),
                isType: () => false,
                asType: () => undefined,
                getConfig: <C extends object>() => config as C,
                notApplicable: () => {
                    throw new Error("not applicable");
                },
            },
            (message: string) => out.push(message),
        );
    }
    return out;
}

interface R {
    type: string;
    name: string;
    props: Props;
    parent?: string;
    deps?: Record<string, string[]>;
}

function stackViolations(policy: StackValidationPolicy, rs: R[], config: object = {}): { message: string; urn?: string }[] {
    const urn = (r: R) => `urn:pulumi:test::test::${r.type}::${r.name}`;
    const made = new Map<string, PolicyResource>();
    for (const r of rs) {
        made.set(r.name, {
            type: r.type,
            name: r.name,
            urn: urn(r),
            props: proxy.unknownCheckingProxy(r.props),
            opts: {} as any,
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        });
    }
    for (const r of rs) {
        const m = made.get(r.name)!;
        if (r.parent) m.parent = made.get(r.parent);
        for (const [k, names] of Object.entries(r.deps ?? {})) m.propertyDependencies[k] = names.map((n) => made.get(n)!);
        m.dependencies = Object.values(m.propertyDependencies).flat();
    }
    const out: { message: string; urn?: string }[] = [];
    void policy.validateStack(
        {
            resources: [...made.values()],
            stackTags: new Map(),
            getConfig: <C extends object>() => config as C,
            notApplicable: () => {
                throw new Error("not applicable");
            },
        },
        (message: string, u?: string) => out.push({ message, urn: u }),
    );
    return out;
}

const CA_USES = ["digital_signature", "key_encipherment", "cert_signing"];
const ca = (name: string, extra: Props = {}): R => ({
    type: T.selfSigned,
    name,
    props: { isCaCertificate: true, validityPeriodHours: 87600, earlyRenewalHours: 2160, allowedUses: CA_USES, subject: { commonName: name }, ...extra },
    deps: { privateKeyPem: [`${name}-key`] },
});
const key = (name: string, extra: Props = {}): R => ({ type: T.privateKey, name, props: { algorithm: "RSA", rsaBits: 2048, ...extra } });
const csr = (name: string, subject: Props, extra: Props = {}): R => ({ type: T.certRequest, name, props: { subject, ...extra } });
const leaf = (name: string, caName: string, csrName: string, extra: Props = {}): R => ({
    type: T.locallySigned,
    name,
    props: { isCaCertificate: false, validityPeriodHours: 8760, earlyRenewalHours: 720, allowedUses: ["digital_signature", "key_encipherment", "client_auth"], ...extra },
    deps: { caCertPem: [caName], caPrivateKeyPem: [`${caName}-key`], certRequestPem: [csrName] },
});

describe("policy pack (policy/)", () => {
    it("has twelve policies with unique names, each with a default enforcement level", () => {
        assert.equal(POLICIES.length, 12);
        assert.equal(new Set(POLICIES.map((p) => p.name)).size, 12);
        for (const p of POLICIES) assert.ok(["mandatory", "advisory"].includes(p.enforcementLevel!), p.name);
        assert.deepEqual(POLICIES.filter((p) => p.enforcementLevel === "advisory").map((p) => p.name), ["pki-early-renewal", "pki-ca-rotation-staged"]);
    });

    describe("pki-key-strength", () => {
        it("flags RSA 1024 and the tls provider's default ECDSA curve (P-224), and Vault ec 224", () => {
            assert.match(resourceViolations(keyStrength, T.privateKey, { algorithm: "RSA", rsaBits: 1024 })[0], /RSA key of 1024 bits/);
            assert.match(resourceViolations(keyStrength, T.privateKey, { algorithm: "ECDSA" })[0], /curve P224 \(the tls provider's default/);
            assert.match(resourceViolations(keyStrength, T.privateKey, { algorithm: "ECDSA", ecdsaCurve: "P224" })[0], /curve P224;/);
            assert.match(resourceViolations(keyStrength, T.vaultRole, { keyType: "ec", keyBits: 224 })[0], /key_bits 224/);
            assert.match(resourceViolations(keyStrength, T.vaultRoot, { type: "internal", keyType: "rsa", keyBits: 1024 })[0], /key_bits 1024/);
        });
        it("passes RSA 2048 (also by default), P-256, ED25519, Vault defaults, and honours minRsaBits", () => {
            assert.deepEqual(resourceViolations(keyStrength, T.privateKey, { algorithm: "RSA" }), []);
            assert.deepEqual(resourceViolations(keyStrength, T.privateKey, { algorithm: "ECDSA", ecdsaCurve: "P256" }), []);
            assert.deepEqual(resourceViolations(keyStrength, T.privateKey, { algorithm: "ED25519" }), []);
            assert.deepEqual(resourceViolations(keyStrength, T.privateKey, { algorithm: "ECDSA", ecdsaCurve: UNKNOWN_STRING }), []);
            assert.deepEqual(resourceViolations(keyStrength, T.vaultIntermediateCsr, { type: "internal" }), []);
            assert.deepEqual(resourceViolations(keyStrength, T.vaultRoot, { type: "existing", keyBits: 1024 }), []);
            assert.equal(resourceViolations(keyStrength, T.privateKey, { algorithm: "RSA", rsaBits: 2048 }, { minRsaBits: 3072 }).length, 1);
        });
    });

    describe("pki-leaf-max-lifetime / pki-ca-max-lifetime", () => {
        it("flags a 10-year leaf and a 20-year CA (tls and Vault durations)", () => {
            assert.match(resourceViolations(leafMaxLifetime, T.locallySigned, { isCaCertificate: false, validityPeriodHours: 87600 })[0], /87600h .* maximum is 8760h/);
            assert.match(resourceViolations(leafMaxLifetime, T.vaultCert, { ttl: "9000h" })[0], /9000h \(ttl\)/);
            assert.match(resourceViolations(leafMaxLifetime, T.vaultRole, { maxTtl: "31622400" })[0], /8784h/);
            assert.match(resourceViolations(caMaxLifetime, T.selfSigned, { isCaCertificate: true, validityPeriodHours: 175200 })[0], /175200h .* maximum is 87600h/);
            assert.match(resourceViolations(caMaxLifetime, T.vaultRoot, { ttl: "3700d" })[0], /88800h/);
        });
        it("passes kubeadm's 8760 h leaf and 87600 h CA, unknown validities, and a raised leafMaxHours", () => {
            assert.deepEqual(resourceViolations(leafMaxLifetime, T.locallySigned, { isCaCertificate: false, validityPeriodHours: 8760 }), []);
            assert.deepEqual(resourceViolations(leafMaxLifetime, T.locallySigned, { isCaCertificate: false, validityPeriodHours: UNKNOWN_NUMBER }), []);
            assert.deepEqual(resourceViolations(leafMaxLifetime, T.selfSigned, { isCaCertificate: true, validityPeriodHours: 87600 }), []);
            assert.deepEqual(resourceViolations(caMaxLifetime, T.selfSigned, { isCaCertificate: true, validityPeriodHours: 87600 }), []);
            assert.deepEqual(resourceViolations(caMaxLifetime, T.selfSigned, { isCaCertificate: false, validityPeriodHours: 175200 }), []);
            assert.deepEqual(resourceViolations(leafMaxLifetime, T.locallySigned, { validityPeriodHours: 17520 }, { leafMaxHours: 17520 }), []);
        });
        it("reads Vault durations (seconds, h, d, compound)", () => {
            assert.equal(vaultDurationHours("86400"), 24);
            assert.equal(vaultDurationHours("1h30m"), 1.5);
            assert.equal(vaultDurationHours("2d"), 48);
            assert.equal(vaultDurationHours("soon"), undefined);
            assert.equal(vaultDurationHours(UNKNOWN_STRING), undefined);
        });
    });

    describe("pki-leaf-outlives-ca", () => {
        it("flags a leaf planned to outlive its CA (planned hours, or the CA's known validityEndTime)", () => {
            const v = stackViolations(leafOutlivesCa, [key("ca-key"), ca("ca", { validityPeriodHours: 1000 }), csr("c", { commonName: "x" }), leaf("l", "ca", "c")]);
            assert.equal(v.length, 1);
            assert.match(v[0].message, /^l would expire .* after its CA ca/);
            const soon = new Date(Date.now() + 10 * 3_600_000).toISOString();
            assert.equal(stackViolations(leafOutlivesCa, [key("ca-key"), ca("ca", { validityEndTime: soon }), csr("c", {}), leaf("l", "ca", "c", { validityPeriodHours: 24 })]).length, 1);
        });
        it("passes a leaf inside its CA's life, and a leaf whose validity is not known yet (kube-pki caps it)", () => {
            assert.deepEqual(stackViolations(leafOutlivesCa, [key("ca-key"), ca("ca"), csr("c", {}), leaf("l", "ca", "c")]), []);
            assert.deepEqual(stackViolations(leafOutlivesCa, [key("ca-key"), ca("ca", { validityPeriodHours: 10 }), csr("c", {}), leaf("l", "ca", "c", { validityPeriodHours: UNKNOWN_NUMBER })]), []);
        });
    });

    describe("pki-system-masters", () => {
        const rs = (leafName: string, parent?: string): R[] => [
            ...(parent ? [{ type: "kube-pki:index:LeafCertificate", name: parent, props: {} }] : []),
            key("ca-key"),
            ca("ca"),
            { ...csr(`${leafName}-csr`, { commonName: "admin", organization: "system:masters" }), parent },
            { ...leaf(leafName, "ca", `${leafName}-csr`), parent },
        ];
        it("flags a client cert in system:masters, a self-signed one, and a Vault role", () => {
            const v = stackViolations(systemMasters, rs("admin-cert"));
            assert.equal(v.length, 1);
            assert.match(v[0].message, /admin-cert: client certificate with O=system:masters/);
            const self: R = { type: T.selfSigned, name: "self", props: { subject: { organization: "system:masters" }, allowedUses: ["client_auth"] } };
            assert.equal(stackViolations(systemMasters, [self]).length, 1);
            assert.equal(stackViolations(systemMasters, [{ type: T.vaultRole, name: "role", props: { organizations: ["system:masters"] } }]).length, 1);
        });
        it("passes kube-pki's super-admin.conf (default allow-list, matched on an ancestor), other groups, server certs, an explicit allow-list", () => {
            assert.deepEqual(stackViolations(systemMasters, rs("dev-super-admin.conf-cert", "dev-super-admin.conf")), []);
            const other = [key("ca-key"), ca("ca"), csr("c", { organization: "kubeadm:cluster-admins" }), leaf("l", "ca", "c")];
            assert.deepEqual(stackViolations(systemMasters, other), []);
            const server = [key("ca-key"), ca("ca"), csr("c", { organization: "system:masters" }), leaf("l", "ca", "c", { allowedUses: ["server_auth"] })];
            assert.deepEqual(stackViolations(systemMasters, server), []);
            assert.deepEqual(stackViolations(systemMasters, rs("admin-cert"), { systemMastersAllowList: ["admin-*"] }), []);
            assert.deepEqual(stackViolations(systemMasters, [{ type: T.vaultRole, name: "role", props: { organizations: ["system:masters"], clientFlag: false } }]), []);
        });
    });

    describe("pki-ca-cert-signing / pki-leaf-cert-signing", () => {
        it("flags a CA without cert_signing and a leaf with it (tls and Vault)", () => {
            assert.match(resourceViolations(caCertSigning, T.selfSigned, { isCaCertificate: true, allowedUses: ["digital_signature"] })[0], /without "cert_signing"/);
            assert.match(resourceViolations(caCertSigning, T.vaultRoot, { keyUsages: ["DigitalSignature"] })[0], /lack CertSign/);
            assert.match(resourceViolations(leafCertSigning, T.locallySigned, { isCaCertificate: false, allowedUses: ["server_auth", "cert_signing"] })[0], /leaf certificate with "cert_signing"/);
            assert.equal(resourceViolations(leafCertSigning, T.vaultRole, { keyUsages: ["DigitalSignature", "CertSign"] }).length, 1);
        });
        it("passes kubeadm's CA and leaf usages", () => {
            assert.deepEqual(resourceViolations(caCertSigning, T.selfSigned, { isCaCertificate: true, allowedUses: CA_USES }), []);
            assert.deepEqual(resourceViolations(caCertSigning, T.vaultRoot, {}), []);
            assert.deepEqual(resourceViolations(leafCertSigning, T.locallySigned, { isCaCertificate: false, allowedUses: ["digital_signature", "key_encipherment", "server_auth"] }), []);
            assert.deepEqual(resourceViolations(leafCertSigning, T.selfSigned, { isCaCertificate: true, allowedUses: CA_USES }), []);
        });
    });

    describe("pki-server-cert-sans", () => {
        it("flags a server cert without SANs (on its CSR, or self-signed)", () => {
            const v = stackViolations(serverCertSans, [key("ca-key"), ca("ca"), csr("c", { commonName: "server" }), leaf("l", "ca", "c", { allowedUses: ["server_auth"] })]);
            assert.equal(v.length, 1);
            assert.match(v[0].message, /l: server certificate \(server_auth\) without SANs; set dnsNames\/ipAddresses on its CertRequest/);
            assert.equal(stackViolations(serverCertSans, [{ type: T.selfSigned, name: "s", props: { allowedUses: ["server_auth"], dnsNames: [] } }]).length, 1);
        });
        it("passes a server cert with SANs, one whose SANs are unknown, and client certs", () => {
            assert.deepEqual(stackViolations(serverCertSans, [key("ca-key"), ca("ca"), csr("c", {}, { dnsNames: ["api"] }), leaf("l", "ca", "c", { allowedUses: ["server_auth"] })]), []);
            assert.deepEqual(stackViolations(serverCertSans, [key("ca-key"), ca("ca"), csr("c", {}, { ipAddresses: UNKNOWN_STRING }), leaf("l", "ca", "c", { allowedUses: ["server_auth"] })]), []);
            assert.deepEqual(stackViolations(serverCertSans, [key("ca-key"), ca("ca"), csr("c", {}), leaf("l", "ca", "c")]), []);
        });
    });

    describe("pki-early-renewal", () => {
        it("flags a tls cert without earlyRenewalHours and a Vault cert without autoRenew", () => {
            assert.match(resourceViolations(earlyRenewal, T.locallySigned, { validityPeriodHours: 8760 })[0], /earlyRenewalHours is unset/);
            assert.equal(resourceViolations(earlyRenewal, T.selfSigned, { earlyRenewalHours: 0 }).length, 1);
            assert.match(resourceViolations(earlyRenewal, T.vaultCert, { ttl: "720h" })[0], /autoRenew/);
        });
        it("passes kube-pki's renewBefore as earlyRenewalHours and Vault autoRenew", () => {
            assert.deepEqual(resourceViolations(earlyRenewal, T.locallySigned, { earlyRenewalHours: 720 }), []);
            assert.deepEqual(resourceViolations(earlyRenewal, T.locallySigned, { earlyRenewalHours: UNKNOWN_NUMBER }), []);
            assert.deepEqual(resourceViolations(earlyRenewal, T.vaultCert, { autoRenew: true, minSecondsRemaining: 86400 }), []);
        });
    });

    describe("pki-plain-key-output", () => {
        // a real key, made at test time (no key material in the repository)
        const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
        const stack = (outputs: Props, secretPaths: string[]): R => {
            Object.defineProperty(outputs, SECRET_PATHS, { value: secretPaths, enumerable: false });
            return { type: T.stack, name: "test-dev", props: outputs };
        };
        it("flags a plain PEM key and a plain kubeconfig's client-key-data, nested too", () => {
            const v = stackViolations(plainKeyOutput, [stack({ key: pem, files: { node: { "admin.conf": "users:\n- user:\n    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRF\n" } } }, [])]);
            assert.deepEqual(v.map((x) => /"([^"]+)"/.exec(x.message)![1]), ["key", "files.node.admin.conf"]);
        });
        it("passes secret outputs (whole or nested), public certificates, unknown values, and says when the hook is missing", () => {
            assert.deepEqual(stackViolations(plainKeyOutput, [stack({ key: pem, files: { a: { content: pem, mode: "0600" } }, cert: "-----BEGIN CERTIFICATE-----" }, ["key", "files.a.content"])]), []);
            assert.deepEqual(stackViolations(plainKeyOutput, [stack({ privateKeyPem: UNKNOWN_STRING }, [])]), []);
            const missing = stackViolations(plainKeyOutput, [{ type: T.stack, name: "s", props: { key: "x" } }]);
            assert.match(missing[0].message, /secret-marker hook is not installed/);
        });
        it("the hook records the secret paths the engine marks, through @pulumi/policy's own deserializer", () => {
            installSecretMarkers();
            installSecretMarkers(); // idempotent
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const deserialize = require("@pulumi/policy/deserialize");
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [path.dirname(require.resolve("@pulumi/policy"))] }));
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const rpc = require("@pulumi/pulumi/runtime/rpc");
            const secret = (value: unknown) => ({ [rpc.specialSigKey]: rpc.specialSecretSig, value });
            const props = deserialize.deserializeProperties(Struct.fromJavaScript({ plain: pem, hidden: secret(pem), nested: { a: [1, secret("x")] } }), false);
            assert.equal(props.hidden, pem); // @pulumi/policy unwraps it...
            assert.deepEqual(props[SECRET_PATHS], ["hidden", "nested.a.1"]); // ...the hook remembers
            const v = stackViolations(plainKeyOutput, [{ type: T.stack, name: "s", props }]);
            assert.deepEqual(v.map((x) => /"([^"]+)"/.exec(x.message)![1]), ["plain"]);
        });
    });

    describe("pki-ca-key-secret", () => {
        const secret = (name: string, extra: Props = {}, deps?: Record<string, string[]>): R => ({
            type: T.k8sSecret,
            name,
            props: { metadata: { name, namespace: "kube-system", labels: {}, annotations: {} }, type: "kubernetes.io/tls", data: { "tls.crt": "x", "tls.key": "y" }, ...extra },
            deps,
        });
        it("flags a Secret holding a CA key: by data dependency on a signing key, by kube-pki's label, by data key name", () => {
            const rs = [key("ca-key"), ca("ca"), csr("c", {}), leaf("l", "ca", "c"), secret("ca-secret", {}, { data: ["ca-key"] })];
            const v = stackViolations(caKeySecret, rs);
            assert.equal(v.length, 1);
            assert.match(v[0].message, /kube-system\/ca-secret .*data from the CA key ca-key/);
            assert.equal(stackViolations(caKeySecret, [secret("s", { metadata: { name: "s", labels: { "kube-pki.io/kind": "ca-key" } } })]).length, 1);
            assert.equal(stackViolations(caKeySecret, [secret("s", { data: { "ca.key": "x" } })]).length, 1);
        });
        it("passes a leaf's TLS Secret, and a CA key Secret opted in by annotation or allow-list", () => {
            const rs = [key("ca-key"), ca("ca"), key("leaf-key"), csr("c", {}), leaf("l", "ca", "c"), secret("leaf-secret", {}, { data: ["leaf-key", "l"] })];
            assert.deepEqual(stackViolations(caKeySecret, rs), []);
            const optIn = secret("s", { metadata: { name: "s", labels: { "kube-pki.io/kind": "ca-key" }, annotations: { "policy.kube-pki.io/allow-ca-key": "true" } } });
            assert.deepEqual(stackViolations(caKeySecret, [optIn]), []);
            assert.deepEqual(stackViolations(caKeySecret, [secret("s", { data: { "ca.key": "x" } })], { caKeySecretAllowList: ["kube-system/s"] }), []);
        });
    });

    describe("pki-ca-rotation-staged", () => {
        const pki = (phase: string, stagedAt: string, clock: string): R => ({
            type: T.clusterPki,
            name: "dev",
            props: {
                rotationState: { ca: { phase, generation: 0 }, "etcd-ca": { phase: "none", generation: 0 } },
                inventory: [
                    { id: "ca", isCa: true, generation: 0, notBefore: "2026-01-01T00:00:00Z" },
                    { id: "ca", isCa: true, generation: 1, notBefore: stagedAt },
                    { id: "apiserver", isCa: false, notBefore: stagedAt },
                ],
                nextRotation: { clock },
            },
        });
        it("flags a CA staged longer than maxStagedHours (720 h by default)", () => {
            const v = stackViolations(caRotationStaged, [pki("stage", "2026-10-01T00:00:00Z", "2026-12-01T00:00:00Z")]);
            assert.equal(v.length, 1);
            assert.match(v[0].message, /CA ca has been staged since 2026-10-01T00:00:00Z \(1464h, more than 720h\)/);
            assert.equal(stackViolations(caRotationStaged, [pki("stage", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z")], { maxStagedHours: 12 }).length, 1);
        });
        it("passes a fresh stage, a promoted rotation, and a CA staged in this very preview (notBefore unknown)", () => {
            assert.deepEqual(stackViolations(caRotationStaged, [pki("stage", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z")]), []);
            assert.deepEqual(stackViolations(caRotationStaged, [pki("promote", "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z")]), []);
            assert.deepEqual(stackViolations(caRotationStaged, [pki("stage", UNKNOWN_STRING, "2026-12-01T00:00:00Z")]), []);
        });
    });

    it("policy-config.example.json spells out every default level and threshold", () => {
        const example = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "policy", "policy-config.example.json"), "utf8"));
        assert.deepEqual(Object.keys(example), POLICIES.map((p) => p.name));
        const thresholds: Record<string, unknown> = {};
        for (const p of POLICIES) {
            const c = example[p.name];
            assert.equal(typeof c === "string" ? c : c.enforcementLevel, p.enforcementLevel, p.name);
            const keys = Object.keys(p.configSchema?.properties ?? {});
            if (typeof c === "object") assert.deepEqual(Object.keys(c).filter((k) => k !== "enforcementLevel").sort(), keys.sort(), p.name);
            for (const k of keys) thresholds[k] = c[k];
        }
        assert.deepEqual(thresholds, { ...DEFAULTS });
        assert.equal(DEFAULTS.leafMaxHours, 8760); // kubeadm's CertificateValidityPeriod
        assert.equal(DEFAULTS.caMaxHours, 87600); // kubeadm's CACertificateValidityPeriod
    });
});
