/**
 * Crash recovery of pending creates (scripts/recovery.ts) on a real file backend written by the real Pulumi CLI:
 * the repeatable creates (tls, random, NodeFiles) are dropped from the checkpoint as stored — no secret is
 * decrypted or written anywhere — and only under the stack's lock, with no other lock, on an unchanged checkpoint.
 * Skipped without the Pulumi CLI (scripts/tools.sh build pulumi).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { clearPendingCreates } from "../scripts/workspace";
import { createTestStack, filesContaining, PASSPHRASE, pendingOps, pulumiCli, TestStack } from "./support/pulumi-state";

describe("crash recovery: pending creates (file backend, real Pulumi CLI)", function () {
    if (!pulumiCli()) {
        it.skip("needs the Pulumi CLI (bash scripts/tools.sh build pulumi)");
        return;
    }
    this.timeout(180_000);
    const NAME = "crash";
    let dir: string;
    let tmp: string;
    let url: string;
    let ts: TestStack;
    let savedTmp: string | undefined;
    let checkpoint: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-pending-"));
        tmp = path.join(dir, "tmp");
        fs.mkdirSync(tmp, { mode: 0o700 });
        // everything this process and the CLI put in a temp dir lands here, where the spec looks for clear text
        savedTmp = process.env.TMPDIR;
        process.env.TMPDIR = tmp;
        url = `file://${path.join(dir, "state")}`;
        ts = createTestStack(dir, url, NAME, { TMPDIR: tmp });
        checkpoint = path.join(dir, "state/.pulumi/stacks/kube-pki", `${NAME}.json`);
        const doc = JSON.parse(fs.readFileSync(checkpoint, "utf8"));
        doc.checkpoint.latest.pending_operations = pendingOps(NAME);
        fs.writeFileSync(checkpoint, JSON.stringify(doc, null, 4));
    });
    afterEach(() => {
        if (savedTmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = savedTmp;
        fs.rmSync(dir, { recursive: true, force: true });
    });

    async function stack(): Promise<Stack> {
        const pulumiCommand = await PulumiCommand.get({ skipVersionCheck: true });
        const envVars = { PULUMI_BACKEND_URL: url, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE, PULUMI_HOME: ts.env.PULUMI_HOME!, PATH: process.env.PATH ?? "", TMPDIR: tmp };
        return Stack.select(NAME, await LocalWorkspace.create({ workDir: ts.project, envVars, pulumiCommand }));
    }
    const pendingTypes = () => (JSON.parse(fs.readFileSync(checkpoint, "utf8")).checkpoint.latest.pending_operations ?? []).map((op: { type: string; resource: { type: string } }) => `${op.type} ${op.resource.type}`);
    const lockDir = () => path.join(dir, "state/.pulumi/locks/organization/kube-pki", NAME);

    it("drops the pending creates of tls and NodeFiles and the components' operations, keeps the kubernetes update, decrypts nothing", async () => {
        const raw0 = fs.readFileSync(checkpoint, "utf8");
        assert.ok(!raw0.includes("PRIVATE KEY") && raw0.includes("ciphertext"), "the CLI stored the key encrypted");
        await clearPendingCreates(await stack(), url);
        assert.deepEqual(pendingTypes(), ["updating kubernetes:core/v1:Secret"], "NodeFiles is repeatable too (pulumi-nodejs:dynamic:NodeFiles)");
        const raw = fs.readFileSync(checkpoint, "utf8");
        assert.ok(!raw.includes("PRIVATE KEY") && raw.includes("ciphertext"), "the key is still ciphertext in the state");
        assert.ok(ts.cli(["stack", "export", "--show-secrets", "--stack", NAME]).includes(ts.keyPem.split("\n")[1]), "the engine still opens the edited state");
        assert.deepEqual(filesContaining(tmp, "PRIVATE KEY"), [], "no clear-text key in any temp file");
        assert.deepEqual(fs.existsSync(lockDir()) ? fs.readdirSync(lockDir()) : [], [], "no lock left behind");
    });

    it("with a lock (a run may still be going) leaves the state as it is and writes no secret anywhere", async () => {
        fs.mkdirSync(lockDir(), { recursive: true });
        fs.writeFileSync(path.join(lockDir(), "0b4d3f1e-live-run.json"), JSON.stringify({ pid: process.pid, username: "x", hostname: os.hostname(), timestamp: new Date().toISOString() }));
        const before = fs.readFileSync(checkpoint);
        const logs: string[] = [];
        const saved = console.error;
        console.error = (...a: unknown[]) => void logs.push(a.join(" "));
        try {
            await clearPendingCreates(await stack(), url);
        } catch {
            /* an engine error counts as "did not rewrite"; what it left on disk is checked below */
        } finally {
            console.error = saved;
        }
        assert.deepEqual(filesContaining(tmp, "PRIVATE KEY"), [], "no decrypted deployment left in the temp dir");
        assert.ok(fs.readFileSync(checkpoint).equals(before), "the checkpoint is unchanged");
        assert.match(logs.join("\n"), /a lock: a run may still be going: left the state as it is\. .*pulumi -- cancel --stack crash/);
        assert.deepEqual(fs.readdirSync(lockDir()), ["0b4d3f1e-live-run.json"], "only the other run's lock");
    });

    it("a checkpoint that changed since it was read is not written", async () => {
        const { applyPendingCleanup, planPendingCleanup } = await import("../scripts/recovery");
        const plan = planPendingCleanup(url, NAME)!;
        assert.equal(plan.drop.length, 4);
        const changed = fs.readFileSync(checkpoint, "utf8").replace(/\n$/, "") + "\n\n";
        fs.writeFileSync(checkpoint, changed);
        assert.equal(applyPendingCleanup(url, NAME, plan), "changed");
        assert.equal(fs.readFileSync(checkpoint, "utf8"), changed);
        assert.deepEqual(fs.readdirSync(lockDir()), [], "its own lock is released");
    });
});
