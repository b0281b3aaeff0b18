/**
 * Crash recovery (scripts/recovery.ts): the orphan reaper and stale-lock removal act only on what they can prove
 * is this checkout's and dead. Real processes (children of this test, one in its own PID namespace) and real lock
 * and run-record files in a temp file backend.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodeIdentity, identityOf, ProcessIdentity, selfIdentity } from "../components/process";
import { clearStaleLocks, reapOrphans } from "../scripts/workspace";
import { canUnshare, deadIdentity, stopped } from "./support/processes";

const MARKER = "KUBE_PKI_RUN_OWNER";
const OWNER_ID = "KUBE_PKI_RUN_OWNER_ID";

/** The marker variables a run of `checkout` owned by `owner` puts on its processes (a bare pid: older wrappers). */
const markers = (owner: ProcessIdentity | number, checkout?: string): Record<string, string> =>
    typeof owner === "number" ? { [MARKER]: String(owner) } : { [MARKER]: String(owner.pid), [OWNER_ID]: encodeIdentity(owner, checkout) };

async function marked(vars: Record<string, string>): Promise<ChildProcess> {
    const child = spawn("sleep", ["300"], { env: { ...process.env, [MARKER]: "", [OWNER_ID]: "", ...vars }, stdio: "ignore" });
    await new Promise((r) => child.once("spawn", r));
    await new Promise((r) => setTimeout(r, 100)); // exec done: /proc/<pid>/environ holds the marker
    return child;
}

