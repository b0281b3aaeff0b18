/**
 * Certificate expiry report, like `kubeadm certs check-expiration` (DESIGN §5), from the ClusterPki `inventory`
 * stack output or from a kubeadm certificate directory; rendered as a kubeadm-style table, JSON, or Prometheus text.
 *
 * Pure logic: no clock (every function takes `now`), no I/O except reading the directory passed to
 * `rowsFromCertDir`. kubeadm references are to k8s.io/kubernetes v1.34 `cmd/kubeadm/app/cmd/certs.go` and
 * `phases/certs/renewal/manager.go`, and k8s.io/apimachinery `pkg/util/duration/duration.go`.
 */
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { InventoryEntry } from "./cluster-pki";
import { renewalStatus, renewAtMs, RenewalStatus } from "./rotation";

/** The same status the preview's renewal decision uses (rotation.ts renewalStatus). */
export type ReportStatus = RenewalStatus;

export interface ReportRow {
    /** Display name: kubeadm's id (`apiserver`, `admin.conf`, `ca`...), suffixed with the node or user for per-node certs: `apiserver (cp-1)`. */
    certificate: string;
    /** kubeadm's id without the suffix (the Prometheus `certificate` label); defaults to `certificate`. */
    id?: string;
    node?: string;
    /** Extra users (inventory id `user`): the user name. */
    user?: string;
    /** CAs from the inventory: the CA generation (several are listed while a CA rotation is staged). */
    generation?: number;
    /** The file: a path in the node tree / cert dir, or the kubeconfig key. */
    file?: string;
    notAfter: Date;
    notBefore?: Date;
    /** notAfter − renewBefore. */
    renewAt?: Date;
    /** kubeadm's RESIDUAL TIME at the report's `now` (see `residual`). */
    residual: string;
    /** Whole seconds from `now` to notAfter, truncated toward zero like kubeadm's ResidualTimeSeconds; negative once expired. */
    residualSeconds: number;
    /** The issuing CA's id (`ca`, `etcd-ca`, `front-proxy-ca`); for a CA, its own id. */
    ca: string;
    /** kubeadm's EXTERNALLY MANAGED: the issuing CA's private key is not available. */
    externallyManaged?: boolean;
    isCa: boolean;
    status: ReportStatus;
}

/** A certificate kubeadm expects in a cert dir but which is absent (kubeadm prints `!MISSING! <name>`). */
export interface MissingEntry {
    certificate: string;
    isCa: boolean;
}

export interface RenewBeforeHours {
    leaf: number;
    ca: number;
}

/** The project's defaults (catalog.ts DEFAULT_LEAF_RENEW_BEFORE_HOURS / DEFAULT_CA_RENEW_BEFORE_HOURS). */
export const DEFAULT_RENEW_BEFORE_HOURS: RenewBeforeHours = { leaf: 720, ca: 8760 };

const HOUR_MS = 3_600_000;

// ------------------------------------------------------------------------------------ durations (apimachinery)

/** Go's int(x) conversion of a float: truncation toward zero. */
const goInt = (x: number) => Math.trunc(x);

/**
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration, ported rule for rule (2-3 significant figures).
 * kubeadm ≥ 1.30 prints RESIDUAL TIME with it. `ms` is a duration in milliseconds.
 */
export function humanDuration(ms: number): string {
    const seconds = goInt(ms / 1000);
    // "Allow deviation no more than 2 seconds(excluded) to tolerate machine time inconsistence."
    if (seconds < -1) return "<invalid>";
    if (seconds < 0) return "0s";
    if (seconds < 60 * 2) return `${seconds}s`;
    const minutes = goInt(ms / 60_000);
    if (minutes < 10) {
        const s = goInt(ms / 1000) % 60;
        return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
    }
    if (minutes < 60 * 3) return `${minutes}m`;
    const hours = goInt(ms / HOUR_MS);
    if (hours < 8) {
        const m = goInt(ms / 60_000) % 60;
        return m === 0 ? `${hours}h` : `${hours}h${m}m`;
    }
    if (hours < 48) return `${hours}h`;
    if (hours < 24 * 8) {
        const h = hours % 24;
        return h === 0 ? `${goInt(hours / 24)}d` : `${goInt(hours / 24)}d${h}h`;
    }
    if (hours < 24 * 365 * 2) return `${goInt(hours / 24)}d`;
    if (hours < 24 * 365 * 8) {
        const dy = goInt(hours / 24) % 365;
        const y = goInt(hours / 24 / 365);
        return dy === 0 ? `${y}y` : `${y}y${dy}d`;
    }
    return `${goInt(hours / 24 / 365)}y`;
}

