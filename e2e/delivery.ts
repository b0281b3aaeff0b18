/**
 * Step `delivery`: the RemoteNodeFiles sink against real OpenSSH servers (e2e/sshd.ts), through `pulumi up`.
 * Machine A (127.0.0.2) holds cp-1, reached as root with the host key pinned as a public key line; machine B
 * (127.0.0.3) holds worker-1 on a small tmpfs, reached as a non-root user with passwordless sudo, its host key
 * pinned by SHA256 fingerprint. The same stack also writes the local tree (nodeFilesRoot) to compare with.
 *
 *  (a) up: both trees on the machines equal the local sink's byte for byte, modes and owners (root);
 *  (b) a one-node rotation (rotate node:cp-1) changes only cp-1's files; a second preview changes nothing;
 *  (c) drift on a machine (content, chmod, delete) is named by preview --diff and repaired by up; owner/group of
 *      worker-1's files (remoteNodes.worker-1.owner/group, chown'ed through sudo), an unknown owner refused;
 *  (d) faults, each refused naming the node, nothing half-written, and the next up converges: the host key
 *      swapped, sshd stopped (unreachable), the key not authorized, the remote root chmod'ed (writes without
 *      sudo), the tmpfs full, the connection cut mid-write (sshd and its sessions killed);
 *  (e) kubeadm reads the delivered cp-1 tree (certs check-expiration);
 *  (f) destroy removes exactly what the sink wrote on both machines; a foreign file survives.
 * The step's sudo user (kpki-deliver) is removed at its end, also after a failure or an abort (checked).
 */
import { setMaxListeners } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { checkExpiration } from "./kubeadm";
import { freePort, run, runOk, sleep } from "./procs";
import { createStack, exportEncrypted, pulumiOp, workspace } from "./pulumi";
import { ensureSudoUser, fingerprintOfFile, keygen, Machine, prepareMachine, removeSudoUser, startSshd, stopSshd, SUDO_USER, sudoUserExists } from "./sshd";
import { kubeadmParams } from "./steps";
import type { Ctx } from "./steps";
import { diffFingerprints, fingerprint } from "./tree";

const STACK = "e2e-delivery";
const PAUSE_HOOK = path.join(__dirname, "hooks", "pause-after-send.js");

/** Owner uid of every file under `dir` that is not root's. */
function notRootOwned(dir: string): string[] {
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((rel) => fs.lstatSync(path.join(dir, rel)).uid !== 0);
}

function tempsUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((rel) => /\.kube-pki-tmp-|\.kube-pki-journal$/.test(rel));
}

/** The whole message of a failed operation (the engine's log holds the provider's error). */
async function failureOf(op: () => Promise<unknown>): Promise<string> {
    try {
        await op();
        return "";
    } catch (e) {
        let message = (e as Error).message;
        const log = /\(log: (\S+)\)/.exec(message)?.[1];
        if (log && fs.existsSync(log)) message = fs.readFileSync(log, "utf8");
        return message || "failed without a message";
    }
}

