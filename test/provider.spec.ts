/**
 * The component package (provider/): the schema componentProviderHost infers from provider/index.ts (what
 * `pulumi package get-schema` prints), and the wrappers' outputs under mocks (secrets stay secrets).
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { TlsEmulator } from "./support/tls-emulator";
import { resolve } from "./support/resolve";

process.env.KUBE_PKI_PROVIDER_HOST = "off"; // import the provider module without serving it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const provider: typeof import("../provider") = require("../provider");

describe("component package (provider/)", function () {
    let schema: any;
    before(async () => {
        schema = JSON.parse(await new provider.KubePkiProvider(provider.PROVIDER_OPTIONS).getSchema());
    });

    it("serves ClusterPki, RootPki, NodeFiles and RemoteNodeFiles as kube-pki:index:*", () => {
        assert.equal(schema.name, "kube-pki");
        assert.deepEqual(Object.keys(schema.resources).sort(), ["kube-pki:index:ClusterPki", "kube-pki:index:NodeFiles", "kube-pki:index:RemoteNodeFiles", "kube-pki:index:RootPki"]);
        for (const r of Object.values<any>(schema.resources)) assert.equal(r.isComponent, true);
    });

    // (object types themselves carry no description: @pulumi/pulumi 3.248's schema generator does not emit one)
    it("documents every component, input, output and type property; no Any", () => {
        const missing: string[] = [];
        for (const [token, r] of Object.entries<any>(schema.resources)) {
            if (!r.description) missing.push(token);
            for (const [k, p] of Object.entries<any>({ ...r.inputProperties, ...r.properties })) if (!p.description) missing.push(`${token}.${k}`);
        }
        for (const [token, t] of Object.entries<any>(schema.types)) {
            for (const [k, p] of Object.entries<any>(t.properties)) if (!p.description) missing.push(`${token}.${k}`);
        }
        assert.deepEqual(missing, []);
        assert.ok(!JSON.stringify(schema).includes("pulumi.json#/Any"));
    });

    it("ClusterPki: typed node lists, required inputs, the outputs a program needs", () => {
        const cp = schema.resources["kube-pki:index:ClusterPki"];
        assert.equal(cp.inputProperties.controlPlanes.items.$ref, "#/types/kube-pki:index:ControlPlaneNode");
        assert.equal(cp.inputProperties.workers.items.$ref, "#/types/kube-pki:index:WorkerNode");
        assert.deepEqual([...cp.requiredInputs].sort(), ["clusterName", "controlPlaneEndpoint", "controlPlanes"]);
        assert.equal(cp.inputProperties.caRotation.type, "object");
        assert.equal(cp.inputProperties.caRotation.additionalProperties.type, "string");
        for (const k of ["caCertificates", "trustBundles", "serviceAccountPublicKey", "kubeconfigs", "nodeFiles", "cloudInit", "inventory", "memory"]) {
            assert.ok(k in cp.properties, k);
        }
        assert.equal(schema.types["kube-pki:index:NodeFile"].properties.mode.type, "string");
    });

    it("asks the Go SDK generator for the input structs of its plain object lists (generateExtraInputTypes)", () => {
        assert.equal(schema.language.go.generateExtraInputTypes, true);
        assert.equal(schema.language.go.respectSchemaVersion, true);
    });

    it("ClusterPki wrapper: kubeconfigs, cloud-init and key files are secrets; memory names the component", async () => {
        const em = new TlsEmulator();
        void pulumi.runtime.setMocks(em, "consumer", "provider-test", false, "organization");
        (em as any).hookMonitor();
        em.beginRun();
        em.setStackOutputs("organization/consumer/provider-test", {});
        const pki = new provider.ClusterPki("yaml", {
            clusterName: "yaml",
            controlPlaneEndpoint: "api.yaml.example:6443",
            controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
            workers: [{ name: "w-1", addresses: ["10.0.1.21"] }],
            keyAlgorithm: "ECDSA-P256",
            caKeyAlgorithm: "ECDSA-P256",
        });
        const kubeconfigs = await resolve(pki.kubeconfigs);
        assert.equal(kubeconfigs.secret, true);
        assert.ok(kubeconfigs.value!["admin.conf"].includes("client-key-data"));
        const cloudInit = await resolve(pki.cloudInit);
        assert.equal(cloudInit.secret, true);
        assert.ok(cloudInit.value!["w-1"].startsWith("#cloud-config"));
        const files = await resolve(pki.nodeFiles);
        assert.equal(files.secret, true, "the file map holds keys: secret as a whole");
        assert.equal(files.value!["cp-1"]["etc/kubernetes/pki/ca.key"].mode, "0600");
        const memory = await resolve(pki.memory);
        assert.deepEqual(Object.keys(memory.value!), ["yaml"]);
        assert.deepEqual(memory.value!.yaml.rotationState!.ca, { phase: "none", generation: 0 });
    });
});
