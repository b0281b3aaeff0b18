/** Real processes for the process/recovery specs: sleepers, a reaped child's identity, PID namespaces. */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { identityOf, ProcessIdentity } from "../../components/process";

export function startSleeper(args: string[] = [], env: NodeJS.ProcessEnv = process.env, cmd = "sleep"): ChildProcess {
    return spawn(cmd, [...args, ...(cmd === "sleep" ? ["300"] : [])], { env, stdio: "ignore" });
}

export async function stopped(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await done;
}

/** A process that ran and is gone (reaped), with the identity it had. */
export async function deadIdentity(): Promise<ProcessIdentity> {
    const child = startSleeper();
    await new Promise((r) => child.once("spawn", r));
    const id = identityOf(child.pid!);
    assert.ok(id, "a fresh child has an identity");
    await stopped(child);
    return id!;
}

export const canUnshare = process.platform === "linux" && spawnSync("unshare", ["--pid", "--fork", "--kill-child", "true"]).status === 0;

