/**
 * examples/ holds one small runnable program per language, each run as it is by an e2e consumer step (so it cannot
 * rot), and README's "Use it from your program" shows each one verbatim: a README block that differs from its file
 * (or is missing) fails here. Also: the Python example pins the CLI's pulumi, and our Python language host's README
 * lists exactly the RPCs it implements.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

/** Each language's program file, the fence language README shows it in, and the e2e step that runs it. */
const EXAMPLES = [
    { language: "typescript", file: "index.ts", fence: "typescript", step: "path", reads: /exampleFiles\("typescript", \[[^\]]*"index\.ts"/ },
    { language: "javascript", file: "index.js", fence: "javascript", step: "js", reads: /exampleFiles\("javascript", \[[^\]]*"index\.js"/ },
    { language: "python", file: "__main__.py", fence: "python", step: "python", reads: /\["Pulumi\.yaml", "requirements\.txt", "__main__\.py"\]\) fs\.copyFileSync\(path\.join\(EXAMPLES_DIR, "python", f\)/ },
    { language: "go", file: "main.go", fence: "go", step: "go", reads: /\["Pulumi\.yaml", "go\.mod", "main\.go"\]\) fs\.copyFileSync\(path\.join\(EXAMPLES_DIR, "go", f\)/ },
    { language: "yaml", file: "Pulumi.yaml", fence: "yaml", step: "yaml", reads: /copyFileSync\(path\.join\(EXAMPLES_DIR, "yaml\/Pulumi\.yaml"\)/ },
];

/** README's "## Use it from your program" section (up to the next `## ` heading), or undefined. */
function useItSection(): string | undefined {
    return /^## Use it from your program\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(read("README.md"))?.[1];
}

/** The fenced code blocks of a Markdown text: fence language and content (without the fences). */
function codeBlocks(markdown: string): { fence: string; body: string }[] {
    return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ fence: m[1], body: m[2] }));
}

describe("examples/: one runnable program per language, shown verbatim in README", () => {
    it("README.md has a 'Use it from your program' section", () => {
        assert.ok(useItSection(), 'README.md: no "## Use it from your program" section (paste each examples/ program there)');
    });

    for (const ex of EXAMPLES) {
        const rel = `examples/${ex.language}/${ex.file}`;

        it(`${rel} is shown verbatim in README's "Use it from your program" (a \`\`\`${ex.fence} block)`, () => {
            const section = useItSection() ?? "";
            const file = read(rel);
            const blocks = codeBlocks(section).filter((b) => b.fence === ex.fence);
            assert.ok(blocks.length > 0, `README.md "Use it from your program": no \`\`\`${ex.fence} block for ${rel}`);
            assert.ok(
                blocks.some((b) => b.body === file),
                `README.md "Use it from your program": no \`\`\`${ex.fence} block equals ${rel} (copy the file into README again)`,
            );
        });

        it(`${rel} is what e2e step consumer-${ex.step} runs, and examples/${ex.language}/README.md says how in a few lines`, () => {
            assert.match(read(`e2e/consumer/${ex.step}.ts`), ex.reads);
            const readme = read(`examples/${ex.language}/README.md`);
            assert.ok(readme.split("\n").length <= 20, `examples/${ex.language}/README.md: keep it to a few lines`);
            assert.match(readme, new RegExp(`consumer-${ex.step}`), `examples/${ex.language}/README.md names the step that runs it`);
        });
    }

    it("examples/python/requirements.txt pins the PyPI pulumi package to the CLI's version (tools/versions.env)", () => {
        const cli = /^PULUMI_VERSION=(\S+)$/m.exec(read("tools/versions.env"))?.[1];
        assert.ok(cli);
        assert.match(read("examples/python/requirements.txt"), new RegExp(`^pulumi==${cli.replace(/\./g, "\\.")}$`, "m"));
        assert.equal(/^PULUMI_LANGUAGE_PYTHON_VERSION=(\S+)$/m.exec(read("tools/versions.env"))?.[1], cli, "the Python host reports the CLI's version");
    });
});

/** The RPCs tools/hostkit's Base serves for the hosts that embed it: its methods that take a context first. */
function hostkitRpcs(): string[] {
    const dir = path.join(ROOT, "tools/hostkit");
    const sources = fs.readdirSync(dir).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"));
    return sources.flatMap((f) => [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/^func \(\w* ?\*?Base\) ([A-Z]\w*)\(\s*(?:\w+ )?context\.Context/gm)].map((m) => m[1]));
}

/** The RPC methods a host's Go sources define on its server type, e.g. `func (h *pyHost) Run(`. */
function rpcMethods(dir: string, receiver: string): string[] {
    const names = new Set<string>();
    for (const f of fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"))) {
        for (const m of read(path.join(dir, f)).matchAll(new RegExp(`^func \\(\\w* ?\\*?${receiver}\\) ([A-Z]\\w*)\\(`, "gm"))) names.add(m[1]);
    }
    return [...names].sort();
}

describe("tools/pulumi-language-python: our own Python language host", () => {
    it("its README lists exactly the RPCs it implements", () => {
        // its own methods, and those of tools/hostkit's Base it embeds (Handshake, GetPluginInfo)
        const implemented = [...new Set([...rpcMethods("tools/pulumi-language-python", "pyHost"), ...hostkitRpcs()])].sort();
        assert.ok(["Run", "GeneratePackage", "Link", "InstallDependencies"].every((r) => implemented.includes(r)), implemented.join(", "));
        const section = /^## RPCs\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(read("tools/pulumi-language-python/README.md"));
        assert.ok(section, 'tools/pulumi-language-python/README.md: no "## RPCs" section');
        assert.deepEqual([...section[1].matchAll(/^- `(\w+)`/gm)].map((m) => m[1]).sort(), implemented);
    });

    it("runs the program through its own runner.py (embedded), not an upstream exec script", () => {
        const run = read("tools/pulumi-language-python/run.go");
        assert.match(run, /\/\/go:embed runner\.py/);
        assert.match(read("tools/pulumi-language-python/runner.py"), /run_in_stack/);
    });
});
