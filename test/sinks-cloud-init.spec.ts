/** cloudInit sink: a real ClusterPki's node file maps as `#cloud-config` write_files, checked with the yaml parser. */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import * as zlib from "node:zlib";
import { parse as parseYaml } from "yaml";
import { ClusterPki, ConfigError, FileMap } from "../components/internal";
import { cloudInit, cloudInitByNode } from "../components/sinks/cloud-init";
import { setupMocks } from "./support/tls-emulator";
import { resolve, valueOf } from "./support/resolve";

describe("sinks: cloudInit", function () {
    this.timeout(120_000);
    let pki: ClusterPki;

    before(() => {
        setupMocks();
        pki = new ClusterPki("sinks", {
            clusterName: "sinks",
            controlPlaneEndpoint: "api.sinks.example:6443",
            controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
            workers: [{ name: "w-1", addresses: ["10.0.1.21"] }],
            keyAlgorithm: "ECDSA-P256",
        });
    });

    async function check(node: string, doc: pulumi.Output<string>, prefix: string, owner: string, encoding = "b64") {
        const r = await resolve(doc);
        assert.ok(r.known);
        assert.equal(r.secret, true, "the document is a secret");
        const text = r.value as string;
        assert.ok(text.startsWith("#cloud-config\n"), "first line is #cloud-config");
        const parsed = parseYaml(text, { version: "1.1" });
        assert.deepEqual(Object.keys(parsed), ["write_files"]);
        const files = pki.nodeFiles[node];
        const want = Object.keys(files).sort();
        assert.deepEqual(parsed.write_files.map((w: any) => w.path), want.map((rel) => `${prefix}${rel}`));
        for (const w of parsed.write_files) {
            const rel = w.path.slice(prefix.length);
            const f = files[rel];
            assert.deepEqual(Object.keys(w).sort(), ["content", "encoding", "owner", "path", "permissions"]);
            assert.equal(w.encoding, encoding);
            assert.equal(w.owner, owner);
            assert.equal(typeof w.permissions, "string", "permissions stay a string under YAML 1.1");
            assert.equal(w.permissions, f.mode);
            assert.equal(w.permissions, /\.(key|conf)$/.test(rel) ? "0600" : "0644", rel);
            const raw = Buffer.from(w.content, "base64");
            assert.equal((encoding === "gz+b64" ? zlib.gunzipSync(raw) : raw).toString("utf8"), await valueOf(f.content), `${rel} bytes`);
        }
        // YAML 1.2 readers see the same strings
        assert.deepEqual(parseYaml(text), parsed);
        return text;
    }

    it("renders every node's files: absolute paths, permissions, owner root:root, b64 content, secret", async () => {
        const docs = cloudInitByNode(pki.nodeFiles);
        assert.deepEqual(Object.keys(docs).sort(), ["cp-1", "w-1"]);
        const cp = await check("cp-1", docs["cp-1"], "/", "root:root");
        const w = await check("w-1", docs["w-1"], "/", "root:root");
        assert.ok(cp.includes("path: /etc/kubernetes/pki/ca.key"));
        assert.ok(w.includes("path: /etc/kubernetes/kubelet.conf"));
        assert.ok(!/PRIVATE KEY/.test(cp), "contents are base64, not inline PEM");
    });

    it("honours owner and rootPrefix", async () => {
        const doc = cloudInit(pki.nodeFiles["w-1"], { owner: "kube:kube", rootPrefix: "/mnt/sysroot" });
        await check("w-1", doc, "/mnt/sysroot/", "kube:kube");
    });

    it("gz+b64 encoding: gzip'ed contents decode to the same bytes, and the document shrinks", async () => {
        const plain = await valueOf(cloudInit(pki.nodeFiles["cp-1"]));
        const gz = cloudInit(pki.nodeFiles["cp-1"], { encoding: "gz+b64" });
        const text = await check("cp-1", gz, "/", "root:root", "gz+b64");
        assert.ok(text.length < plain.length, `${text.length} < ${plain.length}`);
    });

    it("refuses bad paths, modes, owner and rootPrefix with a ConfigError", () => {
        const f = (mode = "0644") => ({ content: pulumi.output("x"), mode, secret: false });
        const cases: [string, () => unknown, RegExp][] = [
            ["escape", () => cloudInit({ "../etc/shadow": f() } as FileMap), /files\["\.\.\/etc\/shadow"\]/],
            ["absolute", () => cloudInit({ "/etc/shadow": f() } as FileMap), /must be relative/],
            ["mode", () => cloudInit({ a: f("600x") } as FileMap), /files\["a"\]\.mode/],
            ["prefix", () => cloudInit({ a: f() } as FileMap, { rootPrefix: "mnt" }), /rootPrefix/],
            ["prefix dots", () => cloudInit({ a: f() } as FileMap, { rootPrefix: "/mnt/../etc" }), /rootPrefix/],
            ["owner", () => cloudInit({ a: f() } as FileMap, { owner: "root root" }), /owner/],
            ["encoding", () => cloudInit({ a: f() } as FileMap, { encoding: "gzip" as any }), /encoding/],
        ];
        for (const [what, fn, re] of cases) {
            assert.throws(fn, (e: unknown) => e instanceof ConfigError && re.test(e.message), what);
        }
    });
});
