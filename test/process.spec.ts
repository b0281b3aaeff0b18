/**
 * components/process.ts: a recorded process is "dead" only when this process can prove it (same PID namespace and
 * boot, pid gone or reused); another namespace or boot is "unknown". Real processes: children of this test, and
 * (as root, where unshare works) one in its own PID namespace.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { decodeIdentity, encodeIdentity, identityOf, killIdentified, liveness, pidLivenessIn, processStartTime, selfIdentity } from "../components/process";
import { canUnshare, deadIdentity, startSleeper, stopped } from "./support/processes";

describe("process identity and liveness (components/process.ts)", function () {
    if (process.platform !== "linux") {
        it.skip("needs /proc");
        return;
    }

    it("records pid, start time (stat field 22), PID namespace and boot id", () => {
        const me = selfIdentity()!;
        assert.equal(me.pid, process.pid);
        assert.equal(me.pidNs, fs.readlinkSync("/proc/self/ns/pid"));
        assert.equal(me.boot, fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
        const stat = fs.readFileSync("/proc/self/stat", "utf8");
        assert.equal(me.start, stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
        assert.equal(liveness(me), "alive");
        assert.deepEqual(decodeIdentity(encodeIdentity(me, "/a;b/checkout")), { id: me, tag: "/a;b/checkout" });
        assert.equal(decodeIdentity(String(process.pid)), undefined, "a bare pid is no identity");
    });

    it("a gone process is dead; the same pid with another start time is dead (reused); a live one is alive", async () => {
        const gone = await deadIdentity();
        assert.equal(liveness(gone), "dead");
        const child = startSleeper();
        await new Promise((r) => child.once("spawn", r));
        try {
            const id = identityOf(child.pid!)!;
            assert.equal(liveness(id), "alive");
            assert.equal(liveness({ ...id, start: String(Number(id.start) + 1) }), "dead", "pid reused by a later process");
            assert.equal(pidLivenessIn(child.pid!, selfIdentity()!), "unknown", "a live pid without a recorded start proves nothing");
            assert.equal(killIdentified({ ...id, start: "1" }), false, "never signals a process that is not the identified one");
            assert.equal(processStartTime(child.pid!), id.start);
        } finally {
            await stopped(child);
        }
        assert.equal(pidLivenessIn(gone.pid, selfIdentity()!), "dead");
    });

    it("a record from another PID namespace or another boot is never dead, even when its pid is gone here", async () => {
        const gone = await deadIdentity();
        assert.equal(liveness({ ...gone, pidNs: "pid:[1]" }), "unknown");
        assert.equal(liveness({ ...gone, boot: "00000000-0000-0000-0000-000000000000" }), "unknown");
        assert.equal(pidLivenessIn(gone.pid, { ...gone, pidNs: "pid:[1]" }), "unknown");
    });

    (canUnshare ? it : it.skip)("a process in its own PID namespace (unshare) shows another namespace", async () => {
        const child = spawn("unshare", ["--pid", "--fork", "--kill-child", "sleep", "300"], { stdio: "ignore" });
        try {
            let inner: number | undefined;
            for (let i = 0; i < 100 && !inner; i++) {
                await new Promise((r) => setTimeout(r, 20));
                inner = fs
                    .readdirSync("/proc")
                    .map(Number)
                    .find((p) => Number.isInteger(p) && fs.existsSync(`/proc/${p}/stat`) && (() => { try { return fs.readFileSync(`/proc/${p}/stat`, "utf8").split(" ")[3] === String(child.pid) && /\(sleep\)/.test(fs.readFileSync(`/proc/${p}/stat`, "utf8")); } catch { return false; } })());
            }
            assert.ok(inner, "the namespaced sleep is visible from here");
            const id = identityOf(inner!)!;
            assert.notEqual(id.pidNs, selfIdentity()!.pidNs);
            assert.equal(liveness(id), "unknown", "another namespace: nothing is proved from here");
        } finally {
            await stopped(child);
        }
    });
});
