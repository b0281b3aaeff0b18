/**
 * Any backend (issue 25 item 3), S3: `npm run up`, `npm run preview`, check-expiration, `npm run pulumi`, the
 * destroy guard and the recovery before each run, on an S3-compatible server (tools/s3: our main around gofakes3,
 * built by scripts/tools.sh, started on a loopback port here and stopped at the end) with the real Pulumi CLI,
 * the real program (a fresh copy of the checkout with a small stack) and the real tls provider. The stack's state
 * is read back from the bucket over the S3 API. Skipped when the `s3` tool or the Pulumi CLI is not built.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pulumiCli } from "./support/pulumi-state";

const REPO = path.resolve(__dirname, "..");
const BUCKET = "kube-pki-state";
const ACCESS_KEY_ID = "AKIDKUBEPKISPEC";
const STACK = "s3team";
const ROOT = "s3root";
const PASSPHRASE = "kube-pki-s3-spec-passphrase";
/** What a clone holds that the npm scripts need (node_modules is linked). */
const CLONE = ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json", "tsconfig.pulumi.json", "scripts", "stacks", "tools", ".npmrc"];

function s3Tool(): string | undefined {
    try {
        const dir = execFileSync("bash", [path.join(REPO, "scripts/tools.sh"), "path", "s3"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
        return fs.existsSync(path.join(dir, "s3")) ? path.join(dir, "s3") : undefined;
    } catch {
        return undefined;
    }
}

interface S3Server {
    endpoint: string; // http://127.0.0.1:<port>
    port: number;
    /** A request as a client with our access key makes it (the server checks the key id, not the signature). */
    request(method: string, key: string, body?: string): Promise<{ status: number; text: string }>;
    stop(): Promise<void>;
}

async function startS3(bin: string): Promise<S3Server> {
    const child: ChildProcess = spawn(bin, ["serve", "-bucket", BUCKET, "-listen", "127.0.0.1:0", "-access-key-id", ACCESS_KEY_ID], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    const endpoint = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d) => {
            out += d;
            const m = /^s3: serving bucket \S+ on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
            if (m) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`s3 server exited (${code}): ${err}`)));
    });
    const auth = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0`;
    return {
        endpoint,
        port: Number(new URL(endpoint).port),
        async request(method, key, body) {
            const r = await fetch(`${endpoint}/${BUCKET}/${key}`, { method, body, headers: { Authorization: auth } });
            return { status: r.status, text: await r.text() };
        },
        async stop() {
            child.kill("SIGTERM");
            await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        },
    };
}

function freshClone(dir: string): string {
    for (const rel of CLONE) {
        const src = path.join(REPO, rel);
        if (fs.existsSync(src)) fs.cpSync(src, path.join(dir, rel), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    // a cluster stack with one control plane, no workers, no sinks (the whole kubeadm catalog, the smallest stack),
    // and a root stack (its CA is protected: what the destroy guard is for)
    fs.writeFileSync(
        path.join(dir, "stacks", `Pulumi.${STACK}.yaml`),
        ["config:", `  kube-pki:clusterName: ${STACK}`, "  kube-pki:controlPlaneEndpoint: api.s3team.internal:6443", "  kube-pki:controlPlanes:", "    - {name: cp-1, advertiseAddress: 10.0.0.11}", ""].join("\n"),
    );
    fs.writeFileSync(
        path.join(dir, "stacks", `Pulumi.${ROOT}.yaml`),
        ["config:", "  kube-pki:role: root", "  kube-pki:rootCa:", "    commonName: kube-pki S3 spec root CA", "    keyAlgorithm: ECDSA-P256", "  kube-pki:clusters:", `    - {name: ${STACK}, cas: [ca]}`, ""].join("\n"),
    );
    return dir;
}

describe("any backend: S3 (tools/s3 on loopback, real Pulumi CLI, real program and tls provider)", function () {
    const bin = s3Tool();
    if (!bin || !pulumiCli()) {
        it.skip("needs the s3 tool and the Pulumi CLI (bash scripts/tools.sh build s3 pulumi pulumi-resource-tls)");
        return;
    }
    this.timeout(900_000);
    let s3: S3Server;
    let dir: string;
    let clone: string;
    let env: NodeJS.ProcessEnv;
    let url: string;
    const checkpointKey = `.pulumi/stacks/kube-pki/${STACK}.json`;

    /** A wrapper script as `npm run <x>` runs it (ts-node), in the clone, with the S3 backend in the environment. */
    function script(file: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
        const r = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(clone, file), ...args], {
            cwd: clone,
            env: { ...env, ...extra },
            encoding: "utf8",
            timeout: 600_000,
        });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}\n${r.stderr}` };
    }
    const checkpoint = async () => {
        const r = await s3.request("GET", checkpointKey);
        assert.equal(r.status, 200, `GET ${checkpointKey}: ${r.text.slice(0, 300)}`);
        return r.text;
    };

    before(async () => {
        s3 = await startS3(bin);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-s3-"));
        clone = path.join(dir, "clone");
        fs.mkdirSync(clone);
        freshClone(clone);
        // the URL as the proof names it: gocloud.dev's legacy (AWS SDK v1) parameter names, which the CLI's
        // gocloud.dev v0.46 still accepts next to endpoint=http://...&use_path_style=true (the last test)
        url = `s3://${BUCKET}?endpoint=127.0.0.1:${s3.port}&disableSSL=true&s3ForcePathStyle=true`;
        env = {
            ...process.env,
            PULUMI_BACKEND_URL: url,
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            PULUMI_HOME: path.join(dir, "pulumi-home"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY: crypto.randomBytes(16).toString("hex"),
            AWS_REGION: "us-east-1",
            KUBE_PKI_NO_TOOL_BUILD: "1",
        };
        for (const k of ["KUBE_PKI_STACK", "AWS_PROFILE", "AWS_SESSION_TOKEN"]) delete env[k];
    });
    after(async () => {
        await s3?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("npm run up creates the stack in the bucket; its state there holds no plaintext private key", async () => {
        const r = script("scripts/stack.ts", ["up", "--stack", STACK]);
        assert.equal(r.code, 0, r.output.slice(-3000));
        assert.match(r.stdout, new RegExp(`up of stack "${STACK}" \\(backend s3://${BUCKET}\\?endpoint=127\\.0\\.0\\.1:${s3.port}&`));
        assert.match(r.stdout, /^Done \(\d+ s\): create \d+/m);
        const state = await checkpoint();
        const doc = JSON.parse(state);
        const types = doc.checkpoint.latest.resources.map((x: { type: string }) => x.type);
        assert.ok(types.filter((t: string) => t === "tls:index/privateKey:PrivateKey").length >= 10, `tls keys in the bucket's checkpoint: ${types.join(", ")}`);
        assert.ok(!state.includes("PRIVATE KEY"), "every private key in the S3 state is ciphertext");
        assert.ok(!fs.existsSync(path.join(clone, ".pulumi-state")), "nothing went to the clone's local file backend");
    });

    it("npm run preview on it: no changes", () => {
        const r = script("scripts/stack.ts", ["preview", "--stack", STACK]);
        assert.equal(r.code, 0, r.output.slice(-3000));
        assert.doesNotMatch(r.stdout, /\b(create|update|replace|delete) [1-9]/, r.stdout.slice(-2000));
    });

    it("check-expiration and npm run pulumi read the stack from the bucket", () => {
        const r = script("scripts/check-expiration.ts", ["--stack", STACK, "--json"]);
        assert.equal(r.code, 0, r.stderr);
        const rows: { id: string; notBefore: string; notAfter: string }[] = JSON.parse(r.stdout);
        const ids = rows.map((x) => x.id);
        for (const id of ["ca", "etcd-ca", "front-proxy-ca", "apiserver", "apiserver-kubelet-client", "front-proxy-client"]) assert.ok(ids.includes(id), `${id} in ${ids.join(", ")}`);
        for (const x of rows) assert.ok(Date.parse(x.notAfter) > Date.parse(x.notBefore), `${x.id}: ${x.notBefore} .. ${x.notAfter}`);
        const missing = script("scripts/check-expiration.ts", ["--stack", "nope", "--json"]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, new RegExp(`no stack "nope" in s3://${BUCKET}\\?endpoint=127\\.0\\.0\\.1:${s3.port}.* \\(stacks: ${STACK};`));
        const out = script("scripts/pulumi.ts", ["stack", "output", "clusterName", "--stack", STACK]);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stdout.trim(), STACK);
    });

    it("recovery never removes another run's lock or rewrites the state there: it says to run cancel and refresh", async () => {
        // A run on another host holds the lock and was interrupted with a create in flight.
        const lockKey = `.pulumi/locks/organization/kube-pki/${STACK}/${crypto.randomUUID()}.json`;
        const lock = JSON.stringify({ pid: 999999, username: "operator", hostname: "ci-runner-7", timestamp: "2030-01-01T00:00:00Z" });
        assert.equal((await s3.request("PUT", lockKey, lock)).status, 200);
        const doc = JSON.parse(await checkpoint());
        doc.checkpoint.latest.pending_operations = [
            { type: "creating", resource: { urn: `urn:pulumi:${STACK}::kube-pki::tls:index/privateKey:PrivateKey::extra-key`, custom: true, type: "tls:index/privateKey:PrivateKey" } },
        ];
        const planted = JSON.stringify(doc, null, 4);
        assert.equal((await s3.request("PUT", checkpointKey, planted)).status, 200);

        const r = script("scripts/stack.ts", ["up", "--stack", STACK]);
        assert.equal(r.code, 1, r.output.slice(-3000));
        assert.match(r.stderr, new RegExp(`stack "${STACK}" on s3://${BUCKET}\\S* has 1 pending operation`), r.stderr);
        assert.match(r.stderr, new RegExp(`npm run pulumi -- refresh --stack ${STACK}`));
        assert.match(r.stderr, new RegExp(`stack "${STACK}" is locked by another run that is still going`));
        assert.match(r.stderr, new RegExp(`npm run pulumi -- cancel --stack ${STACK}`));
        assert.doesNotMatch(r.stderr, /removed the lock|dropped \d+ pending/);
        assert.equal((await s3.request("GET", lockKey)).text, lock, "the other host's lock is still there");
        assert.equal(await checkpoint(), planted, "the state in the bucket was not rewritten");

        // What the message says to run, through the wrapper: cancel removes the lock, refresh clears the pending create.
        const cancel = script("scripts/pulumi.ts", ["cancel", "--stack", STACK, "--yes"]);
        assert.equal(cancel.code, 0, cancel.output.slice(-2000));
        assert.equal((await s3.request("GET", lockKey)).status, 404);
        const refresh = script("scripts/pulumi.ts", ["refresh", "--stack", STACK, "--yes", "--clear-pending-creates"]);
        assert.equal(refresh.code, 0, refresh.output.slice(-2000));
        assert.deepEqual(JSON.parse(await checkpoint()).checkpoint.latest.pending_operations ?? [], []);
    });

    it("the endpoint=http://...&use_path_style=true form names the same backend; another access key is refused", () => {
        const v2 = `s3://${BUCKET}?endpoint=http://127.0.0.1:${s3.port}&use_path_style=true`;
        const ls = script("scripts/pulumi.ts", ["stack", "ls", "--json"], { PULUMI_BACKEND_URL: v2 });
        assert.equal(ls.code, 0, ls.stderr);
        assert.deepEqual(JSON.parse(ls.stdout).map((s: { name: string }) => s.name), [STACK]);
        const denied = script("scripts/pulumi.ts", ["stack", "ls"], { AWS_ACCESS_KEY_ID: "AKIDSOMEONEELSE" });
        assert.notEqual(denied.code, 0);
        assert.match(denied.output, /AccessDenied/);
    });
    it("the destroy guard refuses a root stack's destroy before the engine deletes anything", async () => {
        const up = script("scripts/stack.ts", ["up", "--stack", ROOT]);
        assert.equal(up.code, 0, up.output.slice(-3000));
        const key = `.pulumi/stacks/kube-pki/${ROOT}.json`;
        const before = await s3.request("GET", key);
        assert.equal(before.status, 200);
        assert.ok(JSON.parse(before.text).checkpoint.latest.resources.some((x: { protect?: boolean }) => x.protect), "the root CA is protected");
        const r = script("scripts/stack.ts", ["destroy", "--stack", ROOT, "--yes"]);
        assert.equal(r.code, 1, r.output.slice(-2000));
        assert.match(r.stderr, new RegExp(`refusing to destroy stack "${ROOT}": it holds \\d+ protected resource\\(s\\)`));
        assert.match(r.stderr, new RegExp(`npm run pulumi -- state unprotect --all --stack ${ROOT}`));
        assert.equal((await s3.request("GET", key)).text, before.text, "the root's state in the bucket is unchanged");
    });

    it("npm run destroy of the (unprotected) cluster stack empties it", async () => {
        const r = script("scripts/stack.ts", ["destroy", "--stack", STACK, "--yes"]);
        assert.equal(r.code, 0, r.output.slice(-2000));
        assert.match(r.stdout, /^Destroyed \(\d+ s\): delete \d+/m);
        assert.deepEqual(JSON.parse(await checkpoint()).checkpoint.latest.resources ?? [], []);
    });
});
