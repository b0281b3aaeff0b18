/**
 * NodeFiles sink: the real write/remove code against temp dirs (no mocked fs), the dynamic provider's
 * create/read/diff/update/delete called directly and after closure serialization, and the component under
 * Pulumi mocks with a real ClusterPki.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import Module from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, ConfigError, FileMap } from "../components/internal";
import {
    inspectTree,
    nodeFilesArgsProblems,
    NodeFiles,
    NodeFilesInputs,
    nodeFilesProvider,
    pidAlive,
    removeTree,
    staleTemps,
    TreeFile,
    writeTree,
} from "../components/sinks/node-files";
import { setupMocks } from "./support/tls-emulator";
import { resolve, valueOf } from "./support/resolve";
import { testKeyPem } from "./support/x509";

const DYNAMIC_TYPE = "pulumi-nodejs:dynamic:NodeFiles";

const sha = (s: string | Buffer) => crypto.createHash("sha256").update(s).digest("hex");
const modeOf = (p: string) => fs.lstatSync(p).mode & 0o7777;
const read = (p: string) => fs.readFileSync(p, "utf8");

/** A pid that no process has (above Linux's pid_max limit of 2^22). */
const DEAD_PID = 99_999_999;

const tmpDirs: string[] = [];
function tmp(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-sinks-"));
    tmpDirs.push(d);
    return d;
}

/** Every file or dir under `dir` whose name marks a temp file. */
function tempFiles(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.name.includes(".kube-pki-tmp-")) out.push(p);
            if (e.isDirectory()) walk(p);
        }
    };
    if (fs.existsSync(dir)) walk(dir);
    return out;
}

/**
 * A write killed for real: a child process writes the tree and SIGKILLs itself after `staged` temp files are
 * complete (through the `afterStaged` test seam). Returns the temp files it left under the root.
 */
function crashedWrite(root: string, node: string, files: TreeFile[], staged = 1): string[] {
    const atomic = path.resolve(__dirname, "../components/sinks/node-files/atomic");
    const script =
        `const { writeTree, nodeFilesHooks } = require(${JSON.stringify(atomic)});` +
        `let n = 0; nodeFilesHooks.afterStaged = () => { if (++n >= ${staged}) process.kill(process.pid, "SIGKILL"); };` +
        `writeTree(${JSON.stringify(root)}, ${JSON.stringify(node)}, JSON.parse(require("fs").readFileSync(0, "utf8")));`;
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
        cwd: path.resolve(__dirname, ".."),
        input: JSON.stringify(files),
        encoding: "utf8",
    });
    assert.equal(r.signal, "SIGKILL", `the writer was killed mid-write (status ${r.status}, ${r.stderr})`);
    return tempFiles(root);
}