/**
 * k8s.io/apimachinery/pkg/util/duration.ShortHumanDuration, ported rule for rule (one unit).
 * kubeadm ≤ 1.29 printed RESIDUAL TIME with it; kept for comparison with older kubeadm output.
 */
export function shortHumanDuration(ms: number): string {
    const seconds = goInt(ms / 1000);
    if (seconds < -1) return "<invalid>";
    if (seconds < 0) return "0s";
    if (seconds < 60) return `${seconds}s`;
    const minutes = goInt(ms / 60_000);
    if (minutes < 60) return `${minutes}m`;
    const hours = goInt(ms / HOUR_MS);
    if (hours < 24) return `${hours}h`;
    if (hours < 24 * 365) return `${goInt(hours / 24)}d`;
    return `${goInt(ms / HOUR_MS / 24 / 365)}y`;
}

/** kubeadm's ResidualTimeSeconds: int64(notAfter.Sub(now) / time.Second), truncated toward zero. */
export function residualSeconds(now: Date, notAfter: Date): number {
    return goInt((notAfter.getTime() - now.getTime()) / 1000) || 0; // no -0
}

/**
 * kubeadm's RESIDUAL TIME column (v1.30+): `duration.HumanDuration(ResidualTimeSeconds * time.Second)`,
 * e.g. "364d", "9y", "23h", "3d5h", "2y100d"; "0s" for up to 1 s past expiry, then "<invalid>".
 */
export function residual(now: Date, notAfter: Date): string {
    return humanDuration(residualSeconds(now, notAfter) * 1000);
}

/**
 * expired: now is after NotAfter (Go x509 validity); renew-due: now is at or after renewAt; else ok. This is
 * rotation.ts `renewalStatus`: a leaf is "renew-due" exactly when a preview at `now` renews it.
 */
export function statusAt(now: Date, notAfter: Date, renewAt?: Date): ReportStatus {
    return renewalStatus(now.getTime(), notAfter.getTime(), renewAt?.getTime());
}

function makeRow(
    base: Omit<ReportRow, "residual" | "residualSeconds" | "status" | "renewAt">,
    now: Date,
    renewBeforeHours: number | undefined,
): ReportRow {
    const renewAt =
        renewBeforeHours !== undefined && Number.isFinite(renewBeforeHours)
            ? new Date(renewAtMs(base.notAfter.getTime(), renewBeforeHours))
            : undefined;
    return {
        ...base,
        ...(renewAt ? { renewAt } : {}),
        residual: residual(now, base.notAfter),
        residualSeconds: residualSeconds(now, base.notAfter),
        status: statusAt(now, base.notAfter, renewAt),
    };
}

/** Leaves before CAs (kubeadm's two tables), each sorted by id like kubeadm, then by node / user. */
export function sortRows(rows: ReportRow[]): ReportRow[] {
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    return [...rows].sort(
        (a, b) =>
            Number(a.isCa) - Number(b.isCa) ||
            cmp(a.id ?? a.certificate, b.id ?? b.certificate) ||
            cmp(a.node ?? "", b.node ?? "") ||
            cmp(a.user ?? "", b.user ?? "") ||
            (a.generation ?? 0) - (b.generation ?? 0),
    );
}

// ------------------------------------------------------------------------------------ from the stack inventory

function parseTime(value: unknown, what: string): Date {
    const d = typeof value === "string" ? new Date(value) : undefined;
    if (!d || Number.isNaN(d.getTime())) throw new Error(`${what}: not a timestamp: ${JSON.stringify(value)}`);
    return d;
}

/**
 * Rows from the ClusterPki `inventory` output. renewAt = notAfter − renewBeforeHours. Entries of per-node certs
 * are named `<id> (<node>)`, extra users `user (<name>)`, and a CA with several generations in the inventory (a
 * staged rotation) `<id> (generation <n>)`. Throws on a malformed entry, naming it.
 */
