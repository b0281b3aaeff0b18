import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as api from "../components";
import * as internal from "../components/internal";

/** The runtime names of `import ... from "kube-pki"`: docs/library.md (Public API) documents each one. */
const PUBLIC = [
    "CertificateAuthority",
    "ClusterPki",
    "ConfigError",
    "KubernetesSecrets",
    "LeafCertificate",
    "MEMORY_OUTPUT",
    "NodeFiles",
    "RemoteNodeFiles",
    "RootPki",
    "cloudInit",
    "cloudInitByNode",
    "memoryOf",
    "previousRunOf",
    "readClusterPkiArgs",
    "readRootStack",
    "validateClusterPkiArgs",
    "withPreviousRun",
];

describe("public API (components/index.ts = the package's main)", () => {
    it("exports exactly the documented names; the rest stays in internal.ts", () => {
        assert.deepEqual(Object.keys(api).sort(), [...PUBLIC].sort());
        const internalOnly = Object.keys(internal).filter((k) => !(k in api));
        assert.ok(internalOnly.includes("LEAVES") && internalOnly.includes("VaultRoles") && internalOnly.includes("caSourceFor"), "internals stay out of the public API");
    });

    it("the Public API table (docs/library.md) names every export", () => {
        const readme = fs.readFileSync(path.join(__dirname, "..", "docs", "library.md"), "utf8");
        const table = readme.slice(readme.indexOf("**Public API**"), readme.indexOf("**`npm pack` contents**"));
        for (const name of PUBLIC) assert.ok(table.includes(`\`${name}\``), `docs/library.md Public API table lacks ${name}`);
    });

    it("package.json's main and types point at the compiled public entry", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));
        assert.equal(pkg.main, "dist/components/index.js");
        assert.equal(pkg.types, "dist/components/index.d.ts");
    });
});
