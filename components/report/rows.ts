/** Report rows: the status of a certificate at `now` (the preview's renewal schedule) and rows from the inventory. */
import { DEFAULT_CA_RENEW_BEFORE_HOURS, DEFAULT_LEAF_RENEW_BEFORE_HOURS } from "../catalog";
import type { InventoryEntry } from "../model";
import { renewalStatus, renewAtMs, RenewalStatus } from "../rotation";
import { residual, residualSeconds } from "./durations";

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
export const DEFAULT_RENEW_BEFORE_HOURS: RenewBeforeHours = { leaf: DEFAULT_LEAF_RENEW_BEFORE_HOURS, ca: DEFAULT_CA_RENEW_BEFORE_HOURS };

/**
 * expired: now is after NotAfter (Go x509 validity); renew-due: now is at or after renewAt; else ok. This is
 * rotation.ts `renewalStatus`: a leaf is "renew-due" exactly when a preview at `now` renews it.
 */
export function statusAt(now: Date, notAfter: Date, renewAt?: Date): ReportStatus {
    return renewalStatus(now.getTime(), notAfter.getTime(), renewAt?.getTime());
}

export function makeRow(
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
