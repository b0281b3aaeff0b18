/**
 * The suite's bookkeeping: named steps with time limits and timings, counted checks, and the final summary.
 * A step that throws or runs out of time fails with a message naming it; the tails of the logs written during
 * the step are printed with it.
 */
import { stepLogs, tail } from "./procs";

export interface CheckResult {
    step: string;
    name: string;
    ok: boolean;
    detail?: string;
}

export interface StepResult {
    name: string;
    title: string;
    status: "passed" | "failed" | "skipped";
    ms: number;
    note?: string;
}

export class StepTimeout extends Error {}

const fmtSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class Suite {
    readonly checks: CheckResult[] = [];
    readonly steps: StepResult[] = [];
    private current = "setup";
    private readonly started = Date.now();

    /** Records one check; returns `ok` so callers can branch on it. */
    check(name: string, ok: boolean, detail?: string): boolean {
        this.checks.push({ step: this.current, name, ok, detail });
        const mark = ok ? "ok  " : "FAIL";
        console.log(`  ${mark} ${name}${!ok && detail ? `\n         ${detail.split("\n").join("\n         ")}` : ""}`);
        return ok;
    }

    /** Expects a === b (JSON-compared); the detail shows both. */
    equal(name: string, actual: unknown, expected: unknown): boolean {
        const a = JSON.stringify(actual);
        const e = JSON.stringify(expected);
        return this.check(name, a === e, `expected ${e}\n got      ${a}`);
    }

    info(text: string) {
        console.log(`       ${text.split("\n").join("\n       ")}`);
    }

    get failed(): number {
        return this.checks.filter((c) => !c.ok).length;
    }

    stepPassed(name: string): boolean {
        return this.steps.some((s) => s.name === name && s.status === "passed");
    }

    skip(name: string, title: string, why: string) {
        this.steps.push({ name, title, status: "skipped", ms: 0, note: why });
        console.log(`\n=== ${title} — skipped (${why})`);
    }

    /**
     * Runs one step under a time limit. `fn` gets an AbortSignal that fires on timeout so that it can kill its
     * processes / abort its Pulumi operation. A thrown error or a timeout counts as one failed check.
     */
    async step(name: string, title: string, timeoutMs: number, fn: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
        this.current = name;
        stepLogs.clear();
        const failedBefore = this.failed;
        console.log(`\n=== ${title} (limit ${Math.round(timeoutMs / 1000)} s)`);
        const start = Date.now();
        const ac = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
                ac.abort();
                reject(new StepTimeout(`step "${name}" (${title}) timed out after ${Math.round(timeoutMs / 1000)} s`));
            }, timeoutMs);
        });
        try {
            await Promise.race([fn(ac.signal), limit]);
        } catch (e) {
            const err = e as Error;
            this.check(`step "${name}" completed`, false, err instanceof StepTimeout ? err.message : `${err.message ?? err}`);
        } finally {
            clearTimeout(timer);
        }
        const ms = Date.now() - start;
        const ok = this.failed === failedBefore;
        this.steps.push({ name, title, status: ok ? "passed" : "failed", ms });
        if (!ok) {
            // tails of the logs of failed commands and of daemons; the paths of the others
            const quiet: string[] = [];
            for (const log of stepLogs) {
                const t = tail(log, 25);
                if (/\[exit 0\]\s*$/.test(t)) quiet.push(log);
                else if (t.trim()) console.log(`  --- ${log} (last lines) ---\n${t.replace(/^/gm, "  | ")}`);
            }
            if (quiet.length) console.log(`  logs of the commands that succeeded in this step:\n    ${quiet.join("\n    ")}`);
        }
        console.log(`--- ${name}: ${ok ? "passed" : "FAILED"} in ${fmtSeconds(ms)}`);
        return ok;
    }

    /** Timings per step, failed checks, and the `E2E: N passed, M failed` line. */
    summary(): string {
        const lines = ["", "=== Summary", "step                 status    time"];
        for (const s of this.steps) {
            lines.push(`${s.name.padEnd(20)} ${s.status.padEnd(9)} ${s.status === "skipped" ? `(${s.note})` : fmtSeconds(s.ms)}`);
        }
        lines.push(`${"total".padEnd(20)} ${"".padEnd(9)} ${fmtSeconds(Date.now() - this.started)}`);
        const failed = this.checks.filter((c) => !c.ok);
        if (failed.length) {
            lines.push("", "Failed checks:");
            for (const c of failed) lines.push(`  [${c.step}] ${c.name}${c.detail ? `: ${c.detail.split("\n")[0]}` : ""}`);
        }
        lines.push("", `E2E: ${this.checks.length - failed.length} passed, ${failed.length} failed`);
        return lines.join("\n");
    }
}
