/**
 * Time: the hour, RFC 3339 at whole seconds, and the what-if clock rule (docs/rotation.md "The what-if clock").
 * Imports nothing of ours: every other module may use it.
 */

/** One hour in milliseconds. */
export const HOUR_MS = 3_600_000;

/** `hours` as milliseconds. */
export const hoursToMs = (hours: number): number => hours * HOUR_MS;

/** RFC3339 at whole seconds (X.509 times, bootstrap-token expirations): `2026-12-02T04:10:11Z`. */
export function rfc3339Seconds(ms: number): string {
    return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** A provider's time string at whole seconds (X.509 times have no fractions, the provider's validity times do). */
export function toWholeSeconds(time: string): string {
    const ms = Date.parse(time);
    return Number.isNaN(ms) ? time : rfc3339Seconds(ms);
}

/** The environment variable that sets the what-if clock of the project's program. */
export const WHAT_IF_CLOCK_ENV = "KUBE_PKI_NOW";
/** The test-only opt-in that lets `up` run with a what-if clock far from the real one (printed on every use). */
export const ALLOW_WHAT_IF_UP_ENV = "KUBE_PKI_ALLOW_WHAT_IF_UP";
/** How far from the real clock a clock may be in `up` without being a what-if clock (machines' clocks drift). */
export const WHAT_IF_TOLERANCE_MS = 5 * 60_000;

export interface WhatIfClockInput {
    /** The clock this run uses, ms (the `now` setting, or the real clock). */
    nowMs: number;
    /** The real clock, ms. */
    realMs: number;
    /** True in a preview (and in the preview half of `up`); false when the engine applies changes. */
    dryRun: boolean;
    /** The environment (ALLOW_WHAT_IF_UP_ENV). */
    env: Record<string, string | undefined>;
}

export interface WhatIfClockVerdict {
    /** A what-if clock: further from the real clock than WHAT_IF_TOLERANCE_MS. */
    whatIf: boolean;
    /** Refuse the run with this (an `up` with a what-if clock and no opt-in). */
    refusal?: string;
    /** Print this on the run (every preview with a what-if clock, every `up` that used the opt-in). */
    warning?: string;
}

const isoOf = (ms: number) => new Date(ms).toISOString();

/**
 * The what-if clock rule. A clock far from the real one may change what a preview SHOWS (what would rotate on date
 * D); what `up` WRITES (bootstrap-token expirations, validity caps, every dated value) follows the real clock, so an
 * `up` with a what-if clock is refused, unless ALLOW_WHAT_IF_UP_ENV=1 (tests that move time), which is said on
 * every use.
 */
export function whatIfClock(input: WhatIfClockInput): WhatIfClockVerdict {
    const offsetMs = input.nowMs - input.realMs;
    if (Math.abs(offsetMs) <= WHAT_IF_TOLERANCE_MS) return { whatIf: false };
    const hours = Math.round(offsetMs / HOUR_MS);
    const what = `the clock ${isoOf(input.nowMs)} (${WHAT_IF_CLOCK_ENV} / kube-pki:now / now) is ${Math.abs(hours)}h ${offsetMs > 0 ? "ahead of" : "behind"} the real clock ${isoOf(input.realMs)}`;
    if (input.dryRun) {
        return { whatIf: true, warning: `what-if clock: ${what}; this preview shows what would happen then. \`up\` with it is refused (what up writes follows the real clock)` };
    }
    if (/^(1|true|yes)$/i.test(input.env[ALLOW_WHAT_IF_UP_ENV] ?? "")) {
        return {
            whatIf: true,
            warning: `${ALLOW_WHAT_IF_UP_ENV}=1 (test only): ${what}, and this up WRITES dates from it (bootstrap-token expirations, validity caps)`,
        };
    }
    return {
        whatIf: true,
        refusal:
            `${what}: a what-if clock may change what a preview shows, not what \`up\` writes (bootstrap-token expirations, ` +
            `leaf validity caps would be dated from it). Unset ${WHAT_IF_CLOCK_ENV} and remove kube-pki:now (\`pulumi config rm kube-pki:now\`) ` +
            `for up, or fix the system clock`,
    };
}
