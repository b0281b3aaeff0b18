/**
 * Certificate expiry report, like `kubeadm certs check-expiration` (docs/design.md#rotation-model):
 *
 *   npm run check-expiration -- [--stack dev] [--cert-dir DIR | --outputs FILE] [--json | --prometheus | --kubeadm] [--now RFC3339]
 *
 * Sources (one of):
 *   (default)        the `inventory` output of the stack, read through the Automation API from the backend
 *                    PULUMI_BACKEND_URL names (default .pulumi-state/; scripts/workspace.ts selectStack)
 *   --outputs FILE   a file written by `pulumi stack output --json` (or the bare inventory array); `-` reads stdin
 *   --cert-dir DIR   a kubeadm pki directory (e.g. /etc/kubernetes/pki); kubeconfigs are read from its parent
 * Formats: kubeadm-style table with RENEWS AT and STATUS (default), --kubeadm (kubeadm's exact columns and bytes),
 *          --json, --prometheus (text exposition format).
 * Clock: --now, else env KUBE_PKI_NOW, else the system clock.
 *
 * Exit status:
 *   0  report printed, no certificate expired (certificates due for renewal do not change the status)
 *   1  error (bad arguments, unreadable source, malformed certificate or outputs), printed as one line on stderr
 *   2  report printed, at least one certificate has expired
 */
import { Command, Option } from "commander";
import * as fs from "node:fs";
import type { InventoryEntry } from "../components/cluster-pki";
import {
    DEFAULT_RENEW_BEFORE_HOURS,
    formatJson,
    formatPrometheus,
    formatTable,
    MissingEntry,
    readCertDir,
    ReportRow,
    rowsFromInventory,
} from "../components/report";

export const EXIT_EXPIRED = 2;

