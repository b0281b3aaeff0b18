/**
 * Crash recovery of the file backend's metadata (scripts/recovery.ts clearTornAttrs): a kill -9 while the blob
 * store rewrites `<stack>.json.attrs` in place leaves it empty, and the real Pulumi CLI then refuses the stack
 * ("failed to load checkpoint: EOF"); the wrapper removes exactly that file and the stack loads again, unchanged.
 * Real CLI, real file backend. Skipped without the Pulumi CLI (scripts/tools.sh build pulumi).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { clearTornAttrs } from "../scripts/workspace";
import { createTestStack, pulumiCli, TestStack } from "./support/pulumi-state";

describe("crash recovery: a torn .attrs of the checkpoint (file backend, real Pulumi CLI)", function () {
    if (!pulumiCli()) {
        it.skip("needs the Pulumi CLI (bash scripts/tools.sh build pulumi)");
        return;
    }
    this.timeout(180_000);
    const NAME = "torn";
    let dir: string;
    let url: string;
    let ts: TestStack;
    let checkpoint: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-attrs-"));
        url = `file://${path.join(dir, "state")}`;
        ts = createTestStack(dir, url, NAME);
        checkpoint = path.join(dir, "state/.pulumi/stacks/kube-pki", `${NAME}.json`);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const exportStack = () => spawnSync("pulumi", ["stack", "export", "--stack", NAME], { cwd: ts.project, env: ts.env, encoding: "utf8" });

    it("leaves a readable .attrs alone", () => {
        assert.ok(fs.existsSync(`${checkpoint}.attrs`), "the CLI's blob store wrote the checkpoint's .attrs");
        assert.deepEqual(clearTornAttrs(url, NAME), []);
        assert.ok(fs.existsSync(`${checkpoint}.attrs`));
    });

    it("an empty .attrs (a kill -9 mid-write): the CLI fails with EOF; removed, the stack loads with the same deployment", () => {
        const before = exportStack();
        assert.equal(before.status, 0, before.stderr);
        fs.writeFileSync(`${checkpoint}.attrs`, ""); // os.Create done, the encode never ran
        const torn = exportStack();
        assert.notEqual(torn.status, 0, "the fault is real: the CLI refuses the stack");
        assert.match(torn.stderr, /EOF/);
        assert.deepEqual(clearTornAttrs(url, NAME), [`${checkpoint}.attrs`]);
        const after = exportStack();
        assert.equal(after.status, 0, after.stderr);
        assert.deepEqual(JSON.parse(after.stdout).deployment.resources, JSON.parse(before.stdout).deployment.resources);
    });
});
