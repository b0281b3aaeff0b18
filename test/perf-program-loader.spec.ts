/**
 * components/program-loader.js (Pulumi.yaml `nodeargs: --require`): the project's program runs its TypeScript
 * through a content-addressed transpile cache instead of ts-node. Real node processes on a temp copy of the
 * loader; what is checked is behaviour: the program runs, a changed source runs changed (never a stale cache
 * entry), a cached run does not load the TypeScript compiler, and Pulumi.yaml wires the loader.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

const ROOT = path.resolve(__dirname, "..");

describe("program loader: TypeScript through a content-addressed transpile cache", function () {
    this.timeout(120_000);
    let dir: string;

    beforeEach(() => {
        // a project of its own: the loader, the tsconfigs, node_modules linked (typescript), one module and a main
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-loader-"));
        fs.mkdirSync(path.join(dir, "components"));
        fs.copyFileSync(path.join(ROOT, "components/program-loader.js"), path.join(dir, "components/program-loader.js"));
        for (const f of ["tsconfig.json", "tsconfig.pulumi.json"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
        fs.mkdirSync(path.join(dir, "node_modules"));
        fs.symlinkSync(path.join(ROOT, "node_modules/typescript"), path.join(dir, "node_modules/typescript"));
        fs.writeFileSync(path.join(dir, "components/greet.ts"), `export const greeting: string = "one";\nexport enum Mode { A = 1 }\n`);
        fs.writeFileSync(
            path.join(dir, "index.ts"),
            `import { greeting, Mode } from "./components/greet";\n` +
                `const typed: number = Mode.A;\n` +
                `console.log(JSON.stringify({ greeting, typed, compilerLoaded: Object.keys(require.cache).some((k) => /[\\\\/]typescript[\\\\/]lib[\\\\/]typescript\\.js$/.test(k)) }));\n`,
        );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = () => {
        const r = spawnSync(process.execPath, ["--require", "./components/program-loader.js", "index.ts"], { cwd: dir, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout.trim().split("\n").pop()!) as { greeting: string; typed: number; compilerLoaded: boolean };
    };
    const cacheEntries = () => fs.readdirSync(path.join(dir, "node_modules/.cache/kube-pki-program")).filter((f) => f.endsWith(".js"));

    it("runs the TypeScript program; the second run comes from the cache without loading the compiler", () => {
        assert.deepEqual(run(), { greeting: "one", typed: 1, compilerLoaded: true });
        assert.equal(cacheEntries().length, 2, "one entry per module (index.ts, greet.ts)");
        assert.deepEqual(run(), { greeting: "one", typed: 1, compilerLoaded: false });
    });

    it("a changed source runs changed: the cache key is the source's hash, so no entry is ever stale", () => {
        run();
        const file = path.join(dir, "components/greet.ts");
        const mtime = fs.statSync(file).mtime;
        fs.writeFileSync(file, `export const greeting: string = "two";\nexport enum Mode { A = 7 }\n`);
        fs.utimesSync(file, mtime, mtime); // same mtime: a timestamp check would run the old code
        assert.deepEqual(run(), { greeting: "two", typed: 7, compilerLoaded: true });
        assert.equal(cacheEntries().length, 3);
    });

    it("a change of compiler options is a new key too", () => {
        run();
        const cfg = path.join(dir, "tsconfig.pulumi.json");
        fs.writeFileSync(cfg, fs.readFileSync(cfg, "utf8").replace('"noCheck": true', '"noCheck": true, "removeComments": true'));
        assert.equal(run().compilerLoaded, true);
        assert.equal(cacheEntries().length, 4);
    });

    it("Pulumi.yaml runs the program through the loader, not ts-node", () => {
        const project = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        assert.equal(project.main, "index.ts");
        assert.equal(project.runtime.options.typescript, false);
        assert.match(project.runtime.options.nodeargs, /--require \.\/components\/program-loader\.js/);
        assert.ok(fs.existsSync(path.join(ROOT, project.runtime.options.nodeargs.split(" ").pop())));
    });
});
