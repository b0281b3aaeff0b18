/**
 * A container runtime for the real kubelet (step "pools"): Debian's containerd (package `containerd`, with runc) as
 * a plain background process with its own config, root, state and sockets in the step's work dir, and the cleanup
 * of what the kubelet leaves on the host (the bind mount of its --root-dir, its kubepods cgroups).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Daemon, run, tail, waitFor, which } from "./procs";

/** containerd on PATH, else an error naming the Debian package (.ci/run installs it). */
export function requireContainerd(env: NodeJS.ProcessEnv): string {
    try {
        return which("containerd", env);
    } catch {
        throw new Error(
            "containerd not found on PATH: the real kubelet (step pools) needs a container runtime; install the Debian package " +
                "`containerd` (apt-get install -y --no-install-recommends containerd — it brings runc; .ci/run installs it)",
        );
    }
}

/**
 * Starts containerd with a config in `dir` (CRI plugin: runc v2, cgroupfs, overlayfs) and waits until it booted and
 * its gRPC socket exists. Returns the daemon and the kubelet's containerRuntimeEndpoint.
 */
export async function startContainerd(dir: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ daemon: Daemon; endpoint: string }> {
    const bin = requireContainerd(env);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sock = path.join(dir, "containerd.sock");
    if (`${sock}.ttrpc`.length > 100) throw new Error(`containerd socket path too long for a unix socket (${sock}.ttrpc)`);
    const config = path.join(dir, "config.toml");
    fs.writeFileSync(
        config,
        [
            "version = 2",
            `root = ${JSON.stringify(path.join(dir, "root"))}`,
            `state = ${JSON.stringify(path.join(dir, "state"))}`,
            "[grpc]",
            `  address = ${JSON.stringify(sock)}`,
            "[ttrpc]",
            `  address = ${JSON.stringify(`${sock}.ttrpc`)}`,
            '[plugins."io.containerd.grpc.v1.cri"]',
            '  sandbox_image = "registry.k8s.io/pause:3.10"',
            '  [plugins."io.containerd.grpc.v1.cri".containerd]',
            '    snapshotter = "overlayfs"',
            '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
            '      runtime_type = "io.containerd.runc.v2"',
            '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
            "        SystemdCgroup = false",
            "",
        ].join("\n"),
    );
    const daemon = new Daemon("containerd-pool", bin, ["--config", config], env);
    await waitFor(
        "containerd booted",
        async () => (fs.existsSync(sock) && /containerd successfully booted/.test(tail(daemon.log, 200))) || "not yet",
        { timeoutMs: 60_000, intervalMs: 200, daemon, signal },
    );
    return { daemon, endpoint: `unix://${sock}` };
}

const QOS_CGROUPS = ["kubepods/besteffort", "kubepods/burstable", "kubepods"];

/** The kubepods cgroups that exist now under each /sys/fs/cgroup/<controller> (cgroup v1 hybrid) or the v2 root. */
export function kubepodsCgroups(): string[] {
    const roots = ["/sys/fs/cgroup", ...(fs.existsSync("/sys/fs/cgroup") ? fs.readdirSync("/sys/fs/cgroup").map((c) => path.join("/sys/fs/cgroup", c)) : [])];
    return roots.flatMap((r) => QOS_CGROUPS.map((q) => path.join(r, q))).filter((d) => fs.existsSync(d));
}

/**
 * After the kubelet and containerd stopped: unmounts every mount under `dir` (the kubelet bind-mounts its --root-dir
 * onto itself), deepest first, and removes the kubepods cgroups that were not there before (`before`, from
 * kubepodsCgroups()). Returns what it removed and what is still left (mounts, cgroups; empty when the host is clean).
 */
export async function cleanupKubeletHost(dir: string, before: string[], env: NodeJS.ProcessEnv): Promise<{ removed: string[]; left: string[] }> {
    const removed: string[] = [];
    const mountsUnder = () =>
        fs.readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
            .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)));
    for (const m of mountsUnder().sort((a, b) => b.length - a.length)) {
        if ((await run("umount", [m], { env, log: "umount" })).code === 0) removed.push(`mount ${m}`);
    }
    const left = mountsUnder().map((m) => `mount ${m}`);
    for (const cg of kubepodsCgroups().filter((c) => !before.includes(c))) {
        try {
            if (!fs.existsSync(cg)) continue; // cpu and cpuacct may be one hierarchy
            fs.rmdirSync(cg);
            removed.push(`cgroup ${cg}`);
        } catch (e) {
            left.push(`cgroup ${cg} (${(e as Error).message})`);
        }
    }
    return { removed, left };
}
