/** The report's three renderers: kubeadm's table (byte for byte with `kubeadm: true`), stable JSON, Prometheus text. */
import { residual } from "./durations";
import { MissingEntry, ReportRow, ReportStatus, sortRows, statusAt } from "./rows";


const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad2 = (n: number) => String(n).padStart(2, "0");

/** Go `t.UTC().Format("Jan 02, 2006 15:04 MST")`, kubeadm's EXPIRES column. */
export function formatDate(d: Date): string {
    return `${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())}, ${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())} UTC`;
}

const STATUS_TEXT: Record<ReportStatus, string> = { ok: "OK", "renew-due": "RENEW DUE", expired: "EXPIRED" };

/**
 * Go text/tabwriter as kubeadm configures it (minwidth 10, padding 3, spaces, no flags): within a block of
 * consecutive lines, every tab-terminated cell of a column is padded to max(10, widest + 3); the last cell of a
 * line is not aligned. An empty line ends the block.
 */
export function tabwrite(lines: string[][], opts: { trimEnd?: boolean } = {}): string {
    const out: string[] = [];
    let block: string[][] = [];
    const flush = () => {
        const widths: number[] = [];
        // A column's width is shared by consecutive lines that have a terminated cell in it (all lines here are
        // rectangular per block, so one width per column is exact).
        for (const cells of block) {
            for (let c = 0; c < cells.length - 1; c++) {
                widths[c] = Math.max(widths[c] ?? 10, [...cells[c]].length + 3);
            }
        }
        for (const cells of block) {
            const line = cells.map((cell, c) => (c < cells.length - 1 ? cell.padEnd(widths[c] + cell.length - [...cell].length) : cell)).join("");
            out.push(opts.trimEnd === false ? line : line.trimEnd());
        }
        block = [];
    };
    for (const cells of lines) {
        if (cells.length === 0) {
            flush();
            out.push("");
        } else {
            block.push(cells);
        }
    }
    flush();
    return out.join("\n") + "\n";
}

/**
 * kubeadm's two tables, plus RENEWS AT and STATUS after kubeadm's columns (so kubeadm's first five columns line
 * up with `kubeadm certs check-expiration`). RESIDUAL TIME and STATUS are computed at `now`.
 * `missing` entries print as kubeadm's `!MISSING! <name>` rows. `kubeadm: true` prints kubeadm's columns only,
 * byte for byte as kubeadm v1.30+ does (trailing `%-8v` padding of the last column included).
 */
export function formatTable(rows: ReportRow[], now: Date, opts: { missing?: MissingEntry[]; kubeadm?: boolean } = {}): string {
    const kubeadm = !!opts.kubeadm;
    // kubeadm: fmt "%-8v" of the last column; ours: a plain column.
    const yesNo = (b?: boolean) => (kubeadm ? (b ? "yes" : "no").padEnd(8) : b ? "yes" : "no");
    const extra = (r?: ReportRow) => (kubeadm ? [] : r ? [renews(r), status(r)] : ["", ""]);
    const renews = (r: ReportRow) => (r.renewAt ? formatDate(r.renewAt) : "");
    const status = (r: ReportRow) => STATUS_TEXT[statusAt(now, r.notAfter, r.renewAt)];
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    const missing = opts.missing ?? [];
    const sorted = sortRows(rows);

    const extraHeader = kubeadm ? [] : ["RENEWS AT", "STATUS"];
    const lines: string[][] = [["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED", ...extraHeader]];
    const leaves = [
        ...sorted.filter((r) => !r.isCa).map((r) => ({ name: r.id ?? r.certificate, row: r as ReportRow | undefined })),
        ...missing.filter((m) => !m.isCa).map((m) => ({ name: m.certificate, row: undefined })),
    ];
    // Stable sort: rows of one id stay in node order; missing entries slot in by name like kubeadm's.
    for (const { name, row: r } of leaves.sort(byName)) {
        lines.push(
            r
                ? [r.certificate, formatDate(r.notAfter), residual(now, r.notAfter), r.ca, yesNo(r.externallyManaged), ...extra(r)]
                : [`!MISSING! ${name}`, "", "", "", "", ...extra()],
        );
    }
    lines.push([]);
    lines.push(["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED", ...extraHeader]);
    const cas = [
        ...sorted.filter((r) => r.isCa).map((r) => ({ name: r.id ?? r.certificate, row: r as ReportRow | undefined })),
        ...missing.filter((m) => m.isCa).map((m) => ({ name: m.certificate, row: undefined })),
    ];
    for (const { name, row: r } of cas.sort(byName)) {
        lines.push(
            r
                ? [r.certificate, formatDate(r.notAfter), residual(now, r.notAfter), yesNo(r.externallyManaged), ...extra(r)]
                : [`!MISSING! ${name}`, "", "", "", ...extra()],
        );
    }
    return tabwrite(lines, { trimEnd: !kubeadm });
}