export function rowsFromInventory(inventory: InventoryEntry[], now: Date): ReportRow[] {
    if (!Array.isArray(inventory)) throw new Error("inventory: expected an array of certificates");
    const caCount = new Map<string, number>();
    for (const e of inventory) if (e?.isCa) caCount.set(e.id, (caCount.get(e.id) ?? 0) + 1);
    const rows = inventory.map((e, i) => {
        const where = `inventory[${i}]`;
        if (!e || typeof e !== "object" || typeof e.id !== "string" || !e.id) throw new Error(`${where}: missing id`);
        const generation = typeof e.generation === "number" ? e.generation : undefined;
        const suffix = e.node ?? e.user ?? (e.isCa && (caCount.get(e.id) ?? 0) > 1 ? `generation ${generation ?? 0}` : undefined);
        const notAfter = parseTime(e.notAfter, `${where} (${e.id}) notAfter`);
        const notBefore = e.notBefore === undefined ? undefined : parseTime(e.notBefore, `${where} (${e.id}) notBefore`);
        return makeRow(
            {
                certificate: suffix ? `${e.id} (${suffix})` : e.id,
                id: e.id,
                ...(e.node ? { node: e.node } : {}),
                ...(e.user ? { user: e.user } : {}),
                ...(e.isCa && generation !== undefined ? { generation } : {}),
                ...(e.file ? { file: e.file } : {}),
                notAfter,
                ...(notBefore ? { notBefore } : {}),
                ca: e.issuer ?? (e.isCa ? e.id : ""),
                // The stack holds every CA key (an intermediate from a root stack included): not externally managed,
                // unless a future inventory says so.
                externallyManaged: (e as { externallyManaged?: unknown }).externallyManaged === true,
                isCa: !!e.isCa,
            },
            now,
            typeof e.renewBeforeHours === "number" ? e.renewBeforeHours : undefined,
        );
    });
    return sortRows(rows);
}

// ------------------------------------------------------------------------------------ from a kubeadm cert dir

/** kubeadm's CAs in a cert dir (renewal.Manager.CAs): name → base name relative to the pki dir. */
export const KUBEADM_CAS: { name: string; baseName: string }[] = [
    { name: "ca", baseName: "ca" },
    { name: "etcd-ca", baseName: "etcd/ca" },
    { name: "front-proxy-ca", baseName: "front-proxy-ca" },
];

/** kubeadm's certificates (renewal.Manager.Certificates): pki certs by base name, kubeconfigs in the parent dir. */
export const KUBEADM_CERTS: { name: string; ca: string; baseName?: string; kubeconfig?: string }[] = [
    { name: "admin.conf", ca: "ca", kubeconfig: "admin.conf" },
    { name: "apiserver", ca: "ca", baseName: "apiserver" },
    { name: "apiserver-etcd-client", ca: "etcd-ca", baseName: "apiserver-etcd-client" },
    { name: "apiserver-kubelet-client", ca: "ca", baseName: "apiserver-kubelet-client" },
    { name: "controller-manager.conf", ca: "ca", kubeconfig: "controller-manager.conf" },
    { name: "etcd-healthcheck-client", ca: "etcd-ca", baseName: "etcd/healthcheck-client" },
    { name: "etcd-peer", ca: "etcd-ca", baseName: "etcd/peer" },
    { name: "etcd-server", ca: "etcd-ca", baseName: "etcd/server" },
    { name: "front-proxy-client", ca: "front-proxy-ca", baseName: "front-proxy-client" },
    { name: "scheduler.conf", ca: "ca", kubeconfig: "scheduler.conf" },
    { name: "super-admin.conf", ca: "ca", kubeconfig: "super-admin.conf" },
];

/** Every certificate of a PEM file, in order (kubeadm's TryLoadCertFromDisk uses the first). */
function readCertFile(file: string): X509Certificate[] {
    let pem: string;
    try {
        pem = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
    }
    return pemCerts(pem, file);
}

/** Every certificate of a PEM bundle; throws naming `where` when there is none or one is bad. */
export function pemCerts(pem: string, where: string): X509Certificate[] {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (!blocks) throw new Error(`${where}: no PEM certificate`);
    return blocks.map((block, i) => {
        try {
            return new X509Certificate(block);
        } catch (err) {
            throw new Error(`${where}: bad certificate${blocks.length > 1 ? ` #${i + 1}` : ""}: ${(err as Error).message}`);
        }
    });
}

/** kubeconfigutil + renewal kubeConfigReadWriter.Read: current-context → its user → client-certificate-data. */
function readKubeconfigCert(file: string): X509Certificate {
    let doc: any;
    try {
        doc = parseYaml(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
    }
    const current = doc?.["current-context"];
    const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === current)?.context;
    if (!ctx) throw new Error(`${file}: invalid kubeconfig: missing context ${JSON.stringify(current ?? "")}`);
    const user = (doc?.users ?? []).find((u: any) => u?.name === ctx.user)?.user;
    if (!user) throw new Error(`${file}: invalid kubeconfig: missing user ${JSON.stringify(ctx.user ?? "")}`);
    const data = user["client-certificate-data"];
    if (typeof data !== "string" || !data) throw new Error(`${file}: empty client certificate data`);
    return pemCerts(Buffer.from(data, "base64").toString("utf8"), `${file} client-certificate-data`)[0];
}

const issuedBy = (cert: X509Certificate, ca: X509Certificate) => {
    try {
        return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
        return false;
    }
};

const commonName = (dn: string) => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ", ");

