/**
 * RemoteNodeFiles: the programs the sink runs on a node (plan.ts), executed here by the real /bin/sh against
 * temp dirs (what sshd would run; the e2e step `delivery` runs them over SSH): staging order and modes,
 * confinement on the machine, the journal of an interrupted write, and the refusal messages of the args,
 * the config and the host-key pin.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { FileMap } from "../components/internal";
import { remoteNodeFilesArgsProblems } from "../components/sinks/remote-files";
import { FileOwner, inspectProgram, parseOutput, removeProgram, stagingOrder, writeProgram } from "../components/sinks/remote-files/plan";
import { fingerprintOf, pinnedFingerprint } from "../components/sinks/remote-files/ssh";
import { remoteNodesSchema, remoteSinkProblems } from "../components/sinks/remote-config";
import { testKeyPem } from "./support/x509";

const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
const modeOf = (p: string) => (fs.lstatSync(p).mode & 0o7777).toString(8);

const FILES = [
    { path: "etc/kubernetes/pki/ca.key", content: testKeyPem(), mode: "0600" },
    { path: "etc/kubernetes/pki/ca.crt", content: "CA CERT\n", mode: "0644" },
    { path: "etc/kubernetes/admin.conf", content: "apiVersion: v1\nkind: Config\n", mode: "0600" },
    { path: "etc/kubernetes/scheduler.conf", content: "scheduler\n", mode: "0600" },
    { path: "var/lib/kubelet/pki/kubelet.crt", content: "KUBELET\n", mode: "0644" },
];
const DIR_MODES = { etc: 0o755, "etc/kubernetes": 0o700, "etc/kubernetes/pki": 0o700, var: 0o755, "var/lib": 0o755, "var/lib/kubelet": 0o755, "var/lib/kubelet/pki": 0o755 };

const roots: string[] = [];
function tmpRoot(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-remote-"));
    fs.chmodSync(d, 0o755);
    roots.push(d);
    return d;
}

/** Runs a program as sshd would (/bin/sh -c), feeding the files' base64 lines in staging order. */
function sh(program: string, files: { path: string; content: string }[] = [], cut = false) {
    const lines = files.map((f) => Buffer.from(f.content, "utf8").toString("base64"));
    const input = cut ? `${lines[0]}\n` : lines.map((l) => `${l}\n`).join("");
    const r = spawnSync("/bin/sh", ["-c", program], { input, encoding: "utf8" });
    return { ...parseOutput(r.stdout), status: r.status, stderr: r.stderr };
}

function write(root: string, files = FILES, nonce = "0123abcd", cut = false, owner?: FileOwner) {
    const ordered = stagingOrder(files);
    const program = writeProgram({
        owner,
        root,
        node: "cp-1",
        nonce,
        files: ordered.map((f) => ({ path: f.path, mode: f.mode, sha256: sha(f.content) })),
        all: files.map((f) => f.path),
        dirModes: DIR_MODES,
        nodeMode: 0o755,
    });
    return { program, result: sh(program, ordered, cut) };
}