const TREE: TreeFile[] = [
    { path: "etc/kubernetes/pki/ca.crt", content: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n", mode: "0644" },
    { path: "etc/kubernetes/pki/ca.key", content: testKeyPem(), mode: "0600", secret: true },
    { path: "etc/kubernetes/pki/etcd/ca.crt", content: "ETCD CA\n", mode: "0644" },
    { path: "etc/kubernetes/pki/etcd/ca.key", content: "ETCD CA KEY\n", mode: "0600", secret: true },
    { path: "etc/kubernetes/admin.conf", content: "apiVersion: v1\nkind: Config\n", mode: "0600", secret: true },
    { path: "var/lib/kubelet/pki/kubelet.crt", content: "KUBELET CERT\n", mode: "0644" },
];

function inputsOf(root: string, node: string, files: TreeFile[]): NodeFilesInputs {
    return {
        root,
        node,
        manifest: Object.fromEntries(files.map((f) => [f.path, { mode: f.mode, secret: !!f.secret, sha256: sha(f.content) }])),
        contents: Object.fromEntries(files.map((f) => [f.path, f.content])),
    };
}

describe("sinks: node files (real file system)", function () {
    let savedUmask: number;
    before(() => {
        savedUmask = process.umask(0o077); // modes must be exact, whatever the umask
    });
    after(() => {
        process.umask(savedUmask);
        for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
    });

    describe("writeTree / removeTree / inspectTree", () => {
        it("writes the tree with exact file modes, directory modes by rule, and sha256 hashes", () => {
            const root = tmp();
            const st = writeTree(root, "cp-1", TREE);
            const node = path.join(root, "cp-1");
            for (const f of TREE) {
                const p = path.join(node, f.path);
                assert.equal(read(p), f.content, f.path);
                assert.equal(modeOf(p), parseInt(f.mode, 8), `${f.path} mode`);
                assert.deepEqual(st.files[f.path], { sha256: sha(f.content), mode: f.mode });
            }
            // directories: 0700 when they directly hold a secret file, else 0755
            const dirs: Record<string, number> = {
                "": 0o755,
                etc: 0o755,
                "etc/kubernetes": 0o700,
                "etc/kubernetes/pki": 0o700,
                "etc/kubernetes/pki/etcd": 0o700,
                var: 0o755,
                "var/lib": 0o755,
                "var/lib/kubelet": 0o755,
                "var/lib/kubelet/pki": 0o755,
            };
            for (const [d, m] of Object.entries(dirs)) assert.equal(modeOf(path.join(node, d)), m, `dir ${d || "<node>"}`);
            assert.equal(modeOf(root), 0o700, "the existing root dir is left alone (mkdtemp made it 0700)");
            assert.deepEqual(
                [...st.createdDirs].sort(),
                Object.keys(dirs).map((d) => path.join(fs.realpathSync(root), "cp-1", d)).sort(),
            );
            assert.deepEqual(tempFiles(root), []);
            assert.deepEqual(inspectTree(root, "cp-1", TREE.map((f) => f.path)), st.files);
        });

        it("creates a missing rootDir (0755) and removes it again, with everything it created", () => {
            const base = tmp();
            const root = path.join(base, "out", "nodes");
            const st = writeTree(root, "w-1", TREE.slice(0, 1));
            assert.equal(modeOf(path.join(base, "out")), 0o755);
            assert.equal(modeOf(root), 0o755);
            assert.ok(st.createdDirs.includes(path.join(base, "out")) && st.createdDirs.includes(root));
            const r = removeTree(root, "w-1", [TREE[0].path], st.createdDirs);
            assert.deepEqual(r.removed, [TREE[0].path]);
            assert.deepEqual(r.remainingDirs, []);
            assert.deepEqual(fs.readdirSync(base), [], "only the pre-existing base dir is left");
        });

        it("is idempotent: unchanged files are not rewritten (same inode), changed ones are", () => {
            const root = tmp();
            writeTree(root, "cp-1", TREE);
            const p = (rel: string) => path.join(root, "cp-1", rel);
            const inoBefore = Object.fromEntries(TREE.map((f) => [f.path, fs.statSync(p(f.path)).ino]));
            const changed = TREE.map((f) => (f.path === "etc/kubernetes/pki/ca.crt" ? { ...f, content: "NEW CA\n" } : f));
            writeTree(root, "cp-1", changed);
            for (const f of TREE) {
                const same = fs.statSync(p(f.path)).ino === inoBefore[f.path];
                assert.equal(same, f.path !== "etc/kubernetes/pki/ca.crt", f.path);
            }
            assert.equal(read(p("etc/kubernetes/pki/ca.crt")), "NEW CA\n");
        });

        it("confines paths: '..', absolute, empty or '.' segments are refused and nothing is written", () => {
            const root = tmp();
            for (const bad of ["../x", "etc/../../x", "/etc/passwd", "etc//x", "./x", "etc/", ""]) {
                assert.throws(() => writeTree(root, "cp-1", [{ path: bad, content: "x", mode: "0644" }]), /invalid file map/, bad);
            }
            for (const badNode of ["..", ".", "a/b", ""]) {
                assert.throws(() => writeTree(root, badNode, TREE), /node/, badNode);
            }
            assert.throws(() => writeTree(root, "cp-1", [{ path: "a", content: "x", mode: "4755" }]), /mode/);
            assert.throws(() => writeTree(root, "cp-1", [{ path: "a", content: "x", mode: "0644" }, { path: "a/b", content: "y", mode: "0644" }]), /both a file and a directory/);
            assert.deepEqual(fs.readdirSync(root), []);
        });

        it("refuses a symlinked directory that points outside the root (write, inspect, remove); inside is fine", () => {
            const root = tmp();
            const outside = tmp();
            fs.mkdirSync(path.join(root, "cp-1", "etc"), { recursive: true });
            fs.symlinkSync(outside, path.join(root, "cp-1", "etc", "kubernetes"));
            assert.throws(() => writeTree(root, "cp-1", TREE), /outside the root/);
            assert.deepEqual(fs.readdirSync(outside), [], "nothing written through the link");
            assert.throws(() => inspectTree(root, "cp-1", ["etc/kubernetes/pki/ca.crt"]), /outside the root/);
            fs.writeFileSync(path.join(outside, "victim"), "keep");
            assert.throws(() => removeTree(root, "cp-1", ["etc/kubernetes/victim"]), /outside the root/);
            assert.equal(read(path.join(outside, "victim")), "keep");
            // the node dir itself as a link outside
            const root2 = tmp();
            fs.symlinkSync(outside, path.join(root2, "cp-1"));
            assert.throws(() => writeTree(root2, "cp-1", TREE), /outside the root/);
            // a dangling link is refused too
            const root3 = tmp();
            fs.symlinkSync("/nonexistent/kube-pki", path.join(root3, "cp-1"));
            assert.throws(() => writeTree(root3, "cp-1", TREE), /dangling symlink/);
            // the node dir itself must be a real directory, even when it links inside the root
            const root4 = tmp();
            fs.mkdirSync(path.join(root4, "shared"));
            fs.symlinkSync(path.join(root4, "shared"), path.join(root4, "cp-1"));
            assert.throws(() => writeTree(root4, "cp-1", TREE.slice(0, 1)), /cp-1 is a symlink to .*shared.*node cp-1 writes only under/);
            assert.deepEqual(fs.readdirSync(path.join(root4, "shared")), []);
            // a link that stays inside the node's own tree is followed
            const root5 = tmp();
            fs.mkdirSync(path.join(root5, "cp-1", "etc", "k8s"), { recursive: true });
            fs.symlinkSync(path.join(root5, "cp-1", "etc", "k8s"), path.join(root5, "cp-1", "etc", "kubernetes"));
            writeTree(root5, "cp-1", TREE.slice(0, 1));
            assert.equal(read(path.join(root5, "cp-1", "etc", "k8s", "pki", "ca.crt")), TREE[0].content);
        });

        it("per-node confinement: a symlink into another node's tree is refused naming both nodes, and nothing is written", () => {
            const root = tmp();
            const victim = { path: "etc/kubernetes/kubelet.conf", content: "cp-1's kubelet.conf\n", mode: "0600", secret: true };
            writeTree(root, "cp-1", [victim]);
            fs.mkdirSync(path.join(root, "worker-6"));
            fs.symlinkSync("../cp-1/etc", path.join(root, "worker-6", "etc"));
            const mine = [{ ...victim, content: "worker-6's kubelet.conf\n" }, { path: "var/lib/kubelet/x.crt", content: "x", mode: "0644" }];
            const message = /worker-6\/etc is a symlink to .*\/cp-1\/etc, inside cp-1\/ \(node cp-1's tree, not node worker-6's\): node worker-6 writes only under .*\/worker-6/;
            assert.throws(() => writeTree(root, "worker-6", mine), message);
            assert.equal(read(path.join(root, "cp-1", victim.path)), victim.content, "cp-1's file untouched");
            assert.ok(!fs.existsSync(path.join(root, "worker-6", "var")), "no directory of the write was renamed into place either");
            assert.deepEqual(tempFiles(root), []);
            // inspect (diff/read) and remove (delete) refuse it too
            assert.throws(() => inspectTree(root, "worker-6", [victim.path]), message);
            assert.throws(() => removeTree(root, "worker-6", [victim.path]), message);
            assert.equal(read(path.join(root, "cp-1", victim.path)), victim.content);
            // preview time: the component's args check names the file and both nodes
            const problems = nodeFilesArgsProblems({ rootDir: root, node: "worker-6", files: { [victim.path]: { content: pulumi.output("x"), mode: "0600", secret: true } } as FileMap });
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], /^nodeFiles\.files\["etc\/kubernetes\/kubelet\.conf"\]: worker-6\/etc is a symlink .*node cp-1's tree, not node worker-6's/);
        });

        it("replaces a symlink at a file path by a regular file (never writes through it)", () => {
            const root = tmp();
            const outside = tmp();
            fs.writeFileSync(path.join(outside, "target"), "outside");
            fs.mkdirSync(path.join(root, "cp-1"), { recursive: true });
            fs.symlinkSync(path.join(outside, "target"), path.join(root, "cp-1", "admin.conf"));
            assert.equal(inspectTree(root, "cp-1", ["admin.conf"])["admin.conf"].sha256, "symlink");
            writeTree(root, "cp-1", [{ path: "admin.conf", content: "mine", mode: "0600" }]);
            assert.ok(fs.lstatSync(path.join(root, "cp-1", "admin.conf")).isFile());
            assert.equal(read(path.join(outside, "target")), "outside");
        });

        it("atomicity per directory: a directory that fails to stage keeps its old files; the others are still repaired", () => {
            const root = tmp();
            const node = path.join(root, "cp-1");
            writeTree(root, "cp-1", TREE);
            // (1) a regular file where a directory must be: that directory's file is not written, the rest is
            fs.writeFileSync(path.join(node, "zz"), "in the way");
            const map1 = [
                { ...TREE[0], content: "CHANGED CA\n" }, // etc/kubernetes/pki/ca.crt
                { path: "zz/extra.crt", content: "x", mode: "0644" },
            ];
            assert.throws(() => writeTree(root, "cp-1", map1), /1 file\(s\) not written, left as they were \(zz\/extra\.crt\).*\n.*zz exists and is not a directory/);
            assert.equal(read(path.join(node, TREE[0].path)), "CHANGED CA\n", "the other directory was written");
            assert.deepEqual(tempFiles(root), []);
            // (2) a directory where a file should go: its directory's other files stay old (a cert and its key never
            // mismatch), every other directory is repaired
            fs.rmSync(path.join(node, "etc/kubernetes/pki/etcd/ca.key"));
            fs.mkdirSync(path.join(node, "etc/kubernetes/pki/etcd/ca.key"));
            fs.writeFileSync(path.join(node, "etc/kubernetes/pki/etcd/ca.key/foreign"), "x");
            const map2 = TREE.map((f) => ({ ...f, content: `${f.content}v2\n` }));
            assert.throws(() => writeTree(root, "cp-1", map2), /\(etc\/kubernetes\/pki\/etcd\/ca\.crt, etc\/kubernetes\/pki\/etcd\/ca\.key\).*\n.*ca\.key is a directory on disk/);
            for (const f of TREE) {
                if (f.path === "etc/kubernetes/pki/etcd/ca.key") continue;
                const want = f.path.includes("/etcd/") ? f.content : `${f.content}v2\n`;
                assert.equal(read(path.join(node, f.path)), want, f.path);
            }
            assert.deepEqual(tempFiles(root), []);
            // (3) an unwritable directory (as an unprivileged user root ignores modes: checked through the error
            // path above); a temp file left by a crashed write is cleaned up by the next write
            fs.rmSync(path.join(node, "etc/kubernetes/pki/etcd/ca.key"), { recursive: true });
            assert.equal(crashedWrite(root, "cp-1", TREE).length, 1, "the killed write left its temp file");
            writeTree(root, "cp-1", TREE);
            assert.deepEqual(tempFiles(root), []);
        });

        it("temp files of interrupted writes: the next write removes exactly what the killed write journaled, and only empty dirs it created", () => {
            const root = tmp();
            writeTree(root, "cp-1", TREE);
            const node = path.join(root, "cp-1");
            // files that only look like ours: a dead pid's, in this node and in a tree the sink never wrote
            const lookalike = path.join(node, "etc/kubernetes/pki", `.ca.key.kube-pki-tmp-${DEAD_PID}-0a1b2c`);
            fs.writeFileSync(lookalike, "someone else's", { mode: 0o600 });
            fs.mkdirSync(path.join(root, "other", "etc"), { recursive: true });
            const foreign = path.join(root, "other", "etc", `.x.kube-pki-tmp-${DEAD_PID}-aa`);
            fs.writeFileSync(foreign, "x");
            // a write of cp-1 killed after staging into two directories it created (new/a, new/b)
            const killedMap = [
                { path: "new/a/x.crt", content: "x", mode: "0644" },
                { path: "new/b/y.key", content: "y", mode: "0600", secret: true },
            ];
            const left = crashedWrite(root, "cp-1", killedMap, 2).filter((t) => t !== lookalike && t !== foreign);
            assert.equal(left.length, 2, left.join(", "));
            assert.deepEqual(staleTemps(root, "cp-1"), left.map((t) => path.relative(node, t)).sort());
            assert.deepEqual(staleTemps(root, "other"), [], "no journal there: nothing of ours");
            // someone put a file into one of the directories the killed write created
            fs.writeFileSync(path.join(node, "new/b/keep"), "keep");
            writeTree(root, "cp-1", TREE);
            assert.deepEqual(tempFiles(root).sort(), [foreign, lookalike].sort(), "only the killed write's temp files are gone");
            assert.ok(!fs.existsSync(path.join(node, "new/a")), "an empty directory the killed write created is removed");
            assert.equal(read(path.join(node, "new/b/keep")), "keep", "a directory holding someone's file stays");
            assert.ok(fs.existsSync(path.join(root, "other", "etc")), "directories the sink did not create are never removed");
            assert.ok(!fs.existsSync(path.join(node, ".kube-pki-journal")), "the journal goes with a finished write");
        });

        it("a node removed after its write was killed: the next write under the root (any node) removes its leftovers", () => {
            const root = tmp();
            const left = crashedWrite(root, "worker-9", TREE, 3);
            assert.equal(left.length, 3);
            assert.ok(fs.existsSync(path.join(root, "worker-9", ".kube-pki-journal")));
            // a fresh root for this process: its first write there clears other nodes' journals of dead writers
            writeTree(root, "w-2", TREE.slice(0, 1));
            assert.deepEqual(tempFiles(root), []);
            assert.ok(!fs.existsSync(path.join(root, "worker-9")), "the removed node's directories (created by the killed write) are gone");
        });

        it("a write that is still running: its temp files survive another node's write, and a second write of its node is refused", async function () {
            this.timeout(60_000);
            const root = tmp();
            writeTree(root, "w-2", TREE.slice(0, 1)); // this process has swept this root already; the child is new
            const atomic = path.resolve(__dirname, "../components/sinks/node-files/atomic");
            const { spawn } = await import("node:child_process");
            const script =
                `const { writeTree, nodeFilesHooks } = require(${JSON.stringify(atomic)});` +
                `nodeFilesHooks.afterStaged = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);` +
                `writeTree(${JSON.stringify(root)}, "cp-1", ${JSON.stringify(TREE)});`;
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: path.resolve(__dirname, ".."), stdio: "ignore" });
            try {
                for (let i = 0; i < 300 && tempFiles(root).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
                const live = tempFiles(root);
                assert.equal(live.length, 1, "the other writer has staged a file");
                // another process's first write under this root (it sweeps other nodes' journals)
                const other = spawnSync(
                    process.execPath,
                    ["-r", "ts-node/register/transpile-only", "-e", `require(${JSON.stringify(atomic)}).writeTree(${JSON.stringify(root)}, "w-3", ${JSON.stringify(TREE.slice(0, 1))});`],
                    { cwd: path.resolve(__dirname, ".."), encoding: "utf8" },
                );
                assert.equal(other.status, 0, other.stderr);
                assert.deepEqual(tempFiles(root), live, "the live writer's temp file survives");
                assert.throws(() => writeTree(root, "cp-1", TREE), /node cp-1: another write of this node may still be running \(pid \d+, running\)/);
                assert.deepEqual(tempFiles(root), live);
            } finally {
                child.kill("SIGKILL");
            }
        });

        it("a directory swapped for a symlink between the check and the write: nothing is written outside the node's tree", () => {
            const root = tmp();
            const outside = tmp();
            writeTree(root, "cp-1", TREE.slice(0, 1)); // etc/kubernetes/pki exists and passed every check
            const pki = path.join(root, "cp-1", "etc/kubernetes/pki");
            const realFs = require("node:fs") as typeof fs;
            const openSync = realFs.openSync;
            let swapped = false;
            // the attacker's move lands after the directory was checked (and opened), right before ca.key is staged
            (realFs as any).openSync = function (p: fs.PathLike, ...rest: any[]) {
                if (!swapped && String(p).includes(".ca.key.kube-pki-tmp-")) {
                    swapped = true;
                    realFs.renameSync(pki, `${pki}.moved`);
                    realFs.symlinkSync(outside, pki);
                }
                return (openSync as any).call(this, p, ...rest);
            };
            let error: Error | undefined;
            try {
                writeTree(root, "cp-1", TREE.slice(0, 2)); // ca.crt is unchanged: ca.key is the one file staged
            } catch (e) {
                error = e as Error;
            } finally {
                (realFs as any).openSync = openSync;
            }
            assert.ok(swapped, "the swap happened during the write");
            assert.deepEqual(fs.readdirSync(outside), [], "no key (and no temp file) outside the node's tree");
            assert.match(error?.message ?? "no error", /refused, nothing was changed: cp-1\/etc\/kubernetes\/pki was moved or replaced during the write/);
            assert.deepEqual(tempFiles(root), []);
            assert.equal(read(path.join(`${pki}.moved`, "ca.crt")), TREE[0].content, "the old files stay where they were");
            assert.ok(!fs.existsSync(path.join(`${pki}.moved`, "ca.key")), "no new file was renamed into place");
        });

        it("refuses directories another user could rearrange: group/other-writable, or owned by someone else", () => {
            const root = tmp();
            writeTree(root, "cp-1", TREE.slice(0, 1));
            const k8s = path.join(root, "cp-1", "etc/kubernetes");
            fs.chmodSync(k8s, 0o777);
            assert.throws(() => writeTree(root, "cp-1", TREE), /refused, nothing was changed: cp-1\/etc\/kubernetes is writable by group or others \(mode 0777\).*chmod go-w/);
            fs.chmodSync(k8s, 0o755);
            fs.chownSync(k8s, 65534, 65534);
            const me = process.geteuid!();
            if (me !== 65534) assert.throws(() => writeTree(root, "cp-1", TREE), /cp-1\/etc\/kubernetes is owned by uid 65534, neither this user/);
            fs.chownSync(k8s, me, me);
            writeTree(root, "cp-1", TREE);
            // a shared sticky root (like /tmp) is fine; a shared non-sticky root is not
            fs.chmodSync(root, 0o1777);
            writeTree(root, "cp-1", TREE);
            fs.chmodSync(root, 0o777);
            assert.throws(() => writeTree(root, "cp-1", TREE), /is writable by group or others \(mode 0777\)/);
            fs.chmodSync(root, 0o700);
        });

        it("test hooks stay out of the shipped code: no module under components/ reads a KUBE_PKI_TEST_* variable", () => {
            const offenders: string[] = [];
            const walk = (d: string) => {
                for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                    const p = path.join(d, e.name);
                    if (e.isDirectory()) walk(p);
                    else if (p.endsWith(".ts") && /KUBE_PKI_TEST_/.test(read(p))) offenders.push(path.relative(path.resolve(__dirname, ".."), p));
                }
            };
            walk(path.resolve(__dirname, "../components"));
            assert.deepEqual(offenders, []);
        });

        it("removeTree removes only the listed files and the empty dirs it created; foreign files survive", () => {
            const root = tmp();
            const node = path.join(root, "cp-1");
            const st = writeTree(root, "cp-1", TREE);
            fs.writeFileSync(path.join(node, "etc/kubernetes/pki/foreign.crt"), "not ours");
            const r = removeTree(root, "cp-1", TREE.map((f) => f.path), st.createdDirs);
            assert.deepEqual([...r.removed].sort(), TREE.map((f) => f.path).sort());
            assert.equal(read(path.join(node, "etc/kubernetes/pki/foreign.crt")), "not ours");
            assert.ok(!fs.existsSync(path.join(node, "etc/kubernetes/pki/etcd")), "empty dir removed");
            assert.ok(!fs.existsSync(path.join(node, "var")), "empty tree removed");
            assert.deepEqual(
                r.remainingDirs.map((d) => path.relative(fs.realpathSync(root), d)).sort(),
                ["cp-1", "cp-1/etc", "cp-1/etc/kubernetes", "cp-1/etc/kubernetes/pki"],
            );
            assert.ok(fs.existsSync(root), "the pre-existing root stays");
            // a directory standing at a listed path is never removed
            fs.mkdirSync(path.join(node, "etc/kubernetes/admin.conf"));
            removeTree(root, "cp-1", ["etc/kubernetes/admin.conf"]);
            assert.ok(fs.statSync(path.join(node, "etc/kubernetes/admin.conf")).isDirectory());
        });
    });

    describe("dynamic provider (create / read / diff / update / delete)", () => {
        it("create writes the tree; outputs carry hashes, never contents", async () => {
            const root = tmp();
            const inputs = inputsOf(root, "cp-1", TREE);
            const { id, outs } = await nodeFilesProvider.create(inputs);
            assert.equal(id, path.join(root, "cp-1"));
            assert.deepEqual(Object.keys(outs).sort(), ["createdDirs", "directory", "files", "node", "root"]);
            const text = JSON.stringify(outs);
            for (const f of TREE) {
                assert.ok(!text.includes(f.content.trim()), `no content of ${f.path} in outputs`);
                assert.deepEqual(outs.files[f.path], { sha256: sha(f.content), mode: f.mode });
            }
            assert.ok(!/PRIVATE KEY|CAKEY/.test(text));
            const diff = await nodeFilesProvider.diff!(id, outs, inputs);
            assert.deepEqual(diff, { changes: false });
        });

        it("drift: a file changed, chmod'ed or deleted on disk is detected by diff and read, and rewritten by update", async () => {
            const root = tmp();
            const node = path.join(root, "cp-1");
            const inputs = inputsOf(root, "cp-1", TREE);
            const { id, outs } = await nodeFilesProvider.create(inputs);
            fs.writeFileSync(path.join(node, "etc/kubernetes/pki/ca.key"), "tampered");
            fs.chmodSync(path.join(node, "etc/kubernetes/admin.conf"), 0o644);
            fs.rmSync(path.join(node, "var/lib/kubelet/pki/kubelet.crt"));
            // preview / up without refresh: diff reads the disk
            assert.deepEqual(await nodeFilesProvider.diff!(id, outs, inputs), { changes: true });
            // refresh: read reports what is on disk
            const refreshed = (await nodeFilesProvider.read!(id, outs)).props;
            assert.equal(refreshed.files["etc/kubernetes/pki/ca.key"].sha256, sha("tampered"));
            assert.equal(refreshed.files["etc/kubernetes/admin.conf"].mode, "0644");
            assert.deepEqual(refreshed.files["var/lib/kubelet/pki/kubelet.crt"], { sha256: "absent", mode: "absent" });
            assert.deepEqual(await nodeFilesProvider.diff!(id, refreshed, inputs), { changes: true });
            // up: update rewrites
            const { outs: after } = (await nodeFilesProvider.update!(id, refreshed, inputs)) as { outs: any };
            for (const f of TREE) {
                assert.equal(read(path.join(node, f.path)), f.content);
                assert.equal(modeOf(path.join(node, f.path)), parseInt(f.mode, 8));
            }
            assert.deepEqual(after.files, outs.files);
            assert.deepEqual(await nodeFilesProvider.diff!(id, after, inputs), { changes: false });
        });

        it("update rewrites changed files and removes files dropped from the map (and their then-empty dirs)", async () => {
            const root = tmp();
            const node = path.join(root, "cp-1");
            const { id, outs } = await nodeFilesProvider.create(inputsOf(root, "cp-1", TREE));
            const next = TREE.filter((f) => !f.path.startsWith("var/") && !f.path.includes("/etcd/")).map((f) =>
                f.path.endsWith("ca.crt") ? { ...f, content: "ROTATED\n" } : f,
            );
            const news = inputsOf(root, "cp-1", next);
            assert.deepEqual(await nodeFilesProvider.diff!(id, outs, news), { changes: true });
            const { outs: after } = (await nodeFilesProvider.update!(id, outs, news)) as { outs: any };
            assert.equal(read(path.join(node, "etc/kubernetes/pki/ca.crt")), "ROTATED\n");
            assert.ok(!fs.existsSync(path.join(node, "var")), "var/ tree removed with its last file");
            assert.ok(!fs.existsSync(path.join(node, "etc/kubernetes/pki/etcd")));
            assert.deepEqual(Object.keys(after.files).sort(), next.map((f) => f.path).sort());
            assert.ok(after.createdDirs.every((d: string) => fs.existsSync(d)));
            assert.deepEqual(await nodeFilesProvider.diff!(id, after, news), { changes: false });
        });

        it("diff: unknown contents (preview) → changes; root or node change → delete-before-replace", async () => {
            const root = tmp();
            const inputs = inputsOf(root, "cp-1", TREE);
            const { id, outs } = await nodeFilesProvider.create(inputs);
            const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            assert.deepEqual(await nodeFilesProvider.diff!(id, outs, { ...inputs, contents: unknown }), { changes: false }, "manifest hashes known and equal");
            assert.deepEqual(await nodeFilesProvider.diff!(id, outs, { ...inputs, contents: unknown, manifest: unknown }), { changes: true });
            const moved = await nodeFilesProvider.diff!(id, outs, { ...inputs, root: tmp() });
            assert.deepEqual(moved, { changes: true, replaces: ["root"], deleteBeforeReplace: true });
        });

        it("delete removes exactly its files and then-empty dirs; a foreign file and its dirs survive", async () => {
            const root = tmp();
            const node = path.join(root, "cp-1");
            const { id, outs } = await nodeFilesProvider.create(inputsOf(root, "cp-1", TREE));
            fs.writeFileSync(path.join(node, "etc/kubernetes/pki/etcd/foreign"), "keep me");
            await nodeFilesProvider.delete!(id, outs);
            for (const f of TREE) assert.ok(!fs.existsSync(path.join(node, f.path)), f.path);
            assert.equal(read(path.join(node, "etc/kubernetes/pki/etcd/foreign")), "keep me");
            assert.ok(!fs.existsSync(path.join(node, "var")));
            assert.ok(fs.existsSync(root));
        });

        it("check names every drifted file (the `drift` input a preview --diff shows), and refuses a cross-node link", async () => {
            const root = tmp();
            const node = path.join(root, "cp-1");
            const inputs = inputsOf(root, "cp-1", TREE);
            const { id, outs } = await nodeFilesProvider.create(inputs);
            assert.equal((await nodeFilesProvider.check!(inputs, inputs)).inputs.drift, undefined, "no drift: inputs unchanged");
            assert.equal((await nodeFilesProvider.check!({}, inputs)).inputs.drift, undefined, "create: nothing to compare");
            fs.writeFileSync(path.join(node, "etc/kubernetes/pki/ca.key"), "tampered");
            fs.chmodSync(path.join(node, "etc/kubernetes/admin.conf"), 0o644);
            fs.rmSync(path.join(node, "var/lib/kubelet/pki/kubelet.crt"));
            // a write killed after staging kubelet.conf (a file the last write did not have)
            const killed = crashedWrite(root, "cp-1", [{ path: "etc/kubernetes/kubelet.conf", content: "half", mode: "0600", secret: true }]);
            const killedRel = path.relative(node, killed[0]);
            // a config change of another file is not drift: only what differs from the last write is listed
            const news = inputsOf(root, "cp-1", TREE.map((f) => (f.path.endsWith("etcd/ca.crt") ? { ...f, content: "NEW\n" } : f)));
            const { inputs: checked, failures } = await nodeFilesProvider.check!(inputs, news);
            assert.deepEqual(failures, []);
            assert.deepEqual(checked.drift, [
                "etc/kubernetes/admin.conf: mode 0644 on disk, written 0600",
                "etc/kubernetes/pki/ca.key: content changed on disk",
                "var/lib/kubelet/pki/kubelet.crt: removed from disk",
                `${killedRel}: temp file left by an interrupted write (removed by the update)`,
            ]);
            // the update repairs everything and removes the temp file; then nothing drifts
            assert.deepEqual(await nodeFilesProvider.diff!(id, outs, news), { changes: true });
            const { outs: after } = (await nodeFilesProvider.update!(id, outs, news)) as { outs: any };
            assert.deepEqual(tempFiles(root), []);
            assert.equal((await nodeFilesProvider.check!(news, news)).inputs.drift, undefined);
            assert.deepEqual(await nodeFilesProvider.diff!(id, after, news), { changes: false });
            // a temp file alone is a change (so that the next up removes it)
            crashedWrite(root, "cp-1", [{ path: "x", content: "half", mode: "0600" }]);
            assert.deepEqual(await nodeFilesProvider.diff!(id, after, news), { changes: true });
            await nodeFilesProvider.update!(id, after, news);
            assert.deepEqual(tempFiles(root), []);
            // a node tree that became a link into another node's tree: check fails, naming both
            const root2 = tmp();
            const w = inputsOf(root2, "worker-6", TREE.slice(0, 1));
            await nodeFilesProvider.create(w);
            fs.mkdirSync(path.join(root2, "cp-1", "etc"), { recursive: true });
            fs.rmSync(path.join(root2, "worker-6", "etc"), { recursive: true });
            fs.symlinkSync("../cp-1/etc", path.join(root2, "worker-6", "etc"));
            const r = await nodeFilesProvider.check!(w, w);
            assert.equal(r.failures!.length, 1);
            assert.match(r.failures![0].reason, /worker-6\/etc is a symlink .*node cp-1's tree, not node worker-6's/);
        });

        it("delete after a recovery: directories the state does not list and a root created by the crashed run are removed", async () => {
            const base = tmp();
            const root = path.join(base, "out");
            // the crashed run: it created the root and cp-1's tree, then died before recording anything
            writeTree(root, "cp-1", TREE);
            crashedWrite(root, "cp-1", TREE.map((f) => ({ ...f, content: `${f.content}v2` })));
            // the recovery: create finds every directory in place, so its state lists none of them
            const a = await nodeFilesProvider.create(inputsOf(root, "cp-1", TREE));
            assert.deepEqual(a.outs.createdDirs, []);
            const b = await nodeFilesProvider.create(inputsOf(root, "worker-1", TREE.slice(0, 2)));
            // deleting in either order leaves nothing: the last delete removes the root the sink created
            await nodeFilesProvider.delete!(a.id, a.outs);
            assert.deepEqual(fs.readdirSync(root).sort(), [".kube-pki-root", "worker-1"]);
            await nodeFilesProvider.delete!(b.id, b.outs);
            assert.deepEqual(fs.readdirSync(base), [], "root removed");
            // a root that existed before the sink stays, with a foreign file in a node tree and its dirs
            const root2 = tmp();
            const c = await nodeFilesProvider.create(inputsOf(root2, "cp-1", TREE));
            fs.writeFileSync(path.join(root2, "cp-1", "etc/kubernetes/pki/foreign"), "keep");
            await nodeFilesProvider.delete!(c.id, c.outs);
            assert.equal(read(path.join(root2, "cp-1", "etc/kubernetes/pki/foreign")), "keep");
            assert.ok(!fs.existsSync(path.join(root2, "cp-1", "var")));
        });

        it("check reports bad paths and a relative root", async () => {
            const r = await nodeFilesProvider.check!({}, { ...inputsOf("rel/dir", "cp-1", [{ path: "../x", content: "x", mode: "0600" }]) });
            assert.deepEqual(r.failures!.map((f) => f.property).sort(), ["manifest", "root"]);
        });

        it("survives closure serialization: the serialized provider (as the engine loads it) writes and deletes", async function () {
            this.timeout(60_000);
            const serialized = await pulumi.runtime.serializeFunction(() => nodeFilesProvider);
            assert.ok(!/class NodeFiles|ComponentResource|ConfigError/.test(serialized.text), "no component code captured");
            // the state carries a loader, not the implementation (it was ~28 KB, stored twice per resource)
            assert.ok(!/function writeTree|function resolveDir|O_NOFOLLOW/.test(serialized.text), "no implementation code captured");
            assert.ok(serialized.text.length < 4096, `serialized provider is ${serialized.text.length} bytes`);
            // load it like the dynamic provider host does (require-from-string), outside this module
            const m = new Module("/tmp/kube-pki-dynamic-provider.js") as any;
            m.paths = (Module as any)._nodeModulePaths(process.cwd());
            m._compile(serialized.text, "/tmp/kube-pki-dynamic-provider.js");
            const provider = m.exports.handler();
            const root = tmp();
            const inputs = inputsOf(root, "w-1", TREE);
            const { id, outs } = await provider.create(inputs);
            assert.equal(read(path.join(root, "w-1", TREE[1].path)), TREE[1].content);
            assert.equal(modeOf(path.join(root, "w-1", TREE[1].path)), 0o600);
            assert.deepEqual(await provider.diff(id, outs, inputs), { changes: false });
            await provider.delete(id, outs);
            assert.deepEqual(fs.readdirSync(root), []);
        });
    });

    describe("orphan watchdog (the provider process must not outlive a killed engine)", () => {
        it("a provider whose engine is killed -9 exits; one whose engine lives keeps running", async function () {
            this.timeout(90_000);
            const dir = tmp();
            const impl = path.resolve(__dirname, "../components/sinks/node-files-impl");
            const script = (ready: string) =>
                `require(${JSON.stringify(impl)}).startOrphanWatchdog(100);` +
                `require("fs").writeFileSync(${JSON.stringify(ready)}, String(process.pid));setInterval(() => {}, 1000);`;
            const nodeArgs = (ready: string) => ["-r", "ts-node/register/transpile-only", "-e", script(ready)];
            const waitFor = async (what: string, ok: () => boolean) => {
                for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
                assert.ok(ok(), what);
            };
            const alive = pidAlive;
            // "engine" = a shell that started the provider (like the plugin shim) and is then killed -9
            const readyA = path.join(dir, "a");
            const { spawn } = await import("node:child_process");
            const engine = spawn("sh", ["-c", `"${process.execPath}" ${nodeArgs(readyA).map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ")} & wait`], {
                cwd: path.resolve(__dirname, ".."),
                stdio: "ignore",
            });
            const readyB = path.join(dir, "b");
            const kept = spawn(process.execPath, nodeArgs(readyB), { cwd: path.resolve(__dirname, ".."), stdio: "ignore" });
            try {
                await waitFor("the providers started", () => fs.existsSync(readyA) && fs.existsSync(readyB));
                const orphan = Number(read(readyA));
                engine.kill("SIGKILL");
                await waitFor(`the orphaned provider (pid ${orphan}) exited`, () => !alive(orphan));
                assert.ok(alive(kept.pid!), "the provider whose parent is alive still runs");
            } finally {
                kept.kill("SIGKILL");
                engine.kill("SIGKILL");
            }
        });
    });

    describe("preview-time checks (component args)", () => {
        it("a rootDir below a regular file is refused, naming nodeFiles.rootDir", () => {
            const base = tmp();
            fs.writeFileSync(path.join(base, "file"), "x");
            const problems = nodeFilesArgsProblems({ rootDir: path.join(base, "file", "nodes"), node: "cp-1", files: {} as FileMap });
            assert.ok(problems.some((p) => /^nodeFiles\.rootDir: .*is not a directory/.test(p)), problems.join("\n"));
        });

        it("an unwritable subdirectory does not block the repair of the node's other files (as an unprivileged user)", function () {
            this.timeout(60_000);
            const root = tmp();
            fs.chmodSync(root, 0o755);
            writeTree(root, "cp-1", TREE);
            const node = path.join(root, "cp-1");
            const pki = path.join(node, "etc/kubernetes/pki");
            fs.writeFileSync(path.join(node, "etc/kubernetes/admin.conf"), "tampered");
            fs.writeFileSync(path.join(pki, "ca.crt"), "tampered");
            const asRoot = process.getuid?.() === 0;
            const own = (p: string, uid: number) => {
                fs.chownSync(p, uid, uid);
                if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) own(path.join(p, e), uid);
            };
            if (asRoot) {
                own(node, 65534); // the node tree belongs to the writer ...
                fs.chownSync(pki, 0, 0); // ... except etc/kubernetes/pki: root's, 0755 (readable, not writable)
                fs.chmodSync(pki, 0o755);
            } else {
                fs.chmodSync(pki, 0o555);
            }
            const treeFile = path.join(root, "..", `${path.basename(root)}-tree.json`);
            fs.writeFileSync(treeFile, JSON.stringify(TREE));
            fs.chmodSync(treeFile, 0o644); // the test's umask is 077
            tmpDirs.push(treeFile);
            const script =
                `const { writeTree } = require(${JSON.stringify(path.resolve(__dirname, "../components/sinks/node-files-impl"))});` +
                `const tree = JSON.parse(require("fs").readFileSync(${JSON.stringify(treeFile)}, "utf8"));` +
                `try { writeTree(${JSON.stringify(root)}, "cp-1", tree); process.stdout.write("no error"); } catch (e) { process.stdout.write(e.message); }`;
            const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
                ...(asRoot ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: root } } : {}),
                cwd: path.resolve(__dirname, ".."),
                encoding: "utf8",
            });
            if (asRoot && r.status !== 0 && !r.stdout) this.skip(); // cannot run as nobody here
            fs.chmodSync(pki, 0o700);
            assert.match(r.stdout, /2 file\(s\) not written, left as they were \(etc\/kubernetes\/pki\/ca\.crt, etc\/kubernetes\/pki\/ca\.key\)/);
            assert.match(r.stdout, /EACCES/);
            assert.equal(read(path.join(node, "etc/kubernetes/admin.conf")), TREE.find((f) => f.path.endsWith("admin.conf"))!.content, "repaired");
            assert.equal(read(path.join(pki, "ca.crt")), "tampered", "the unwritable directory is left as it was");
            assert.equal(read(path.join(pki, "etcd/ca.key")), TREE.find((f) => f.path.endsWith("etcd/ca.key"))!.content);
            assert.deepEqual(tempFiles(root), []);
        });

        it("an unwritable rootDir is refused, naming nodeFiles.rootDir (checked as an unprivileged user)", function () {
            const base = tmp();
            const locked = path.join(base, "locked");
            fs.mkdirSync(locked, { mode: 0o755 });
            fs.chmodSync(base, 0o755);
            const script =
                `const { nodeFilesArgsProblems } = require(${JSON.stringify(path.resolve(__dirname, "../components/sinks/node-files"))});` +
                `const p = nodeFilesArgsProblems({ rootDir: ${JSON.stringify(path.join(locked, "nodes"))}, node: "cp-1", files: { "a": { content: "x", mode: "0644", secret: false } } });` +
                `process.stdout.write(JSON.stringify(p));`;
            let out: string;
            if (process.getuid && process.getuid() === 0) {
                // root ignores permissions: run the check as nobody against a root-owned 0755 directory
                const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
                    uid: 65534,
                    gid: 65534,
                    cwd: path.resolve(__dirname, ".."),
                    env: { ...process.env, HOME: base },
                    encoding: "utf8",
                });
                if (r.status !== 0) this.skip(); // cannot run as nobody here
                out = r.stdout;
            } else {
                fs.chmodSync(locked, 0o555);
                const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: path.resolve(__dirname, ".."), encoding: "utf8" });
                out = r.stdout;
            }
            const problems: string[] = JSON.parse(out);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], /^nodeFiles\.rootDir: .*locked\/nodes is not writable: .*locked is not writable \(EACCES\)/);
        });
    });
});

