/**
 * The NodeFiles loader (`nodeFilesProvider` in components/sinks/node-files.ts), as the engine's dynamic-provider
 * process runs it: every provider call goes through the loader, and the orphan watchdog must be started once per
 * process, not once per call (before, each call added another 1-second /proc poll: hundreds in a fleet's up).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

describe("NodeFiles loader in the dynamic-provider process", function () {
    this.timeout(120_000);

    it("starts the orphan watchdog once however many provider calls the engine makes", () => {
        const script = `
            process.argv[1] = "/opt/pulumi/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js";
            let intervals = 0;
            const setIntervalOf = global.setInterval;
            global.setInterval = (...a) => (intervals++, setIntervalOf(...a));
            const { nodeFilesProvider } = require(${JSON.stringify(path.join(ROOT, "components/sinks/node-files.ts"))});
            (async () => {
                for (let i = 0; i < 5; i++) await nodeFilesProvider.check({}, { root: "relative", node: "n" });
                console.log(intervals);
            })();`;
        const r = spawnSync(process.execPath, ["--require", "./components/program-loader.js", "-e", script], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(Number(r.stdout.trim()), 1, "one watchdog timer after 5 calls");
    });
});
