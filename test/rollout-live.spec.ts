/**
 * Rollout, live: a real OpenSSH server on loopback (Debian's sshd, started and stopped here), the RemoteNodeFiles
 * provider delivering a control plane's files over it, the DEFAULT reload command run on the "machine", and a
 * static-pod-like supervisor (this spec) that runs an HTTPS "kube-apiserver" from the node's tree exactly while
 * `etc/kubernetes/manifests/kube-apiserver.yaml` is in the manifest dir, reading its certificate only when it
 * starts. Certificates are real X.509 (openssl). Proves: sa.pub changed → kube-apiserver restarted by the default
 * command (its served certificate is then the delivered one and the gate passes); a failing gate fails the update
 * naming the node, the check and the last answer; the next update from the same state restarts again and passes.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn, ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { remoteFilesImpl } from "../components/sinks/remote-files/provider";
import { HELD_DIR } from "../components/rollout/reload";

const SSHD = "/usr/sbin/sshd";
const live = process.getuid?.() === 0 && fs.existsSync(SSHD);
const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

/** A CA and leaves signed by it, with openssl (P-256; IP SAN 127.0.0.1 for the serving cert). */
function pki(dir: string) {
    const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=kubernetes", "-days", "2"]);
    fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:cp-1\nextendedKeyUsage=serverAuth\n");
    fs.writeFileSync(path.join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
    let n = 0;
    const leaf = (cn: string, ext: string) => {
        const base = `leaf-${n++}`;
        o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${base}.key`, "-out", `${base}.csr`, "-subj", `/CN=${cn}`]);
        o(["x509", "-req", "-in", `${base}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${base}.crt`, "-days", "2", "-extfile", ext]);
        return { cert: fs.readFileSync(path.join(dir, `${base}.crt`), "utf8"), key: fs.readFileSync(path.join(dir, `${base}.key`), "utf8") };
    };
    const saKey = () => {
        const { publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
        return publicKey.export({ type: "spki", format: "pem" }).toString();
    };
    return { ca: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), serving: () => leaf("kube-apiserver", "san.ext"), client: () => leaf("kube-apiserver-kubelet-client", "client.ext"), saPub: saKey };
}

/** The static-pod-like supervisor of one component: runs `start()` while the manifest is in the manifest dir. */
class Supervisor {
    starts = 0;
    private server?: https.Server;
    private timer?: NodeJS.Timeout;
    healthy = true;
    constructor(
        private readonly tree: string,
        private readonly port: number,
    ) {}
    private manifest = () => path.join(this.tree, "etc/kubernetes/manifests/kube-apiserver.yaml");
    run() {
        this.timer = setInterval(() => void this.tick(), 100);
    }
    private async tick() {
        const present = fs.existsSync(this.manifest());
        if (present && !this.server) {
            const pkiDir = path.join(this.tree, "etc/kubernetes/pki");
            const s = https.createServer(
                {
                    cert: fs.readFileSync(path.join(pkiDir, "apiserver.crt")),
                    key: fs.readFileSync(path.join(pkiDir, "apiserver.key")),
                    ca: fs.readFileSync(path.join(pkiDir, "ca.crt")),
                    requestCert: true,
                    rejectUnauthorized: false,
                },
                (req, res) => {
                    const authed = (req.socket as import("node:tls").TLSSocket).authorized;
                    if (!authed) return void res.writeHead(401).end("unauthorized");
                    if (req.url === "/readyz" && this.healthy) return void res.writeHead(200).end("ok");
                    res.writeHead(500).end("[-]etcd failed: reason withheld\nreadyz check failed");
                },
            );
            this.server = s;
            this.starts++;
            await new Promise<void>((r) => s.listen(this.port, "127.0.0.1", () => r()));
        } else if (!present && this.server) {
            const s = this.server;
            this.server = undefined;
            s.closeAllConnections();
            await new Promise<void>((r) => s.close(() => r()));
        }
    }
    async stop() {
        clearInterval(this.timer);
        if (this.server) {
            this.server.closeAllConnections();
            await new Promise<void>((r) => this.server!.close(() => r()));
        }
    }
}

(live ? describe : describe.skip)("rollout, live over a real sshd: default reload, gates, resume", function () {
    this.timeout(300_000);
    let dir: string;
    let sshd: ChildProcess | undefined;
    let sup: Supervisor;
    let target: Record<string, unknown>;
    let machineRoot: string;
    let tree: string;
    let ca: ReturnType<typeof pki>;
    let apiPort: number;

    before(async function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube-pki-rollout-"));
        machineRoot = path.join(dir, "machine");
        fs.mkdirSync(machineRoot, { mode: 0o755 });
        fs.chmodSync(dir, 0o755);
        tree = path.join(machineRoot, "cp-1");
        const sshPort = await freePort();
        apiPort = await freePort();
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", path.join(dir, "host")]);
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "client", "-f", path.join(dir, "client")]);
        fs.copyFileSync(path.join(dir, "client.pub"), path.join(dir, "authorized_keys"));
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        fs.writeFileSync(
            path.join(dir, "sshd_config"),
            [`Port ${sshPort}`, "ListenAddress 127.0.0.1", `HostKey ${path.join(dir, "host")}`, `PidFile ${path.join(dir, "sshd.pid")}`, `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`, "StrictModes no", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "UsePAM no", ""].join("\n"),
        );
        sshd = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
        let log = "";
        sshd.stderr!.on("data", (d: Buffer) => (log += d.toString()));
        for (let i = 0; i < 100 && !log.includes("Server listening"); i++) await sleep(100);
        assert.ok(log.includes("Server listening"), `sshd did not start: ${log}`);
        target = {
            node: "cp-1",
            root: machineRoot,
            host: "127.0.0.1",
            port: sshPort,
            user: "root",
            hostKey: fs.readFileSync(path.join(dir, "host.pub"), "utf8").trim(),
            sudo: false,
            privateKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
        };
        ca = pki(dir);
        sup = new Supervisor(tree, apiPort);
    });

    after(async function () {
        await sup?.stop();
        sshd?.kill("SIGTERM");
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A control plane's inputs: the files of one "generation" plus the rollout settings. */
    function inputs(files: Record<string, string>, gateTimeout = 60) {
        const manifest = Object.fromEntries(Object.entries(files).map(([rel, c]) => [rel, { mode: rel.endsWith(".key") ? "0600" : "0644", secret: rel.endsWith(".key"), sha256: sha(c) }]));
        return {
            ...target,
            manifest,
            contents: files,
            rollout: {
                position: "wave 1/1",
                reload: {},
                holdSeconds: 2,
                gateTimeoutSeconds: gateTimeout,
                gate: { address: "127.0.0.1", apiServerPort: apiPort, etcdPort: 1, etcdMembers: [] },
                hashes: Object.fromEntries(Object.entries(files).map(([rel, c]) => [rel, sha(c)])),
            },
        };
    }
    function generation() {
        const s = ca.serving();
        const c = ca.client();
        return {
            "etc/kubernetes/pki/ca.crt": ca.ca,
            "etc/kubernetes/pki/apiserver.crt": s.cert,
            "etc/kubernetes/pki/apiserver.key": s.key,
            "etc/kubernetes/pki/apiserver-kubelet-client.crt": c.cert,
            "etc/kubernetes/pki/apiserver-kubelet-client.key": c.key,
            "etc/kubernetes/pki/sa.pub": ca.saPub(),
        };
    }

    let state: any;
    let g3: Record<string, string>;

    it("first delivery: files only; then sa.pub + apiserver.crt change → the default command restarts kube-apiserver, the gate sees the delivered cert", async function () {
        const created = await remoteFilesImpl.create(inputs(generation()));
        assert.equal(created.outs.rolloutResult, undefined, "a first delivery restarts nothing");
        fs.mkdirSync(path.join(tree, "etc/kubernetes/manifests"), { recursive: true });
        fs.writeFileSync(path.join(tree, "etc/kubernetes/manifests/kube-apiserver.yaml"), "kind: Pod\n");
        sup.run();
        while (sup.starts === 0) await sleep(50);

        const g2 = generation();
        const checked = await remoteFilesImpl.check!(inputs(generation()), inputs(g2));
        assert.match(checked.inputs.rolloutPlan, /^cp-1 \(wave 1\/1\): restart kube-apiserver \(pki\/sa\.pub changed\)$/);
        const up = await remoteFilesImpl.update!("id", created.outs, inputs(g2));
        assert.deepEqual(up.outs!.rolloutResult.restarted, ["kube-apiserver"]);
        assert.equal(sup.starts, 2, "the component ran again after the manifest came back");
        assert.match(up.outs!.rolloutResult.gates.join("\n"), /kube-apiserver \/readyz .*: ready, serving the delivered pki\/apiserver\.crt/);
        assert.ok(fs.existsSync(path.join(tree, "etc/kubernetes/manifests/kube-apiserver.yaml")), "manifest back in place");
        assert.deepEqual(fs.readdirSync(path.join(tree, HELD_DIR)), [], "nothing left held");
        state = up.outs;
    });

    it("a failing gate fails the update naming the node, the check and the last answer; the next update from the same state restarts again and passes", async function () {
        sup.healthy = false;
        g3 = generation();
        const startsBefore = sup.starts;
        await assert.rejects(
            remoteFilesImpl.update!("id", state, inputs(g3, 4)),
            (e: Error) => {
                assert.match(e.message, /node cp-1: gate "kube-apiserver \/readyz at 127\.0\.0\.1:\d+" did not pass within 4s/);
                assert.match(e.message, /last: HTTP 500 .*readyz check failed/);
                assert.match(e.message, /nodes after cp-1 were not touched/);
                return true;
            },
        );
        assert.equal(sup.starts, startsBefore + 1, "the reload ran before the gate");
        // the engine keeps the old state after a failed update: the same olds again, the node healthy now
        sup.healthy = true;
        const again = await remoteFilesImpl.update!("id", state, inputs(g3));
        assert.deepEqual(again.outs!.rolloutResult.restarted, ["kube-apiserver"], "files already there, still restarted: the plan comes from the state");
        assert.equal(sup.starts, startsBefore + 2);
    });

    it("an interrupted hold (manifest left in the holding dir) is put back by the next reload", async function () {
        const held = path.join(tree, HELD_DIR, "kube-apiserver.yaml");
        fs.renameSync(path.join(tree, "etc/kubernetes/manifests/kube-apiserver.yaml"), held);
        const g4 = { ...g3, "etc/kubernetes/pki/sa.pub": ca.saPub() };
        const prev = { ...state, files: Object.fromEntries(Object.entries(g3).map(([rel, c]) => [rel, { sha256: sha(c), mode: rel.endsWith(".key") ? "0600" : "0644" }])) };
        const up = await remoteFilesImpl.update!("id", prev, inputs(g4));
        assert.deepEqual(up.outs!.rolloutResult.restarted, ["kube-apiserver"]);
        assert.ok(fs.existsSync(path.join(tree, "etc/kubernetes/manifests/kube-apiserver.yaml")));
        assert.ok(!fs.existsSync(held));
    });
});
