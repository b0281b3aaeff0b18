/**
 * RemoteNodeFiles owner/group, live: the provider (create / diff / update) over a real OpenSSH server on loopback
 * (Debian's sshd, e2e/sshd.ts, started and stopped here), writing as root. Proves: the files get the configured user
 * and group (daemon, resolved on the machine); dropping owner/group is a change, and the update gives the files back
 * to root (before the fix, diff said "no changes" and the files stayed daemon's); an owner changed on the machine is
 * drift. Skipped unless run as root with sshd installed (the e2e step `delivery` covers the sudo path).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { remoteFilesImpl } from "../components/sinks/remote-files/provider";
import { freePort, setLogDir } from "../e2e/procs";
import { keygen, Machine, prepareMachine, SSHD, startSshd, stopSshd } from "../e2e/sshd";

const live = process.getuid?.() === 0 && fs.existsSync(SSHD);
const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
const FILES: Record<string, { content: string; mode: string }> = {
    "etc/kubernetes/pki/ca.crt": { content: "CA CERT\n", mode: "0644" },
    "etc/kubernetes/admin.conf": { content: "apiVersion: v1\nkind: Config\n", mode: "0600" },
};
/** uid:gid of a user and group by name, as this machine resolves them. */
const idsOf = (user: string, group: string) =>
    `${spawnSync("getent", ["passwd", user], { encoding: "utf8" }).stdout.split(":")[2]}:${spawnSync("getent", ["group", group], { encoding: "utf8" }).stdout.split(":")[2]}`;

(live ? describe : describe.skip)("sinks: remote node files owner/group over a real sshd", function () {
    this.timeout(120_000);
    let dir = "";
    let m: Machine;
    let base: Record<string, unknown>;
    const owners = () => Object.keys(FILES).map((rel) => fs.statSync(path.join(m.root, "cp-1", rel))).map((st) => `${st.uid}:${st.gid}`);

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-owner-"));
        fs.chmodSync(dir, 0o755);
        setLogDir(dir);
        const clientKey = path.join(dir, "client_ed25519");
        await keygen(clientKey, "kube-pki-owner-test");
        m = { name: "owner", address: "127.0.0.1", port: await freePort(), dir: path.join(dir, "machine"), root: path.join(dir, "machine", "root"), hostKeyFile: path.join(dir, "machine", "host_ed25519") };
        await prepareMachine(m, `${clientKey}.pub`);
        fs.mkdirSync(m.root, { mode: 0o755 });
        await startSshd(m);
        base = {
            node: "cp-1",
            root: m.root,
            host: m.address,
            port: m.port,
            user: "root",
            hostKey: fs.readFileSync(`${m.hostKeyFile}.pub`, "utf8").trim(),
            privateKey: fs.readFileSync(clientKey, "utf8"),
            manifest: Object.fromEntries(Object.entries(FILES).map(([rel, f]) => [rel, { mode: f.mode, secret: false, sha256: sha(f.content) }])),
            contents: Object.fromEntries(Object.entries(FILES).map(([rel, f]) => [rel, f.content])),
        };
    });
    after(async () => {
        if (m) await stopSshd(m);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("create gives the files to owner/group; dropping them is a change and the update gives them back to root; an owner changed on the machine is drift", async () => {
        const daemon = idsOf("daemon", "daemon");
        assert.match(daemon, /^\d+:\d+$/, "the machine has a daemon user and group");
        const withOwner = { ...base, owner: "daemon", group: "daemon" };
        const created = await remoteFilesImpl.create(withOwner);
        assert.deepEqual(owners(), Object.keys(FILES).map(() => daemon));
        assert.equal((await remoteFilesImpl.diff!(created.id, created.outs, withOwner)).changes, false, "the same owner: no change");

        const dropped = await remoteFilesImpl.diff!(created.id, created.outs, { ...base });
        assert.equal(dropped.changes, true, "dropping owner/group (back to root) is a change");
        const updated = await remoteFilesImpl.update!(created.id, created.outs, { ...base });
        assert.deepEqual(owners(), Object.keys(FILES).map(() => "0:0"));

        // someone chowns a file on the machine: diff sees it, check names it, the update repairs it
        fs.chownSync(path.join(m.root, "cp-1", "etc/kubernetes/admin.conf"), 1, 1);
        assert.equal((await remoteFilesImpl.diff!(created.id, updated.outs, { ...base })).changes, true);
        const checked = await remoteFilesImpl.check!({ ...base, ...updated.outs }, { ...base });
        assert.ok(((checked.inputs as { drift?: string[] }).drift ?? []).includes("etc/kubernetes/admin.conf: owner 1:1 on the machine, written 0:0"), JSON.stringify(checked.inputs.drift));
        await remoteFilesImpl.update!(created.id, updated.outs, { ...base });
        assert.deepEqual(owners(), Object.keys(FILES).map(() => "0:0"));
    });
});