/**
 * Reads a kubeadm cert tree like `kubeadm certs check-expiration --cert-dir DIR`: the pki files of KUBEADM_CAS and
 * KUBEADM_CERTS in `dir`, the kubeconfigs in its parent. The CA column is the CA whose certificate in `dir` signed
 * the cert (kubeadm's expected CA tried first), or `unknown (CN=<issuer CN>)`; EXTERNALLY MANAGED is kubeadm's
 * rule: the CA's `.key` is absent. Missing files are listed in `missing`; the etcd and front-proxy sets are not
 * expected when their CA certificate is absent (external etcd, no front proxy). Throws when `dir` is not a directory
 * or a present file cannot be parsed (kubeadm fails the same way).
 */
export function readCertDir(
    dir: string,
    now: Date,
    renewBeforeHours: RenewBeforeHours = DEFAULT_RENEW_BEFORE_HOURS,
): { rows: ReportRow[]; missing: MissingEntry[] } {
    let stat: fs.Stats;
    try {
        stat = fs.statSync(dir);
    } catch {
        throw new Error(`${dir}: no such directory`);
    }
    if (!stat.isDirectory()) throw new Error(`${dir}: not a directory`);
    const kubernetesDir = path.dirname(path.resolve(dir));
    const rows: ReportRow[] = [];
    const missing: MissingEntry[] = [];

    // A CA file may be a bundle (a staged CA rotation: active CA first). kubeadm reports the first certificate;
    // every certificate of the bundle counts as that CA when matching issuers.
    const cas = new Map<string, { bundle: X509Certificate[]; externallyManaged: boolean }>();
    for (const ca of KUBEADM_CAS) {
        const crt = path.join(dir, `${ca.baseName}.crt`);
        if (!fs.existsSync(crt)) {
            missing.push({ certificate: ca.name, isCa: true });
            continue;
        }
        const bundle = readCertFile(crt);
        const cert = bundle[0];
        const externallyManaged = !fs.existsSync(path.join(dir, `${ca.baseName}.key`));
        cas.set(ca.name, { bundle, externallyManaged });
        rows.push(
            makeRow(
                {
                    certificate: ca.name,
                    id: ca.name,
                    file: crt,
                    notAfter: new Date(cert.validTo),
                    notBefore: new Date(cert.validFrom),
                    ca: ca.name,
                    externallyManaged,
                    isCa: true,
                },
                now,
                renewBeforeHours.ca,
            ),
        );
    }
    // Without its CA certificate, a CA's certificate set is not part of this cluster (kubeadm decides from its config).
    const expected = (ca: string) => ca === "ca" || cas.has(ca);
    for (let i = missing.length - 1; i >= 0; i--) if (!expected(missing[i].certificate)) missing.splice(i, 1);

    for (const entry of KUBEADM_CERTS) {
        const file = entry.kubeconfig ? path.join(kubernetesDir, entry.kubeconfig) : path.join(dir, `${entry.baseName}.crt`);
        if (!fs.existsSync(file)) {
            if (expected(entry.ca)) missing.push({ certificate: entry.name, isCa: false });
            continue;
        }
        const cert = entry.kubeconfig ? readKubeconfigCert(file) : readCertFile(file)[0];
        const order = [entry.ca, ...KUBEADM_CAS.map((c) => c.name).filter((n) => n !== entry.ca)];
        const caName = order.find((n) => cas.get(n)?.bundle.some((ca) => issuedBy(cert, ca)));
        rows.push(
            makeRow(
                {
                    certificate: entry.name,
                    id: entry.name,
                    file,
                    notAfter: new Date(cert.validTo),
                    notBefore: new Date(cert.validFrom),
                    ca: caName ?? `unknown (CN=${commonName(cert.issuer)})`,
                    // kubeadm: IsExternallyManaged(handler.CABaseName), the key of the CA the cert belongs to.
                    externallyManaged: cas.get(caName ?? entry.ca)?.externallyManaged ?? false,
                    isCa: false,
                },
                now,
                renewBeforeHours.leaf,
            ),
        );
    }
    return { rows: sortRows(rows), missing };
}

/** `readCertDir(...).rows`. Defaults renewBefore: leaves 720 h, CAs 8760 h. */
export function rowsFromCertDir(dir: string, now: Date, renewBeforeHours?: RenewBeforeHours): ReportRow[] {
    return readCertDir(dir, now, renewBeforeHours).rows;
}

// ------------------------------------------------------------------------------------ output formats

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