interface Options {
    stack: string;
    certDir?: string;
    outputs?: string;
    json?: boolean;
    prometheus?: boolean;
    kubeadm?: boolean;
    now?: string;
    leafRenewBefore?: string;
    caRenewBefore?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseNow(value: string | undefined, source: string): Date {
    if (value === undefined || value === "") return new Date();
    const m = RFC3339.exec(value);
    const d = new Date(value);
    // Date rolls Feb 30 over to Mar 2: check the calendar date and clock fields as written.
    const fieldsOk =
        !!m &&
        (([y, mo, day, h, mi, s]) =>
            new Date(Date.UTC(y, mo - 1, day)).getUTCDate() === day && mo >= 1 && mo <= 12 && h < 24 && mi < 60 && s < 60)(
            value.match(/\d+/g)!.slice(0, 6).map(Number),
        );
    if (!fieldsOk || Number.isNaN(d.getTime())) {
        throw new Error(`${source}: not an RFC 3339 time: ${JSON.stringify(value)} (e.g. 2027-01-01T00:00:00Z)`);
    }
    return d;
}

/** `<n>h` or `<n>d`, like the caRenewBefore / leafRenewBefore stack config keys. */
export function parseHours(value: string | undefined, flag: string, fallback: number): number {
    if (value === undefined) return fallback;
    const m = /^(\d+)([hd])$/.exec(value.trim());
    if (!m) throw new Error(`${flag}: expected <n>h or <n>d, got ${JSON.stringify(value)}`);
    return Number(m[1]) * (m[2] === "d" ? 24 : 1);
}

/** The inventory from `pulumi stack output --json` (an object with `inventory`) or a bare inventory array. */
export function inventoryFromOutputs(text: string, source: string): InventoryEntry[] {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (err) {
        throw new Error(`${source}: not JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(doc)) return doc as InventoryEntry[];
    const inventory = (doc as Record<string, unknown> | null)?.inventory;
    if (inventory === undefined) throw new Error(`${source}: no "inventory" output (is this \`pulumi stack output --json\` of a kube-pki stack?)`);
    if (inventory === "[secret]") throw new Error(`${source}: "inventory" is masked as [secret] (use --show-secrets)`);
    if (!Array.isArray(inventory)) throw new Error(`${source}: "inventory" is not an array`);
    return inventory as InventoryEntry[];
}

async function inventoryFromStack(stackName: string): Promise<InventoryEntry[]> {
    // Loaded lazily: the Automation API is only needed for this source. Any backend (PULUMI_BACKEND_URL).
    const { selectStack } = await import("./workspace");
    const stack = await selectStack(stackName);
    const outputs = await stack.outputs();
    const inventory = outputs.inventory?.value;
    if (inventory === undefined) {
        throw new Error(`stack "${stackName}" has no "inventory" output (run \`npm run up -- --stack ${stackName}\` first)`);
    }
    if (!Array.isArray(inventory)) throw new Error(`stack "${stackName}": "inventory" output is not an array`);
    return inventory as InventoryEntry[];
}

async function run(opts: Options): Promise<number> {
    const now = opts.now !== undefined ? parseNow(opts.now, "--now") : parseNow(process.env.KUBE_PKI_NOW, "KUBE_PKI_NOW");
    let rows: ReportRow[];
    let missing: MissingEntry[] = [];
    if (opts.certDir !== undefined) {
        const renewBefore = {
            leaf: parseHours(opts.leafRenewBefore, "--leaf-renew-before", DEFAULT_RENEW_BEFORE_HOURS.leaf),
            ca: parseHours(opts.caRenewBefore, "--ca-renew-before", DEFAULT_RENEW_BEFORE_HOURS.ca),
        };
        ({ rows, missing } = readCertDir(opts.certDir, now, renewBefore));
    } else {
        if (opts.leafRenewBefore !== undefined || opts.caRenewBefore !== undefined) {
            throw new Error("--leaf-renew-before / --ca-renew-before apply to --cert-dir only (the inventory carries each renewBefore)");
        }
        let inventory: InventoryEntry[];
        if (opts.outputs !== undefined) {
            const source = opts.outputs === "-" ? "stdin" : opts.outputs;
            let text: string;
            try {
                text = fs.readFileSync(opts.outputs === "-" ? 0 : opts.outputs, "utf8");
            } catch (err) {
                throw new Error(`${source}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
            }
            inventory = inventoryFromOutputs(text, source);
        } else {
            inventory = await inventoryFromStack(opts.stack);
        }
        rows = rowsFromInventory(inventory, now);
    }

    if (opts.json) process.stdout.write(formatJson(rows));
    else if (opts.prometheus) process.stdout.write(formatPrometheus(rows, now));
    else process.stdout.write(formatTable(rows, now, { missing, kubeadm: opts.kubeadm }));
    return rows.some((r) => now.getTime() > r.notAfter.getTime()) ? EXIT_EXPIRED : 0;
}

const program = new Command("check-expiration")
    .description("Certificate expiry report like `kubeadm certs check-expiration`, from the stack outputs or a kubeadm cert dir")
    .option("-s, --stack <name>", "stack whose inventory output to read", process.env.KUBE_PKI_STACK ?? "dev")
    .addOption(new Option("--cert-dir <dir>", "read a kubeadm pki directory instead (kubeconfigs from its parent)").conflicts("outputs"))
    .option("--outputs <file>", "read `pulumi stack output --json` from a file (`-` for stdin) instead of the stack")
    .addOption(new Option("--json", "print JSON").conflicts("prometheus"))
    .addOption(new Option("--prometheus", "print Prometheus text exposition format").conflicts("kubeadm"))
    .addOption(new Option("--kubeadm", "table with kubeadm's columns only, byte for byte like kubeadm v1.30+").conflicts("json"))
    .option("--now <time>", "report time, RFC 3339 (default: env KUBE_PKI_NOW, else now)")
    .option("--leaf-renew-before <duration>", "with --cert-dir: renewal window of leaves, <n>h or <n>d (default 720h)")
    .option("--ca-renew-before <duration>", "with --cert-dir: renewal window of CAs, <n>h or <n>d (default 8760h)")
    .showHelpAfterError(false)
    .configureOutput({
        // commander's own errors (unknown option, conflicts) as one line, exit 1
        outputError: (str, write) => write(str.trim().split("\n")[0] + "\n"),
    })
    .exitOverride((err) => {
        if (err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exit(0);
        process.exit(1);
    })
    .action(async (opts: Options) => {
        process.exitCode = await run(opts);
    });

/** One line for any error; Automation API CommandErrors carry the CLI's whole transcript ("code: 255\n stdout: ..."). */
export function oneLine(err: unknown): string {
    const text = String((err as Error)?.message ?? err);
    if (text.startsWith("code: ")) {
        const stderr = /\n stderr: ([\s\S]*?)\n err\?:/.exec(text)?.[1] ?? "";
        const line = stderr.split("\n").map((l) => l.trim()).find((l) => /^error:/i.test(l)) ?? stderr.split("\n").map((l) => l.trim()).find(Boolean);
        if (line) return `pulumi: ${line.replace(/^error:\s*/i, "")}`;
    }
    return text.split("\n").map((l) => l.trim()).find(Boolean) ?? "unknown error";
}

if (require.main === module) {
    program.parseAsync().catch((err: unknown) => {
        console.error(`check-expiration: ${oneLine(err)}`);
        process.exit(1);
    });
}