// ------------------------------------------------------------------------------------------ under Pulumi mocks

describe("sinks: NodeFiles component under mocks with a real ClusterPki", function () {
    this.timeout(120_000);
    const tmpRoots: string[] = [];
    after(() => {
        for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
    });

    const ARGS = {
        clusterName: "sinks",
        controlPlaneEndpoint: "api.sinks.example:6443",
        controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
        workers: [{ name: "w-1", addresses: ["10.0.1.21"] }],
        keyAlgorithm: "ECDSA-P256",
    };

    it("writes every node's kubeadm tree through the dynamic provider; state holds hashes, contents only as one secret input", async () => {
        const emulator = setupMocks();
        // run the real provider for the dynamic resource, as the engine's dynamic provider host would
        emulator.register(DYNAMIC_TYPE, async (ctx) => {
            const r = await nodeFilesProvider.create(ctx.inputs);
            return { id: r.id, state: r.outs };
        });
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-nodes-"));
        tmpRoots.push(root);
        const pki = new ClusterPki("sinks", ARGS);
        const sinks = Object.fromEntries(
            Object.entries(pki.nodeFiles).map(([node, files]) => [node, new NodeFiles(`files-${node}`, { rootDir: root, node, files })]),
        );
        for (const [node, files] of Object.entries(pki.nodeFiles)) {
            const hashes = await valueOf(sinks[node].hashes);
            assert.deepEqual(Object.keys(hashes).sort(), Object.keys(files).sort());
            for (const [rel, f] of Object.entries(files)) {
                const content = await valueOf(f.content);
                const p = path.join(root, node, rel);
                assert.equal(read(p), content, `${node}/${rel}`);
                assert.equal(modeOf(p), parseInt(f.mode, 8), `${node}/${rel} mode`);
                assert.equal(hashes[rel], sha(content));
            }
        }
        assert.equal(modeOf(path.join(root, "cp-1/etc/kubernetes/pki")), 0o700);
        assert.equal(modeOf(path.join(root, "w-1/etc/kubernetes")), 0o700, "kubelet.conf is secret");
        assert.equal(modeOf(path.join(root, "w-1/etc/kubernetes/pki")), 0o755, "workers hold ca.crt only");

        // one component and one dynamic resource per node
        assert.equal(emulator.byType("kube-pki:index:NodeFiles").length, 2);
        const dyn = emulator.byType(DYNAMIC_TYPE);
        assert.equal(dyn.length, 2);
        for (const rec of dyn) {
            // inputs: the contents are ONE secret; manifest and root are plain
            const raw = rec.rawInputs;
            assert.equal(raw.contents[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig, "contents input is a secret");
            assert.ok(!JSON.stringify(raw.manifest).includes("PRIVATE KEY"), "manifest carries no content");
            assert.equal(raw.manifest[pulumi.runtime.specialSigKey], undefined, "the manifest (modes, hashes) is plain");
            assert.equal(typeof raw.__provider, "string");
            // outputs (the provider's state): hashes only
            assert.ok(!/PRIVATE KEY|CERTIFICATE|client-key-data/.test(JSON.stringify(rec.outputs)), "no content in outputs");
            assert.deepEqual(Object.keys(rec.outputs).sort(), ["createdDirs", "directory", "files", "node", "root"]);
        }
        // the component's outputs are not secret (hashes only)
        const r = await resolve(sinks["cp-1"].hashes);
        assert.equal(r.secret, false);
    });

    it("bad args throw before any resource is registered, naming the setting", async () => {
        const emulator = setupMocks();
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-nodes-"));
        tmpRoots.push(root);
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-outside-"));
        tmpRoots.push(outside);
        const file = (content: string, mode = "0644") => ({ content: pulumi.output(content), mode, secret: mode === "0600" });
        const cases: [string, () => unknown, RegExp][] = [
            ["escape", () => new NodeFiles("a", { rootDir: root, node: "cp-1", files: { "../../etc/passwd": file("x") } }), /nodeFiles\.files\["\.\.\/\.\.\/etc\/passwd"\]: must not contain '\.\.'/],
            ["absolute", () => new NodeFiles("b", { rootDir: root, node: "cp-1", files: { "/etc/passwd": file("x") } }), /nodeFiles\.files\["\/etc\/passwd"\]: must be relative/],
            ["node", () => new NodeFiles("c", { rootDir: root, node: "../cp-1", files: { a: file("x") } }), /nodeFiles\.node: "\.\.\/cp-1" must be a single path segment/],
            ["mode", () => new NodeFiles("d", { rootDir: root, node: "cp-1", files: { a: file("x", "rw") } }), /nodeFiles\.files\["a"\]\.mode/],
            ["rootDir", () => new NodeFiles("e", { rootDir: "", node: "cp-1", files: { a: file("x") } }), /nodeFiles\.rootDir: must be a directory path/],
        ];
        fs.mkdirSync(path.join(root, "cp-1", "etc"), { recursive: true });
        fs.symlinkSync(outside, path.join(root, "cp-1", "etc", "kubernetes"));
        cases.push([
            "symlink",
            () => new NodeFiles("f", { rootDir: root, node: "cp-1", files: { "etc/kubernetes/admin.conf": file("x", "0600") } }),
            /nodeFiles\.files\["etc\/kubernetes\/admin\.conf"\]: cp-1\/etc\/kubernetes is a symlink to .* outside the root/,
        ]);
        for (const [what, fn, re] of cases) {
            assert.throws(fn, (e: unknown) => e instanceof ConfigError && re.test(e.message), what);
        }
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(emulator.resources.length, 0, "nothing registered");
    });
});
