/**
 * NodeFiles: the orphan watchdog of the dynamic-provider process (it holds decrypted node contents and must not
 * outlive a killed engine).
 */
import * as fs from "node:fs";

/**
 * Exits this process when the process that started it is gone (the engine was killed: this process would be
 * re-parented and keep running with decrypted node contents in memory). The engine may start the provider
 * through a shell script that does not `exec` node: then the shell's parent is watched too.
 */
export function startOrphanWatchdog(intervalMs = 1000): void {
    const parentOf = (pid: number): number | undefined => {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        } catch {
            return undefined;
        }
    };
    const commOf = (pid: number): string => {
        try {
            return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        } catch {
            return "";
        }
    };
    const parent = process.ppid;
    const grandparent = /^(sh|bash|dash)$/.test(commOf(parent)) ? parentOf(parent) : undefined;
    const timer = setInterval(() => {
        const orphaned = process.ppid !== parent || (grandparent !== undefined && parentOf(parent) !== grandparent);
        if (orphaned) {
            console.error(`kube-pki NodeFiles provider: the engine (pid ${grandparent ?? parent}) is gone; exiting`);
            process.exit(1);
        }
    }, intervalMs);
    timer.unref();
}
