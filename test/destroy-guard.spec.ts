/**
 * The destroy guard (scripts/destroy-guard.ts): from a stack export, the protected resources a destroy would reach
 * and the refusal message, before the engine deletes anything.
 */
import { strict as assert } from "node:assert";
import { destroyRefusal, protectedInDestroy } from "../scripts/destroy-guard";

const urn = (type: string, name: string) => `urn:pulumi:root::kube-pki::${type}::${name}`;
const STACK = urn("pulumi:pulumi:Stack", "kube-pki-root");
const ROOT = urn("kube-pki:index:RootPki", "root");
const ROOT_KEY = urn("kube-pki:index:RootPki$kube-pki:index:CertificateAuthority$tls:index/privateKey:PrivateKey", "root-root-key");
const ROOT_CERT = urn("kube-pki:index:RootPki$kube-pki:index:CertificateAuthority$tls:index/selfSignedCert:SelfSignedCert", "root-root-cert");
const INT_KEY = urn("kube-pki:index:RootPki$kube-pki:index:CertificateAuthority$tls:index/privateKey:PrivateKey", "root-dev-ca-key");
const INT_CERT = urn("kube-pki:index:RootPki$kube-pki:index:CertificateAuthority$tls:index/locallySignedCert:LocallySignedCert", "root-dev-ca-cert");
const FILES = urn("pulumi-nodejs:dynamic:NodeFiles", "dev-cp-1-files");

function exported(protect: Record<string, boolean>) {
    const r = (u: string, type: string, extra: object = {}) => ({ urn: u, type, custom: true, protect: protect[u] ?? false, ...extra });
    return {
        version: 3,
        deployment: {
            manifest: {},
            resources: [
                { urn: STACK, type: "pulumi:pulumi:Stack", custom: false },
                { urn: ROOT, type: "kube-pki:index:RootPki", custom: false, parent: STACK },
                r(ROOT_KEY, "tls:index/privateKey:PrivateKey", { parent: ROOT }),
                r(ROOT_CERT, "tls:index/selfSignedCert:SelfSignedCert", { parent: ROOT, dependencies: [ROOT_KEY] }),
                r(INT_KEY, "tls:index/privateKey:PrivateKey", { parent: ROOT }),
                r(INT_CERT, "tls:index/locallySignedCert:LocallySignedCert", { parent: ROOT, propertyDependencies: { caCertPem: [ROOT_CERT] } }),
                r(FILES, "pulumi-nodejs:dynamic:NodeFiles", { parent: STACK }),
            ],
        },
    };
}

describe("destroy guard (scripts/destroy-guard.ts)", () => {
    it("names every protected resource a destroy would reach, and says nothing was deleted", () => {
        const state = exported({ [ROOT_KEY]: true, [ROOT_CERT]: true, [INT_KEY]: true, [INT_CERT]: true });
        assert.deepEqual(protectedInDestroy(state).map((r) => r.name).sort(), ["root-dev-ca-cert", "root-dev-ca-key", "root-root-cert", "root-root-key"]);
        const msg = destroyRefusal("root", state)!;
        assert.match(msg, /^refusing to destroy stack root: it holds 4 protected resource\(s\)/);
        assert.match(msg, /tls:index\/privateKey:PrivateKey: root-dev-ca-key, root-root-key/);
        assert.match(msg, /Nothing was deleted/);
    });

    it("a stack with nothing protected passes; a targeted destroy reaches the targets and their dependents only", () => {
        assert.equal(destroyRefusal("dev", exported({})), undefined);
        const state = exported({ [INT_CERT]: true });
        assert.deepEqual(protectedInDestroy(state, [FILES]), [], "the node files depend on nothing protected");
        assert.deepEqual(protectedInDestroy(state, [ROOT_CERT]).map((r) => r.name), ["root-dev-ca-cert"], "the intermediate cert depends on the root cert");
        assert.deepEqual(protectedInDestroy({ resources: [] }), []);
        assert.throws(() => protectedInDestroy({ deployment: { resources: "x" } }), /not a stack export/);
    });

    it("resources already pending deletion are not counted", () => {
        const state = exported({ [ROOT_KEY]: true });
        (state.deployment.resources[2] as { delete?: boolean }).delete = true;
        assert.deepEqual(protectedInDestroy(state), []);
    });
});
