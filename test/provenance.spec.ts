import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The repository holds only code its own authors wrote (issue 26 "Must go"): other code comes through package
 * registries (npm, the Go module proxy, PyPI, Debian), never copied in. A copied file gives itself away by the
 * header it brings (another author's copyright or license notice) or by the note that explains why it was copied;
 * the language hosts we wrote ourselves document the RPCs they serve, and that list is kept true.
 */
const ROOT = path.resolve(__dirname, "..");
const SELF = path.relative(ROOT, __filename);

function trackedFiles(): string[] {
    return execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" })
        .split("\0")
        .filter((f) => f && f !== SELF && fs.existsSync(path.join(ROOT, f)) && fs.statSync(path.join(ROOT, f)).isFile());
}

const text = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

// Built from pieces so that no line of this file matches them.
const OTHER_AUTHORS = new RegExp(
    ["Copyright", "\\s.{0,40}(Pulumi Corporation|HashiCorp|The Kubernetes Authors|The etcd Authors|The Go Authors|Google LLC)"].join(""),
    "i",
);
const LICENSE_NOTICE = new RegExp(["Licensed under the Apache License", "SPDX-License-" + "Identifier"].join("|"), "i");
const COPY_NOTE = new RegExp(
    ["\\bvendored\\b", "re-vendor", "\\b(copied|taken|ported) (unchanged |verbatim )?from (upstream|another|github|[A-Z][\\w-]*('s)? (repository|repo|source|v\\d))"].join("|"),
    "i",
);

describe("provenance: no file copied from another repository", () => {
    const files = trackedFiles();

    it("lists the tracked files (git ls-files)", () => {
        assert.ok(files.length > 50, `only ${files.length} tracked files`);
        assert.ok(files.includes("tools/pulumi-language-go/main.go"), "the project's own Go language host is tracked");
    });

    it("no tracked file but LICENSE carries another author's copyright or a license header", () => {
        const hits = files.filter((f) => f !== "LICENSE" && !f.endsWith("package-lock.json")).filter((f) => {
            const t = text(f);
            return OTHER_AUTHORS.test(t) || LICENSE_NOTICE.test(t);
        });
        assert.deepEqual(hits, []);
    });

    it("no tracked file says it vendors or copies upstream code (nor tells how to re-vendor it)", () => {
        const hits = files
            .filter((f) => !f.endsWith("package-lock.json"))
            .flatMap((f) => text(f).split("\n").map((line, i) => ({ f, i, line })))
            .filter(({ line }) => COPY_NOTE.test(line))
            .map(({ f, i, line }) => `${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
        assert.deepEqual(hits, []);
    });

    it("tools/ holds no vendored upstream packages (only each wrapper's own main package)", () => {
        const nested = files.filter((f) => /^tools\/[^/]+\/[^/]+\/.+\.go$/.test(f));
        assert.deepEqual(nested, []);
    });
});

/** The RPCs tools/hostkit's Base serves for the hosts that embed it: its methods that take a context first. */
function hostkitRpcs(): string[] {
    const dir = path.join(ROOT, "tools/hostkit");
    const sources = fs.readdirSync(dir).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"));
    return sources.flatMap((f) => [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/^func \(\w* ?\*?Base\) ([A-Z]\w*)\(\s*(?:\w+ )?context\.Context/gm)].map((m) => m[1]));
}

/** The RPC methods a host's Go sources define on its server type, e.g. `func (h *goHost) Run(`. */
function rpcMethods(dir: string, receiver: string): string[] {
    const names = new Set<string>();
    for (const f of fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"))) {
        const re = new RegExp(`^func \\(\\w* ?\\*?${receiver}\\) ([A-Z]\\w*)\\(`, "gm");
        for (const m of text(path.join(dir, f)).matchAll(re)) names.add(m[1]);
    }
    return [...names].sort();
}

/** The RPCs a host's README lists: the `Name` entries of its "## RPCs" section's bullet list. */
function documentedRpcs(readme: string): string[] {
    const section = /^## RPCs\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(text(readme));
    assert.ok(section, `${readme}: no "## RPCs" section`);
    return [...section[1].matchAll(/^- `(\w+)`/gm)].map((m) => m[1]).sort();
}

describe("our own language hosts document what they serve", () => {
    it("tools/pulumi-language-go/README.md lists exactly the RPCs the host implements", () => {
        // its own methods, and those of tools/hostkit's Base it embeds (Handshake, GetPluginInfo)
        const implemented = [...new Set([...rpcMethods("tools/pulumi-language-go", "goHost"), ...hostkitRpcs()])].sort();
        assert.ok(implemented.includes("Run") && implemented.includes("GeneratePackage") && implemented.includes("Link"), implemented.join(", "));
        assert.deepEqual(documentedRpcs("tools/pulumi-language-go/README.md"), implemented);
    });

    it("tools/pulumi-language-yaml/README.md lists the RPC our main adds to pulumi-yaml's server", () => {
        assert.deepEqual(documentedRpcs("tools/pulumi-language-yaml/README.md"), rpcMethods("tools/pulumi-language-yaml", "yamlHost"));
    });
});
