/**
 * The documentation holds together: README stays an overview, every relative link and #anchor in the Markdown
 * resolves, every docs/ page is reachable from the README, the e2e step table names exactly the steps that
 * `npm run e2e -- --list` prints (e2e/run.ts STEPS is the one list), and every `docs/<page>.md#anchor` that a code
 * comment cites exists.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

/**
 * Pages that other branches of issue #22 write (docs/configuration.md is generated): a link to one of them may
 * point ahead while it is missing from this tree; once the page exists, its anchors are checked like any other.
 */
const WRITTEN_ELSEWHERE = new Set<string>(); // pages linked before they exist (none now)

const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

/** The Markdown files of the documentation, relative to the repository. */
function markdownFiles(): string[] {
    const docs = fs.existsSync(path.join(ROOT, "docs")) ? fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`) : [];
    return ["README.md", "CHANGELOG.md", "e2e/README.md", "bench/RESULTS.md", ...docs].filter((f) => fs.existsSync(path.join(ROOT, f)));
}

/** The text outside fenced code blocks (a link in a code sample is not a link). */
function prose(markdown: string): string {
    return markdown.replace(/^```[\s\S]*?^```/gm, "");
}

/** GitHub's heading anchors: lowercase, punctuation dropped, each space a hyphen, repeats suffixed -1, -2, ... */
export function anchorsOf(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
        const base = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const [, id] of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id);
    return anchors;
}

/** Relative links `[text](target)` of a Markdown file: external URLs and mail links left out. */
function relativeLinks(markdown: string): string[] {
    return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

/** Problems with one link from `from` (a repository-relative file), or undefined when it resolves. */
function linkProblem(from: string, target: string): string | undefined {
    const [file, anchor] = target.split("#", 2);
    const rel = file === "" ? from : path.posix.normalize(path.posix.join(path.posix.dirname(from), file));
    if (rel.startsWith("..")) return `${from}: ${target} leaves the repository`;
    if (!fs.existsSync(path.join(ROOT, rel))) return WRITTEN_ELSEWHERE.has(rel) ? undefined : `${from}: ${target}: no file ${rel}`;
    if (anchor === undefined || !rel.endsWith(".md")) return undefined;
    return anchorsOf(read(rel)).has(anchor) ? undefined : `${from}: ${target}: ${rel} has no heading #${anchor}`;
}

describe("documentation (README.md, docs/, CHANGELOG.md, e2e/README.md)", () => {
    it("README.md is an overview: at most ~200 lines, and it links to every page in docs/", () => {
        const readme = read("README.md");
        // The verbatim example programs of "Use it from your program" (test/examples.spec.ts keeps them equal to
        // examples/) are not prose: the overview cap counts everything else.
        const examples = /^## Use it from your program\n[\s\S]*?(?=^## )/m.exec(readme)?.[0] ?? "";
        const exampleCode = (examples.match(/^```[a-z]+\n[\s\S]*?^```\n/gm) ?? []).join("");
        const lines = readme.split("\n").length - exampleCode.split("\n").length + 1;
        assert.ok(lines <= 210, `README.md has ${lines} lines besides the example programs; move detail into docs/ (issue #22: ≤ ~200)`);
        const linked = new Set(relativeLinks(readme).map((t) => path.posix.normalize(t.split("#")[0])));
        const orphans = markdownFiles().filter((f) => f.startsWith("docs/") && !linked.has(f));
        assert.deepEqual(orphans, [], "docs/ pages the README does not link to");
    });

    it("every relative link and #anchor resolves", () => {
        const problems = markdownFiles().flatMap((f) => relativeLinks(read(f)).map((t) => linkProblem(f, t)).filter((p): p is string => p !== undefined));
        assert.deepEqual(problems, []);
    });

    it("the anchor rule is GitHub's", () => {
        const anchors = anchorsOf("# A b\n## CA rotation, live (step ca-rotation, `e2e/rotation.ts`)\n## A b\n```\n# not a heading\n```\n");
        assert.deepEqual([...anchors], ["a-b", "ca-rotation-live-step-ca-rotation-e2erotationts", "a-b-1"]);
    });

    it("every docs/<page>.md#anchor cited in a code comment exists", () => {
        const sources: string[] = [];
        const walk = (dir: string) => {
            for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
                const rel = path.posix.join(dir, entry.name);
                if (entry.isDirectory() && entry.name !== "node_modules" && !entry.name.startsWith(".")) walk(rel);
                else if (entry.isFile() && entry.name.endsWith(".ts")) sources.push(rel);
            }
        };
        ["components", "scripts", "e2e", "bench", "test", "provider", "policy"].filter((d) => fs.existsSync(path.join(ROOT, d))).forEach(walk);
        sources.push("index.ts");
        const problems: string[] = [];
        for (const src of sources) {
            for (const [, page, anchor] of read(src).matchAll(/\bdocs\/([a-z0-9-]+\.md)#([a-z0-9-]+)/g)) {
                const rel = `docs/${page}`;
                if (!fs.existsSync(path.join(ROOT, rel))) {
                    if (!WRITTEN_ELSEWHERE.has(rel)) problems.push(`${src}: docs/${page}#${anchor}: no file ${rel}`);
                } else if (!anchorsOf(read(rel)).has(anchor)) problems.push(`${src}: docs/${page}#${anchor}: no such heading`);
            }
        }
        assert.deepEqual(problems, []);
    });

    it("e2e/README.md's step table names exactly the steps of `npm run e2e -- --list`, in its order", () => {
        const listed = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "e2e", "run.ts"), "--list"], {
            cwd: ROOT,
            encoding: "utf8",
        })
            .split("\n")
            .map((line) => /^\d+\. ([a-z0-9-]+)[ :(]/.exec(line)?.[1])
            .filter((name): name is string => name !== undefined);
        assert.ok(listed.includes("up") && listed.includes("teardown"), `--list printed no steps: ${listed.join(", ")}`);
        const readme = read("e2e/README.md");
        const table = readme.slice(readme.indexOf("## Steps"), readme.indexOf("\n## ", readme.indexOf("## Steps") + 1));
        const documented = [...table.matchAll(/^\| ([a-z0-9-]+) \|/gm)].map((m) => m[1]).filter((n) => n !== "step");
        assert.deepEqual(documented, listed);
    });
});