/** A marked sleep in its own PID namespace, as a container's run: `unshare` (unmarked) and the sleep's host pid. */
async function markedInNamespace(vars: Record<string, string>): Promise<{ unshare: ChildProcess; pid: number }> {
    const assignments = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
    const unshare = spawn("unshare", ["--pid", "--fork", "--kill-child", "env", ...assignments, "sleep", "300"], { stdio: "ignore" });
    for (let i = 0; i < 200; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const pid = fs.readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, "utf8").trim().split(/\s+/).map(Number)[0];
        if (pid && /\(sleep\)/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))) return { unshare, pid };
    }
    throw new Error("the namespaced sleep did not start");
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const pidRunning = (pid: number) => {
    try {
        return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
};

describe("orphan reaper (KUBE_PKI_RUN_OWNER)", function () {
    if (process.platform !== "linux") {
        it.skip("needs /proc");
        return;
    }
    const children: ChildProcess[] = [];
    let checkout: string;
    before(() => (checkout = fs.mkdtempSync(path.join(os.tmpdir(), "kp-reaper-checkout-"))));
    after(async () => {
        for (const c of children) await stopped(c);
        fs.rmSync(checkout, { recursive: true, force: true });
    });

    it("stops a process of this checkout whose recorded owner is provably dead, and nothing else", async () => {
        const dead = await deadIdentity();
        const self = selfIdentity()!;
        const orphan = await marked(markers(dead, checkout));
        const otherCheckout = await marked(markers(dead, `${checkout}-other`));
        const liveOwner = await marked(markers(self, checkout));
        const otherNs = await marked(markers({ ...dead, pidNs: "pid:[1]" }, checkout));
        const bare = await marked(markers(dead.pid)); // what older wrappers wrote: a bare pid proves nothing
        const mismatch = await marked({ ...markers(dead, checkout), [MARKER]: String(self.pid) }); // pid and identity disagree
        children.push(orphan, otherCheckout, liveOwner, otherNs, bare, mismatch);
        const stoppedNames = reapOrphans(checkout);
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(stoppedNames, [`sleep (pid ${orphan.pid})`]);
        assert.ok(!running(orphan), "the orphan is stopped");
        for (const [what, c] of [["another checkout", otherCheckout], ["a live owner", liveOwner], ["an owner in another PID namespace", otherNs], ["a bare-pid marker", bare], ["a marker whose pid and identity disagree", mismatch]] as const) {
            assert.ok(running(c), `a process of ${what} is left alone`);
        }
    });

    (canUnshare ? it : it.skip)("leaves a marked process in another PID namespace alone, though its owner pid is dead here", async () => {
        const dead = await deadIdentity();
        // as a container's run would mark it: a bare pid (older wrapper) and a full identity of this checkout
        const a = await markedInNamespace(markers(dead.pid));
        const b = await markedInNamespace(markers(dead, checkout));
        children.push(a.unshare, b.unshare);
        reapOrphans(checkout);
        await new Promise((r) => setTimeout(r, 200));
        assert.ok(pidRunning(a.pid) && pidRunning(b.pid), "processes of another PID namespace are never killed");
    });
});

describe("stale-lock removal (file backend)", function () {
    if (process.platform !== "linux") {
        it.skip("needs /proc");
        return;
    }
    const STACK = "locktest";
    let root: string;
    let url: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "kp-locks-"));
        url = `file://${root}`;
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    const lockFile = (pid: number, extra: object = {}, taken = new Date()) => {
        const dir = path.join(root, ".pulumi/locks/organization/kube-pki", STACK);
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `${pid}-${Math.random().toString(16).slice(2)}.json`);
        fs.writeFileSync(file, JSON.stringify({ pid, username: os.userInfo().username, hostname: os.hostname(), timestamp: taken.toISOString(), ...extra }));
        return file;
    };
    const record = (owner: ProcessIdentity, extra: object = {}, startedAt = new Date(Date.now() - 60_000)) => {
        const dir = path.join(root, ".kube-pki/runs", STACK);
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `${owner.pid}-${owner.start}.json`);
        fs.writeFileSync(file, JSON.stringify({ owner, hostname: os.hostname(), checkout: root, stack: STACK, startedAt: startedAt.toISOString(), ...extra }));
        return file;
    };

    it("keeps a lock of a dead pid on this host when no run record proves whose it was", async () => {
        const gone = await deadIdentity();
        const file = lockFile(gone.pid);
        const verdict = clearStaleLocks(url, STACK, root);
        assert.ok(fs.existsSync(file), "a dead pid alone proves nothing (another PID namespace, a plain pulumi run)");
        assert.deepEqual(verdict.removed ?? verdict, []);
    });

    it("removes a lock taken by a run of this checkout whose wrapper and CLI are provably dead, and the record", async () => {
        const wrapper = await deadIdentity();
        const cli = await deadIdentity();
        const rec = record(wrapper);
        const file = lockFile(cli.pid);
        const verdict = clearStaleLocks(url, STACK, root);
        assert.ok(!fs.existsSync(file), "the lock is removed");
        assert.ok(!fs.existsSync(rec), "the record of the dead run is removed");
        assert.equal(verdict.removed.length, 1);
    });

    it("keeps the lock when anything is not proved: live CLI pid, live wrapper, other namespace, checkout, host, or a lock older than the run", async () => {
        const cases: [string, () => Promise<string>][] = [
            ["the lock's pid is alive", async () => (record(await deadIdentity()), lockFile(process.pid))],
            ["the run's wrapper is alive", async () => (record(selfIdentity()!), lockFile((await deadIdentity()).pid))],
            ["the run was in another PID namespace", async () => (record({ ...(await deadIdentity()), pidNs: "pid:[1]" }), lockFile((await deadIdentity()).pid))],
            ["the run was of another checkout", async () => (record(await deadIdentity(), { checkout: "/elsewhere" }), lockFile((await deadIdentity()).pid))],
            ["the lock is of another host", async () => (record(await deadIdentity()), lockFile((await deadIdentity()).pid, { hostname: "other-host" }))],
            ["the lock is older than the run", async () => (record(await deadIdentity()), lockFile((await deadIdentity()).pid, {}, new Date(Date.now() - 3_600_000)))],
        ];
        for (const [what, setup] of cases) {
            fs.rmSync(path.join(root, ".pulumi"), { recursive: true, force: true });
            fs.rmSync(path.join(root, ".kube-pki"), { recursive: true, force: true });
            const file = await setup();
            const verdict = clearStaleLocks(url, STACK, root);
            assert.ok(fs.existsSync(file), `kept: ${what}`);
            assert.equal(verdict.kept.length, 1, what);
        }
        const live = identityOf(process.pid)!;
        assert.ok(live);
    });

    it("never touches a lock of another backend", () => {
        const verdict = clearStaleLocks("postgres://u@127.0.0.1:1/db", STACK, root);
        assert.deepEqual(verdict, { removed: [], kept: [] });
    });
});