export async function stepDelivery(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    setMaxListeners(64, signal); // one listener per Automation API operation and command
    const started = Date.now();
    const base = path.join(ctx.work, "delivery");
    fs.mkdirSync(base, { recursive: true, mode: 0o755 });
    // sshd reads a user's authorized keys as that user, and the sudo user walks to the roots: o+x on the way
    for (let d = base; d !== path.dirname(d); d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o011);
    const clientKey = path.join(base, "client_ed25519");
    await keygen(clientKey, "kube-pki-e2e-client");
    await ensureSudoUser();
    const machine = async (name: string, address: string): Promise<Machine> => ({
        name,
        address,
        port: await freePort(),
        dir: path.join(base, name),
        root: path.join(base, name, "root"),
        hostKeyFile: path.join(base, name, "host_ed25519"),
    });
    const A = await machine("machine-a", "127.0.0.2");
    const B = await machine("machine-b", "127.0.0.3");
    const machines = [A, B];
    const localRoot = path.join(base, "local");
    let tmpfsMounted = false;
    let created: Stack | undefined;
    try {
        for (const m of machines) {
            await prepareMachine(m, `${clientKey}.pub`);
            fs.mkdirSync(m.root, { mode: 0o755 });
        }
        // machine B's root: a small tmpfs (the disk-full fault fills it)
        await runOk("mount", ["-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", B.root], { log: "mount-tmpfs", timeoutMs: 30_000 });
        tmpfsMounted = true;
        for (const m of machines) await startSshd(m);
        const hostKeyA = fs.readFileSync(`${A.hostKeyFile}.pub`, "utf8").trim();
        const fingerprintB = await fingerprintOfFile(`${B.hostKeyFile}.pub`);
        const remoteNodes = (over: Record<string, object> = {}) => ({
            "cp-1": { host: A.address, port: A.port, user: "root", hostKey: hostKeyA, remoteRoot: A.root, ...(over["cp-1"] ?? {}) },
            "worker-1": { host: B.address, port: B.port, user: SUDO_USER, hostKey: fingerprintB, remoteRoot: B.root, ...(over["worker-1"] ?? {}) },
        });
        const ws = await workspace({ workDir: ctx.projectDir, backendUrl: String(ctx.ws.envVars.PULUMI_BACKEND_URL), pulumiHome: String(ctx.env.PULUMI_HOME), env: ctx.env });
        ws.envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
        const config = {
            clusterName: STACK,
            controlPlaneEndpoint: "127.0.0.1:6443",
            controlPlanes: [{ name: "cp-1", advertiseAddress: "127.0.0.1" }],
            workers: [{ name: "worker-1", addresses: ["127.0.0.21"] }],
            keyAlgorithm: "ECDSA-P256",
            caKeyAlgorithm: "ECDSA-P256",
            nodeFilesRoot: localRoot,
            remoteNodes: remoteNodes(),
        };
        const stack = await createStack(ws, STACK, config);
        created = stack;
        ctx.stacks.push(stack);
        await stack.setConfig("kube-pki:remoteSshKey", { value: fs.readFileSync(clientKey, "utf8"), secret: true });
        const setRemote = (over: Record<string, object> = {}) => stack.setConfig("kube-pki:remoteNodes", { value: JSON.stringify(remoteNodes(over)) });
        const up = (label: string) => pulumiOp(`${STACK}-${label}`, signal, (o) => stack.up(o));
        const treeA = path.join(A.root, "cp-1");
        const treeB = path.join(B.root, "worker-1");

        // --- (a) first up: the machines' trees equal the local sink's
        const t0 = Date.now();
        const first = await up("up");
        s.info(`first up (2 nodes over SSH + the local tree): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        s.check("delivery: up succeeds", first.summary.result === "succeeded", first.summary.result);
        for (const [node, tree] of [["cp-1", treeA], ["worker-1", treeB]] as const) {
            s.equal(`delivery: ${node}'s tree on its machine equals the local sink's (sha256 + mode of every file)`, diffFingerprints(fingerprint(path.join(localRoot, node)), fingerprint(tree)), []);
            s.equal(`delivery: ${node}'s files are root's on the machine${node === "worker-1" ? ` (written by ${SUDO_USER} through sudo)` : ""}`, notRootOwned(tree), []);
            s.equal(`delivery: no temp file or journal left on ${node}'s machine`, tempsUnder(tree), []);
        }
        const keyMode = (fs.statSync(path.join(treeA, "etc/kubernetes/pki/ca.key")).mode & 0o777).toString(8);
        s.check(`delivery: cp-1's ca.key is 0600 on the machine (${keyMode})`, keyMode === "600");
        const state = JSON.stringify(await exportEncrypted(ws, STACK));
        const middle = (file: string, i = 1) => fs.readFileSync(file, "utf8").split("\n")[i]; // a line of key material
        s.check(
            "secrets: the state holds neither the SSH private key nor a delivered key in plaintext",
            !state.includes(middle(clientKey, 2)) && !state.includes(middle(path.join(treeA, "etc/kubernetes/pki/ca.key"))),
        );
        const quiet = await pulumiOp(`${STACK}-preview`, signal, (o) => stack.preview(o));
        s.check("delivery: a second preview changes nothing", (quiet.changeSummary.update ?? 0) === 0 && (quiet.changeSummary.create ?? 0) === 0, JSON.stringify(quiet.changeSummary));

        // --- (b) one node rotates: only its files change
        const beforeA = fingerprint(treeA);
        const beforeB = fingerprint(treeB);
        await stack.setConfig("kube-pki:rotate", { value: JSON.stringify({ "node:cp-1": 1 }) });
        await up("rotate-cp-1");
        const changedA = diffFingerprints(beforeA, fingerprint(treeA));
        s.check(`rotation of node:cp-1: cp-1's files change on machine A (${changedA.length} files)`, changedA.length > 0 && changedA.every((d) => d.startsWith("changed ")), changedA.join(", "));
        s.equal("rotation of node:cp-1: worker-1's tree on machine B is untouched", diffFingerprints(beforeB, fingerprint(treeB)), []);
        s.equal("rotation: machine A's tree still equals the local sink's", diffFingerprints(fingerprint(path.join(localRoot, "cp-1")), fingerprint(treeA)), []);

        // --- (c) drift on the machine, named by preview --diff, repaired by up
        fs.appendFileSync(path.join(treeA, "etc/kubernetes/admin.conf"), "# edited on the machine\n");
        fs.chmodSync(path.join(treeA, "etc/kubernetes/pki/ca.crt"), 0o666);
        fs.rmSync(path.join(treeB, "etc/kubernetes/kubelet.conf"));
        const drift = await pulumiOp(`${STACK}-preview-drift`, signal, (o) => stack.preview({ ...o, diff: true }));
        for (const line of ["etc/kubernetes/admin.conf: content changed on the machine", "etc/kubernetes/pki/ca.crt: mode 0666 on the machine, written 0644", "etc/kubernetes/kubelet.conf: removed on the machine"]) {
            s.check(`drift: preview --diff names "${line}"`, drift.stdout.includes(line), drift.stdout.slice(-2500));
        }
        await up("repair-drift");
        s.equal("drift: up repairs machine A", diffFingerprints(fingerprint(path.join(localRoot, "cp-1")), fingerprint(treeA)), []);
        s.equal("drift: up repairs machine B", diffFingerprints(fingerprint(path.join(localRoot, "worker-1")), fingerprint(treeB)), []);

        await owners(ctx, { setRemote, up, treeB, stack, signal });
        await faults(ctx, { stack, setRemote, up, A, B, treeA, treeB, localRoot, ws, signal });

        // --- (e) kubeadm reads the delivered tree
        // an engine-only run has no kubernetesVersion in ctx: this step asks its kubeadm
        const kubeadmV = (await runOk("kubeadm", ["version", "-o", "short"], { env: ctx.env, log: "kubeadm-version", timeoutMs: 30_000 })).stdout.trim();
        await checkExpiration(s, "delivered cp-1", treeA, { ...kubeadmParams(ctx, config), kubernetesVersion: kubeadmV }, { leafHours: 8760, caHours: 87600 }, ctx.env);

        // --- (f) destroy removes exactly what the sink wrote
        fs.writeFileSync(path.join(treeA, "etc/kubernetes/pki/foreign.crt"), "not the sink's\n");
        const destroyed = await pulumiOp(`${STACK}-destroy`, signal, (o) => stack.destroy(o));
        s.check("destroy: succeeded", destroyed.summary.result === "succeeded", destroyed.summary.result);
        const leftA = fs.readdirSync(treeA, { recursive: true }) as string[];
        s.equal("destroy: on machine A only the foreign file and its directories remain", leftA.filter((p) => fs.statSync(path.join(treeA, p)).isFile()), ["etc/kubernetes/pki/foreign.crt"]);
        s.check("destroy: worker-1's tree is gone from machine B", !fs.existsSync(treeB), fs.existsSync(treeB) ? fs.readdirSync(treeB, { recursive: true }).join(", ") : "");
        ctx.stacks.splice(ctx.stacks.indexOf(stack), 1);
        await ws.removeStack(STACK);
        s.info(`delivery step: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
        // a failure before (f): destroy while the machines still answer (teardown could not reach them)
        if (created && ctx.stacks.includes(created)) {
            const st = created;
            await pulumiOp(`${STACK}-destroy-after-failure`, signal, (o) => st.destroy(o)).then(
                async () => {
                    ctx.stacks.splice(ctx.stacks.indexOf(st), 1);
                    await st.workspace.removeStack(STACK);
                },
                () => undefined,
            );
        }
        for (const m of machines) await stopSshd(m).catch(() => undefined);
        if (tmpfsMounted) await run("umount", [B.root], { log: "umount-tmpfs", timeoutMs: 30_000 });
        await removeSudoUser();
        s.check(`delivery: the step's system user ${SUDO_USER} (and its group) is removed at the end of the step`, !(await sudoUserExists()));
    }
}

/** uid:gid of each file under `dir` that is not `want`. */
function ownedOtherwise(dir: string, want: string): string[] {
    return (fs.readdirSync(dir, { recursive: true }) as string[])
        .filter((rel) => fs.lstatSync(path.join(dir, rel)).isFile())
        .map((rel) => [rel, `${fs.lstatSync(path.join(dir, rel)).uid}:${fs.lstatSync(path.join(dir, rel)).gid}`])
        .filter(([, ids]) => ids !== want)
        .map(([rel, ids]) => `${rel} ${ids}`);
}

/**
 * (c2) owner/group: worker-1's files given to the machine's `daemon` user and group (Debian base-passwd) through the
 * sudo user's sudo, a quiet preview after; an owner the machine does not know is refused naming it, nothing changed;
 * without owner/group the files are root's again.
 */
async function owners(ctx: Ctx, o: { setRemote: (over?: Record<string, object>) => Promise<void>; up: (label: string) => Promise<unknown>; treeB: string; stack: Stack; signal: AbortSignal }) {
    const s = ctx.suite;
    const ids = async (db: string, name: string) => (await runOk("getent", [db, name], { log: "getent", timeoutMs: 10_000 })).stdout.split(":")[2];
    const daemon = `${await ids("passwd", "daemon")}:${await ids("group", "daemon")}`;
    await o.setRemote({ "worker-1": { owner: "daemon", group: "daemon" } });
    await o.up("owner-daemon");
    s.equal(`owner: worker-1's files are daemon:daemon (${daemon}) on machine B, chown'ed through ${SUDO_USER}'s sudo`, ownedOtherwise(o.treeB, daemon), []);
    const quiet = await pulumiOp(`${STACK}-preview-owner`, o.signal, (op) => o.stack.preview(op));
    s.check("owner: a second preview changes nothing", (quiet.changeSummary.update ?? 0) === 0, JSON.stringify(quiet.changeSummary));
    await o.setRemote({ "worker-1": { owner: "no-such-user-kpki", group: "daemon" } });
    const unknown = await failureOf(() => o.up("owner-unknown"));
    s.check("owner: an owner the machine does not know is refused naming worker-1 and the name", /node worker-1 .*owner no-such-user-kpki: no such user on the machine/s.test(unknown), unknown.slice(-2000));
    s.equal("owner: after the refusal worker-1's files are still daemon's", ownedOtherwise(o.treeB, daemon), []);
    await o.setRemote();
    await o.up("owner-default");
    s.equal("owner: without owner/group worker-1's files are root's again", ownedOtherwise(o.treeB, "0:0"), []);
}

interface FaultCtx {
    stack: Stack;
    setRemote: (over?: Record<string, object>) => Promise<void>;
    up: (label: string) => Promise<unknown>;
    A: Machine;
    B: Machine;
    treeA: string;
    treeB: string;
    localRoot: string;
    ws: { envVars: Record<string, string> };
    signal: AbortSignal;
}

/** (d): every fault for real; after each, the machines' trees are whole and the next up converges. */
async function faults(ctx: Ctx, f: FaultCtx) {
    const s = ctx.suite;
    const whole = (label: string) => {
        s.equal(`${label}: cp-1's tree equals the local sink's`, diffFingerprints(fingerprint(path.join(f.localRoot, "cp-1")), fingerprint(f.treeA)), []);
        s.equal(`${label}: worker-1's tree equals the local sink's`, diffFingerprints(fingerprint(path.join(f.localRoot, "worker-1")), fingerprint(f.treeB)), []);
        s.equal(`${label}: no temp file or journal left`, [...tempsUnder(f.treeA), ...tempsUnder(f.treeB)], []);
    };
    let gen = 1;
    const rotate = (node: string) => f.stack.setConfig("kube-pki:rotate", { value: JSON.stringify({ [`node:${node}`]: ++gen }) });

    // wrong host key: machine B presents a new one
    const pinned = await fingerprintOfFile(`${f.B.hostKeyFile}.pub`);
    fs.renameSync(f.B.hostKeyFile, `${f.B.hostKeyFile}.orig`);
    fs.renameSync(`${f.B.hostKeyFile}.pub`, `${f.B.hostKeyFile}.pub.orig`);
    await keygen(f.B.hostKeyFile, "impostor");
    const presented = await fingerprintOfFile(`${f.B.hostKeyFile}.pub`);
    await stopSshd(f.B);
    await startSshd(f.B);
    const beforeB = fingerprint(f.treeB);
    await rotate("worker-1");
    const hk = await failureOf(() => f.up("wrong-host-key"));
    s.check(
        "fault host key: up is refused naming worker-1, the presented and the pinned fingerprint",
        hk.includes("node worker-1") && hk.includes(`the host key is ${presented}, but ${pinned} is pinned`),
        hk.slice(-2000),
    );
    s.equal("fault host key: nothing changed on machine B", diffFingerprints(beforeB, fingerprint(f.treeB)), []);
    fs.renameSync(`${f.B.hostKeyFile}.orig`, f.B.hostKeyFile);
    fs.renameSync(`${f.B.hostKeyFile}.pub.orig`, `${f.B.hostKeyFile}.pub`);
    await stopSshd(f.B);

    // unreachable: sshd stopped
    const t = Date.now();
    const down = await failureOf(() => f.up("unreachable"));
    s.check(`fault unreachable: up fails naming worker-1 and ECONNREFUSED (${((Date.now() - t) / 1000).toFixed(1)} s)`, /node worker-1 \(.*\): unreachable \(ECONNREFUSED\)/.test(down), down.slice(-2000));
    await startSshd(f.B);

    // authentication refused: the key is no longer authorized for the sudo user
    const auth = path.join(f.B.dir, `authorized_keys.${SUDO_USER}`);
    const authKeys = fs.readFileSync(auth);
    fs.writeFileSync(auth, "");
    const refused = await failureOf(() => f.up("auth-refused"));
    s.check("fault authentication: up fails naming worker-1, 'authentication refused'", /node worker-1 .*authentication refused/.test(refused), refused.slice(-2000));
    fs.writeFileSync(auth, authKeys);
    await f.up("after-auth");
    whole("after the connection faults, one up");

    // permission denied: writes without sudo into a root-owned remote root chmod'ed 0700
    await f.setRemote({ "worker-1": { sudo: false } });
    fs.chmodSync(f.B.root, 0o700);
    const denied = await failureOf(() => f.up("permission-denied"));
    s.check("fault permission: up fails naming worker-1 and 'Permission denied'", /node worker-1.*Permission denied/s.test(denied), denied.slice(-2000));
    fs.chmodSync(f.B.root, 0o755);
    await f.setRemote();
    await f.up("after-permission");
    whole("after the permission fault, one up");

    // disk full: machine B's tmpfs filled up, then a rotation of worker-1
    const filler = path.join(f.B.root, "filler");
    await run("dd", ["if=/dev/zero", `of=${filler}`, "bs=4k"], { log: "dd-fill", timeoutMs: 60_000 });
    // one page left: the journal fits, the staged kubelet.conf does not (the write fails mid-way)
    await runOk("truncate", ["-s", "-4K", filler], { log: "truncate-filler", timeoutMs: 30_000 });
    const fullBefore = fingerprint(f.treeB);
    await rotate("worker-1");
    const full = await failureOf(() => f.up("disk-full"));
    s.check("fault disk full: up fails naming worker-1 and 'No space left on device'", /node worker-1.*No space left on device/s.test(full), full.slice(-2000));
    s.equal("fault disk full: worker-1's files are the old ones, complete", diffFingerprints(fullBefore, fingerprint(f.treeB)), []);
    s.equal("fault disk full: no temp file left", tempsUnder(f.treeB), []);
    fs.rmSync(filler);
    await f.up("after-disk-full");
    whole("after the disk-full fault, one up");

    // the connection cut mid-write: the provider pauses after sending cp-1's first file; sshd and its sessions are killed
    await rotate("cp-1");
    const cutBefore = fingerprint(f.treeA);
    const nodeOptions = f.ws.envVars.NODE_OPTIONS;
    f.ws.envVars.NODE_OPTIONS = `${nodeOptions ?? ""} --require ${PAUSE_HOOK}`.trim();
    f.ws.envVars.KUBE_PKI_TEST_PAUSE_AFTER_SEND = "5000";
    f.ws.envVars.KUBE_PKI_TEST_PAUSE_NODE = "cp-1";
    let outcome: string | undefined;
    const op = failureOf(() => f.up("cut")).then((m) => (outcome = m));
    for (let i = 0; i < 1200 && outcome === undefined && !tempsUnder(f.treeA).some((p) => p.includes(".kube-pki-tmp-")); i++) await sleep(100);
    const staged = tempsUnder(f.treeA);
    await stopSshd(f.A, true);
    const cut = await op;
    delete f.ws.envVars.KUBE_PKI_TEST_PAUSE_AFTER_SEND;
    delete f.ws.envVars.KUBE_PKI_TEST_PAUSE_NODE;
    if (nodeOptions === undefined) delete f.ws.envVars.NODE_OPTIONS;
    else f.ws.envVars.NODE_OPTIONS = nodeOptions;
    s.check(`fault cut: the write was caught with a staged temp file on machine A (${staged.join(", ")})`, staged.some((p) => p.includes(".kube-pki-tmp-")));
    s.check("fault cut: up fails naming cp-1", /node cp-1 .*(connection was cut|unreachable|ECONNRESET)/s.test(cut), cut.slice(-2000));
    const cutDiff = diffFingerprints(cutBefore, fingerprint(f.treeA));
    s.equal("fault cut: no file of cp-1 was replaced (old and complete; only the killed write's journal and temp files were added)", cutDiff.filter((d) => !/^added .*(\.kube-pki-tmp-|\.kube-pki-journal$)/.test(d)), []);
    await startSshd(f.A);
    await f.up("after-cut");
    whole("after the cut, one up (the killed write's temp files removed)");
}