/** Whole-second RFC 3339 (X.509 times have no fractions). */
const iso = (d: Date) => d.toISOString().replace(/\.000Z$/, "Z");

/**
 * Stable JSON: an array in report order (leaves, then CAs, by name), every object with the same keys in the same
 * order; absent values are null. Times are RFC 3339 UTC, residualSeconds an integer (negative once expired).
 */
export function formatJson(rows: ReportRow[]): string {
    const out = sortRows(rows).map((r) => ({
        certificate: r.certificate,
        id: r.id ?? r.certificate,
        node: r.node ?? null,
        user: r.user ?? null,
        generation: r.generation ?? null,
        file: r.file ?? null,
        isCa: r.isCa,
        ca: r.ca,
        externallyManaged: r.externallyManaged ?? false,
        notBefore: r.notBefore ? iso(r.notBefore) : null,
        notAfter: iso(r.notAfter),
        renewAt: r.renewAt ? iso(r.renewAt) : null,
        residual: r.residual,
        residualSeconds: r.residualSeconds,
        status: r.status,
    }));
    return JSON.stringify(out, null, 2) + "\n";
}

/** Prometheus text format label value: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
    return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

const METRICS = [
    ["kube_pki_certificate_not_after_seconds", "NotAfter of the certificate, in seconds since the Unix epoch."],
    ["kube_pki_certificate_renew_at_seconds", "When the certificate is due for renewal (NotAfter minus renewBefore), in seconds since the Unix epoch."],
    ["kube_pki_certificate_expired", "1 if the certificate has expired at report time, else 0."],
    ["kube_pki_certificate_renew_due", "1 if the certificate is inside its renewal window (or expired) at report time, else 0."],
] as const;

/**
 * Prometheus text exposition (version 0.0.4), e.g. for node-exporter's textfile collector. Labels: `certificate`
 * (kubeadm id), `node` (empty for cluster-wide certs and cert dirs), `user` (extra users only), `ca`, and
 * `generation` (inventory CAs only, so the generations of a staged CA rotation are distinct series).
 * renew_at is omitted for rows without a renewal time; expired / renew_due are computed at `now`.
 */
export function formatPrometheus(rows: ReportRow[], now: Date): string {
    const sorted = sortRows(rows);
    const labels = (r: ReportRow) => {
        const pairs: [string, string][] = [
            ["certificate", r.id ?? r.certificate],
            ["node", r.node ?? ""],
            ...(r.user ? ([["user", r.user]] as [string, string][]) : []),
            ["ca", r.ca],
            ...(r.generation !== undefined ? ([["generation", String(r.generation)]] as [string, string][]) : []),
        ];
        return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
    };
    const secs = (d: Date) => String(Math.floor(d.getTime() / 1000));
    const value: Record<(typeof METRICS)[number][0], (r: ReportRow) => string | undefined> = {
        kube_pki_certificate_not_after_seconds: (r) => secs(r.notAfter),
        kube_pki_certificate_renew_at_seconds: (r) => (r.renewAt ? secs(r.renewAt) : undefined),
        kube_pki_certificate_expired: (r) => (statusAt(now, r.notAfter, r.renewAt) === "expired" ? "1" : "0"),
        kube_pki_certificate_renew_due: (r) => (statusAt(now, r.notAfter, r.renewAt) === "ok" ? "0" : "1"),
    };
    const out: string[] = [];
    for (const [name, help] of METRICS) {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const r of sorted) {
            const v = value[name](r);
            if (v !== undefined) out.push(`${name}${labels(r)} ${v}`);
        }
    }
    return out.join("\n") + "\n";
}