describe("sinks: remote node files (the programs run on the machine)", function () {
    this.timeout(60_000);
    after(() => roots.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    it("writes every file with its mode, directory modes by rule; reports hashes computed there; no content in the program", () => {
        const root = tmpRoot();
        const { program, result } = write(root);
        assert.equal(result.status, 0, result.stderr);
        assert.ok(result.ok, JSON.stringify(result));
        assert.ok(!program.includes("BEGIN") && !program.includes(Buffer.from(FILES[0].content).toString("base64").slice(0, 40)), "no content in the program text");
        const tree = path.join(root, "cp-1");
        for (const f of FILES) {
            assert.equal(fs.readFileSync(path.join(tree, f.path), "utf8"), f.content);
            assert.equal(modeOf(path.join(tree, f.path)), f.mode.slice(1));
            assert.deepEqual(result.files[f.path], { sha256: sha(f.content), mode: f.mode });
        }
        for (const [d, m] of Object.entries(DIR_MODES)) assert.equal(modeOf(path.join(tree, d)), m.toString(8), d);
        assert.deepEqual(result.created, [".", ...Object.keys(DIR_MODES).sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1))]);
        assert.deepEqual(fs.readdirSync(tree).sort(), ["etc", "var"], "no temp file, no journal");
        const inspected = sh(inspectProgram(root, "cp-1", FILES.map((f) => f.path)));
        assert.deepEqual(inspected.files, result.files);
    });

    it("stages directory by directory: the lines on stdin follow stagingOrder, and every file of a directory is staged before any rename", () => {
        const order = stagingOrder(FILES).map((f) => f.path);
        assert.deepEqual(order, [
            "etc/kubernetes/admin.conf",
            "etc/kubernetes/scheduler.conf",
            "etc/kubernetes/pki/ca.crt",
            "etc/kubernetes/pki/ca.key",
            "var/lib/kubelet/pki/kubelet.crt",
        ]);
        const { program } = write(tmpRoot());
        const firstRename = program.indexOf("mv -f");
        const lastStage = program.lastIndexOf("base64 -d");
        assert.ok(lastStage > 0 && firstRename > lastStage, "all staging precedes the renames");
        assert.ok(program.indexOf("umask 077") < program.indexOf("base64 -d"), "temp files are created under umask 077");
        assert.ok(program.indexOf("chmod 600") < firstRename && program.indexOf("sync --") < firstRename, "mode and fsync before rename");
    });

    it("a directory that fails to stage keeps its old files; the others are written", () => {
        const root = tmpRoot();
        write(root);
        const tree = path.join(root, "cp-1");
        fs.rmSync(path.join(tree, "etc/kubernetes/pki/ca.crt"));
        fs.mkdirSync(path.join(tree, "etc/kubernetes/pki/ca.crt")); // a directory where a file must go
        const v2 = FILES.map((f) => ({ ...f, content: `${f.content}v2\n` }));
        const { result } = write(root, v2);
        assert.deepEqual(result.unitErrors.map((u) => u.dir), ["etc/kubernetes/pki"]);
        assert.match(result.unitErrors[0].why, /ca\.crt is a directory on the machine/);
        assert.equal(fs.readFileSync(path.join(tree, "etc/kubernetes/pki/ca.key"), "utf8"), FILES[0].content, "the failed directory's key stays old (matches its cert)");
        assert.equal(fs.readFileSync(path.join(tree, "etc/kubernetes/admin.conf"), "utf8"), v2[2].content, "another directory was written");
        assert.deepEqual((fs.readdirSync(tree, { recursive: true }) as string[]).filter((p) => p.includes("kube-pki")), []);
    });

    it("confinement on the machine: a symlink out of the node's tree, a symlinked node dir, a group-writable dir are refused, nothing renamed", () => {
        const root = tmpRoot();
        const outside = tmpRoot();
        fs.mkdirSync(path.join(root, "cp-1", "etc"), { recursive: true });
        fs.symlinkSync(outside, path.join(root, "cp-1", "etc", "kubernetes"));
        const r1 = write(root).result;
        assert.match(r1.error ?? "", /cp-1\/etc\/kubernetes resolves to .*, outside .*cp-1 \(node cp-1's tree\): refusing to write through it/);
        assert.deepEqual(fs.readdirSync(outside), []);
        const root2 = tmpRoot();
        fs.mkdirSync(path.join(root2, "shared"));
        fs.symlinkSync(path.join(root2, "shared"), path.join(root2, "cp-1"));
        assert.match(write(root2).result.error ?? "", /cp-1 is a symlink: node cp-1's tree must be a real directory/);
        const root3 = tmpRoot();
        write(root3);
        fs.chmodSync(path.join(root3, "cp-1", "etc", "kubernetes"), 0o775);
        const r3 = write(root3, FILES.map((f) => ({ ...f, content: "x" }))).result;
        assert.match(r3.error ?? "", /etc\/kubernetes is writable by group or others \(mode 775\)/);
        assert.equal(fs.readFileSync(path.join(root3, "cp-1", FILES[0].path), "utf8"), FILES[0].content);
        assert.match(sh(inspectProgram(root, "cp-1", [FILES[0].path])).error ?? "", /outside/);
    });

    it("input cut after the first file: nothing renamed, no temp file left; a killed writer's temp files are removed by the next write, and only those", () => {
        const root = tmpRoot();
        write(root);
        const tree = path.join(root, "cp-1");
        const v2 = FILES.map((f) => ({ ...f, content: `${f.content}v2\n` }));
        const cut = write(root, v2, "feedbeef", true).result;
        assert.match(cut.error ?? "", /input ended early/);
        for (const f of FILES) assert.equal(fs.readFileSync(path.join(tree, f.path), "utf8"), f.content);
        assert.deepEqual((fs.readdirSync(tree, { recursive: true }) as string[]).filter((p) => p.includes("kube-pki")), []);
        // a killed writer: its journal and temp file, plus a lookalike temp file that no journal lists
        fs.writeFileSync(path.join(tree, ".kube-pki-journal"), `99999999 1 deadbeef\ntmp etc/kubernetes/.admin.conf.kube-pki-tmp-99999999-deadbeef\n`);
        fs.writeFileSync(path.join(tree, "etc/kubernetes/.admin.conf.kube-pki-tmp-99999999-deadbeef"), "half");
        fs.writeFileSync(path.join(tree, "etc/kubernetes/.x.kube-pki-tmp-99999999-0000"), "not listed");
        assert.deepEqual(sh(inspectProgram(root, "cp-1", [FILES[0].path])).temps, ["etc/kubernetes/.admin.conf.kube-pki-tmp-99999999-deadbeef"]);
        assert.ok(write(root, v2).result.ok);
        assert.deepEqual((fs.readdirSync(tree, { recursive: true }) as string[]).filter((p) => p.includes("kube-pki")), ["etc/kubernetes/.x.kube-pki-tmp-99999999-0000"]);
    });

    it("remove deletes exactly the listed files and the empty directories it created; a foreign file survives", () => {
        const root = tmpRoot();
        const created = write(root).result.created;
        fs.writeFileSync(path.join(root, "cp-1", "etc/kubernetes/pki/foreign"), "keep");
        const r = sh(removeProgram(root, "cp-1", FILES.map((f) => f.path), created));
        assert.ok(r.ok, r.stderr);
        assert.deepEqual(r.removed.sort(), FILES.map((f) => f.path).sort());
        assert.deepEqual(fs.readdirSync(path.join(root, "cp-1"), { recursive: true }).sort(), ["etc", "etc/kubernetes", "etc/kubernetes/pki", "etc/kubernetes/pki/foreign"]);
    });

    /** uid:gid of a user and a group the machine knows (Debian's base-passwd: daemon is 1:1). */
    const idsOf = (user: string, group: string) =>
        `${spawnSync("getent", ["passwd", user], { encoding: "utf8" }).stdout.split(":")[2]}:${spawnSync("getent", ["group", group], { encoding: "utf8" }).stdout.split(":")[2]}`;
    const asRoot = process.getuid?.() === 0 ? it : it.skip;

    asRoot("owner/group: the files get the configured user and group (names resolved on the machine); a change of owner alone is seen; an unknown name is refused before anything is written", () => {
        const root = tmpRoot();
        const tree = path.join(root, "cp-1");
        const daemon = idsOf("daemon", "daemon");
        assert.match(daemon, /^\d+:\d+$/, "the machine has a daemon user and group");
        const { result } = write(root, FILES, "0123abcd", false, { user: "daemon", group: "daemon" });
        assert.ok(result.ok, JSON.stringify(result));
        for (const f of FILES) {
            const st = fs.statSync(path.join(tree, f.path));
            assert.equal(`${st.uid}:${st.gid}`, daemon, f.path);
            assert.equal(modeOf(path.join(tree, f.path)), f.mode.slice(1));
        }
        assert.equal(fs.statSync(path.join(tree, "etc/kubernetes")).uid, 0, "directories stay root's");
        // what the provider compares: the owner each file has, and the one configured, both as the machine resolves them
        const same = sh(inspectProgram(root, "cp-1", FILES.map((f) => f.path), { user: "daemon", group: "daemon" }));
        assert.equal(same.wantedOwner, daemon);
        assert.deepEqual(Object.values(same.owners), FILES.map(() => daemon));
        const back = sh(inspectProgram(root, "cp-1", FILES.map((f) => f.path), { user: "0", group: "0" }));
        assert.equal(back.wantedOwner, "0:0");
        assert.ok(Object.values(back.owners).every((o) => o !== back.wantedOwner), "an owner change alone shows on every file");
        // an unknown name: refused, naming it, before the node's tree is even created
        const fresh = tmpRoot();
        const unknown = write(fresh, FILES, "0123abcd", false, { user: "no-such-user-kpki", group: "daemon" }).result;
        assert.match(unknown.error ?? "", /owner no-such-user-kpki: no such user on the machine/);
        assert.deepEqual(fs.readdirSync(fresh), []);
        assert.match(write(fresh, FILES, "0123abcd", false, { user: "0", group: "no-such-group-kpki" }).result.error ?? "", /group no-such-group-kpki: no such group on the machine/);
    });

    it("owner/group refusals at preview name the field: bad names; owner without root or sudo", () => {
        const files = { "etc/kubernetes/admin.conf": { content: pulumi.output("x"), mode: "0600", secret: true } } as unknown as FileMap;
        const hostKey = `ssh-ed25519 ${crypto.randomBytes(51).toString("base64")} host`;
        const connection = { host: "10.0.0.9", hostKey, privateKey: "k", user: "ops" };
        const bad = remoteNodeFilesArgsProblems({ node: "cp-1", files, connection, owner: "etcd user", group: "-wheel" });
        assert.deepEqual(bad.map((p) => p.split(":")[0]).sort(), ["remoteNodes.cp-1.group", "remoteNodes.cp-1.owner"]);
        assert.match(bad.join("\n"), /owner: "etcd user" is not a user\/group name or numeric id/);
        assert.deepEqual(remoteNodeFilesArgsProblems({ node: "cp-1", files, connection, owner: "etcd", group: "1000" }), [], "names and ids; sudo by default for a non-root user");
        const noSudo = remoteNodeFilesArgsProblems({ node: "cp-1", files, connection: { ...connection, sudo: false }, group: "etcd" });
        assert.equal(noSudo.length, 1);
        assert.match(noSudo[0], /^remoteNodes\.cp-1: owner\/group need the writes to run as root, and ops writes without sudo/);
        // the stack config: per node, through the same rules
        const cfg = { nodes: remoteNodesSchema.parse({ "cp-1": { host: "10.0.0.9", hostKey, owner: "bad name", group: "etcd" } }), sshKey: pulumi.output("k") };
        const configured = remoteSinkProblems(cfg, { "cp-1": files });
        assert.equal(configured.length, 1, configured.join("\n"));
        assert.match(configured[0], /^kube-pki:remoteNodes\.cp-1\.owner: "bad name" is not a user\/group name/);
    });

    it("refusals name the field: host key pin (no TOFU), credentials, root, paths; the config names unknown nodes", () => {
        const blob = crypto.randomBytes(51);
        const line = `ssh-ed25519 ${blob.toString("base64")} host`;
        assert.equal(pinnedFingerprint(line).fingerprint, fingerprintOf(blob));
        assert.equal(pinnedFingerprint(fingerprintOf(blob)).fingerprint, fingerprintOf(blob));
        assert.match(pinnedFingerprint("").problem!, /there is no trust on first use/);
        assert.match(pinnedFingerprint("SHA256:short").problem!, /neither a public key line/);
        const files = { "etc/kubernetes/admin.conf": { content: pulumi.output("x"), mode: "0600", secret: true } } as unknown as FileMap;
        const problems = remoteNodeFilesArgsProblems({ node: "cp-1", files, connection: { host: "", hostKey: "", port: 70000 }, remoteRoot: "relative" });
        assert.deepEqual(problems.map((p) => p.split(":")[0]).sort(), ["remoteNodes.cp-1", "remoteNodes.cp-1.host", "remoteNodes.cp-1.hostKey", "remoteNodes.cp-1.port", "remoteNodes.cp-1.remoteRoot"].sort());
        const cfg = { nodes: remoteNodesSchema.parse({ "cp-9": { host: "10.0.0.9", hostKey: line } }) };
        assert.deepEqual(remoteSinkProblems(cfg, { "cp-1": files }), ["kube-pki:remoteNodes.cp-9: no such node (the cluster's nodes: cp-1)"]);
        assert.ok(!remoteNodesSchema.safeParse({ "cp-1": { host: "h", hostKey: line, password: "x" } }).success, "unknown fields (a password) are refused");
    });
});
