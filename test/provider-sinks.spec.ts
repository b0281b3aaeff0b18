/**
 * The component package's sink resources (provider/sink-resources.ts): kube-pki:index:NodeFiles registers a
 * kube-pki:index:NodeTree custom resource whose CRUD the provider process serves with the library's sink code, so
 * programs in any language write node trees. Here: the component under mocks (what it registers, secrecy of the
 * contents input, bad args before anything is registered) and the provider's CRUD on a real temp directory with the
 * protocol's secret markers (the provider accepts secrets: `contents` arrives wrapped and must leave wrapped).
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { valueOf } from "./support/resolve";

process.env.KUBE_PKI_PROVIDER_HOST = "off"; // import the provider module without serving it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const provider: typeof import("../provider") = require("../provider");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sinks: typeof import("../provider/sink-resources") = require("../provider/sink-resources");

const SIG = "4dabf18193072939515e22adb298388d";
const secret = (value: unknown) => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });
const sha = (s: string) => crypto.createHash("sha256").update(s, "utf8").digest("hex");
const URN = "urn:pulumi:dev::p::kube-pki:index:NodeFiles$kube-pki:index:NodeTree::cp-1-files";
const KEY = "-----BEGIN EC " + "PRIVATE KEY-----\nMHcCAQEE\n-----END EC " + "PRIVATE KEY-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function inputs(root: string, contents: Record<string, string>) {
    const manifest = Object.fromEntries(Object.entries(contents).map(([rel, c]) => [rel, { mode: rel.endsWith(".key") ? "0600" : "0644", secret: rel.endsWith(".key"), sha256: sha(c) }]));
    return { root, node: "cp-1", manifest, contents: secret(contents) };
}

describe("component package sinks (provider/sink-resources.ts)", function () {
    let root: string;
    beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-provider-sinks-"))));
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("check keeps the contents input a secret (the engine stores inputs as check returns them)", async () => {
        const news = inputs(root, { "etc/kubernetes/pki/ca.key": KEY, "etc/kubernetes/pki/ca.crt": CERT });
        const r = await sinks.sinkCrud.check(URN, {}, news);
        assert.deepEqual(r.failures ?? [], []);
        assert.equal(r.inputs.contents[SIG], "1b47061264138c4ac30d75fd1eb44270", "contents no longer secret");
        assert.deepEqual(r.inputs.contents.value, { "etc/kubernetes/pki/ca.key": KEY, "etc/kubernetes/pki/ca.crt": CERT });
        assert.ok(!JSON.stringify(r.inputs.manifest).includes("PRIVATE KEY"));
    });

    it("create writes the unwrapped contents with their modes; outputs carry hashes, never contents; delete removes them", async () => {
        const files = { "etc/kubernetes/pki/ca.key": KEY, "etc/kubernetes/pki/ca.crt": CERT };
        const made = await sinks.sinkCrud.create(URN, inputs(root, files));
        const dir = path.join(root, "cp-1");
        assert.equal(made.id, dir);
        assert.equal(fs.readFileSync(path.join(dir, "etc/kubernetes/pki/ca.key"), "utf8"), KEY);
        assert.equal(fs.statSync(path.join(dir, "etc/kubernetes/pki/ca.key")).mode & 0o777, 0o600);
        assert.equal(fs.statSync(path.join(dir, "etc/kubernetes/pki/ca.crt")).mode & 0o777, 0o644);
        assert.equal(made.outs.files["etc/kubernetes/pki/ca.crt"].sha256, sha(CERT));
        assert.ok(!JSON.stringify(made.outs).includes("PRIVATE KEY"));
        const same = await sinks.sinkCrud.diff(made.id, URN, made.outs, inputs(root, files));
        assert.equal(same.changes, false);
        const changed = await sinks.sinkCrud.diff(made.id, URN, made.outs, inputs(root, { ...files, "etc/kubernetes/pki/ca.crt": CERT + CERT }));
        assert.equal(changed.changes, true);
        await sinks.sinkCrud.delete(made.id, URN, made.outs);
        assert.ok(!fs.existsSync(path.join(dir, "etc/kubernetes/pki/ca.key")));
    });

    it("an unknown resource type is refused by name", async () => {
        await assert.rejects(sinks.sinkCrud.create("urn:pulumi:dev::p::kube-pki:index:Other::x", {}), /unknown resource type kube-pki:index:Other/);
    });

    describe("NodeFiles component (mocks)", () => {
        const registered: { type: string; name: string; inputs: any }[] = [];
        before(() => {
            void pulumi.runtime.setMocks(
                {
                    newResource: (a) => {
                        registered.push({ type: a.type, name: a.name, inputs: a.inputs });
                        return { id: `${a.name}-id`, state: { ...a.inputs, files: { "etc/kubernetes/pki/ca.crt": { sha256: sha(CERT), mode: "0644" } } } };
                    },
                    call: () => ({}),
                },
                "consumer",
                "provider-sinks-test",
                false,
            );
        });

        it("registers one kube-pki:index:NodeTree under it (not a pulumi-nodejs dynamic resource), contents one secret input", async () => {
            const files = pulumi.output({
                "etc/kubernetes/pki/ca.crt": { content: CERT, mode: "0644", secret: false },
                "etc/kubernetes/pki/ca.key": { content: pulumi.secret(KEY), mode: "0600", secret: true },
            });
            const nf = new provider.NodeFiles("cp-1", { rootDir: root, node: "cp-1", files: files as any });
            const hashes = await valueOf(nf.hashes);
            assert.equal(hashes["etc/kubernetes/pki/ca.crt"], sha(CERT));
            const tree = registered.find((r) => r.name === "cp-1-files");
            assert.ok(tree, JSON.stringify(registered.map((r) => r.type)));
            assert.equal(tree.type, "kube-pki:index:NodeTree");
            assert.ok(!registered.some((r) => r.type.startsWith("pulumi-nodejs:")));
            assert.equal(tree.inputs.root, root);
            assert.equal(tree.inputs.manifest["etc/kubernetes/pki/ca.key"].sha256, sha(KEY));
            assert.equal(await valueOf(nf.directory), path.join(root, "cp-1"));
        });

        it("bad args: a ConfigError naming the field, before anything is registered", () => {
            const trees = () => registered.filter((r) => r.type.endsWith("Tree")).length;
            const before = trees();
            assert.throws(() => new provider.NodeFiles("bad", { rootDir: root, node: "../escape", files: {} }), /nodeFiles\.node/);
            assert.throws(
                () => new provider.RemoteNodeFiles("bad-remote", { node: "cp-1", files: {}, connection: { host: "", hostKey: "nope" } }),
                /remoteNodes\.cp-1\.host: required/,
            );
            assert.equal(trees(), before);
        });
    });
});
