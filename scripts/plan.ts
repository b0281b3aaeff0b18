/**
 * What `npm run up|preview|destroy` prints instead of the engine's full output: a progress line now and then, and
 * one summary at the end — counts by operation, the program's own messages (the rotation summary), and what is
 * replaced, updated or deleted and why, one line per certificate or node rather than per resource.
 */
import type { EngineEvent, StepEventMetadata } from "@pulumi/pulumi/automation";

/** A resource's name: the last URN segment. */
export function urnName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** A resource's type: the last `$`-separated part of the URN's type chain. */
export function urnType(urn: string): string {
    const chain = urn.split("::")[2] ?? "";
    return chain.slice(chain.lastIndexOf("$") + 1);
}

/** Why a property's change replaces a certificate, in an operator's words. */
const REASONS: [RegExp, string][] = [
    [/^__replacementTrigger|replacementTrigger/, "rotation token changed"],
    [/^caCertPem|^caPrivateKeyPem/, "re-signed by another CA generation"],
    [/^certRequestPem|^privateKeyPem/, "new key"],
    [/^(subject|dnsNames|ipAddresses|uris)/, "identity or SANs changed"],
    [/^(validityPeriodHours|earlyRenewalHours)/, "validity changed"],
    [/^(algorithm|rsaBits|ecdsaCurve)/, "key algorithm changed"],
    [/^allowedUses/, "key usages changed"],
    [/^files/, "file contents changed"],
];

function reasonsOf(step: StepEventMetadata): string[] {
    const keys = [...(step.keys ?? []), ...(step.diffs ?? []), ...Object.keys(step.detailedDiff ?? {})];
    const out = new Set<string>();
    for (const key of keys) {
        const hit = REASONS.find(([re]) => re.test(key));
        out.add(hit ? hit[1] : `${key.split(/[.[]/)[0]} changed`);
    }
    // A replaced leaf's key has no diff of its own: the engine replaces it for its replacementTrigger.
    if (out.size === 0 && /replace/.test(step.op) && /PrivateKey$/.test(step.type)) out.add("rotation token changed");
    // In a preview, a resource fed by a replaced one gets unknown inputs and no property diff.
    if (out.size === 0 && step.op === "update") out.add("its inputs follow the replaced certificates");
    return [...out];
}

/** The files a NodeFiles step changes, from its detailed diff (`files["etc/kubernetes/admin.conf"]`). */
function changedFiles(step: StepEventMetadata): string[] {
    return Object.keys(step.detailedDiff ?? {})
        .map((k) => /^files\[?\.?"?([^"\]]+)/.exec(k)?.[1])
        .filter((f): f is string => !!f && f !== "files");
}

/** Counting ops: a replacement shows up as create-replacement + replace + delete-replaced; count it once. */
function countedOp(op: string): string | undefined {
    if (op === "create-replacement" || op === "delete-replaced" || op === "discard-replaced") return undefined;
    if (op === "replace" || op === "create-before-replace") return "replace";
    return op;
}

/** Components whose children are one certificate or key: a change is reported once, under the component's name. */
const OWNER_TYPES = /kube-pki:index:(LeafCertificate|CertificateAuthority|ServiceAccountKey|VaultCa\w*)$/;

interface Change {
    owner: string;
    ops: Set<string>;
    reasons: Set<string>;
    files: Set<string>;
}

export interface PlanOptions {
    /** Print a progress line at most this often (ms); 0: never. */
    progressEveryMs?: number;
    write?: (line: string) => void;
}

export class PlanRecorder {
    readonly counts = new Map<string, number>();
    readonly changes = new Map<string, Change>();
    readonly messages: { severity: string; message: string }[] = [];
    readonly failed: string[] = [];
    private readonly started = Date.now();
    private lastProgress = Date.now();
    private steps = 0;

    constructor(private readonly opts: PlanOptions = {}) {}

    readonly onEvent = (event: EngineEvent): void => {
        const pre = event.resourcePreEvent?.metadata;
        if (pre) this.step(pre);
        const failed = event.resOpFailedEvent?.metadata;
        if (failed) this.failed.push(`${urnName(failed.urn)} (${failed.op})`);
        const diag = event.diagnosticEvent;
        if (diag && (diag.severity === "info" || diag.severity === "warning")) {
            const message = diag.message.replace(/\s+$/, "");
            if (message && !this.messages.some((m) => m.message === message)) this.messages.push({ severity: diag.severity, message });
        }
        this.progress();
    };

    private step(m: StepEventMetadata): void {
        if (m.type === "pulumi:pulumi:Stack" || m.type.startsWith("pulumi:providers:")) return;
        const op = countedOp(m.op);
        if (op) {
            this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
            this.steps++;
        }
        if (!op || op === "same" || op === "read" || op === "refresh") return;
        if (!m.type.includes(":") || m.type.startsWith("kube-pki:index:")) return; // components: their children tell
        const parent = m.new?.parent ?? m.old?.parent ?? "";
        const owner = parent && OWNER_TYPES.test(urnType(parent)) ? urnName(parent) : urnName(m.urn);
        const change = this.changes.get(owner) ?? { owner, ops: new Set(), reasons: new Set(), files: new Set() };
        change.ops.add(op);
        for (const r of reasonsOf(m)) change.reasons.add(r);
        for (const f of changedFiles(m)) change.files.add(f);
        this.changes.set(owner, change);
    }

    private progress(): void {
        const every = this.opts.progressEveryMs ?? 5000;
        if (!every || Date.now() - this.lastProgress < every) return;
        this.lastProgress = Date.now();
        const write = this.opts.write ?? console.log;
        if (this.steps === 0) write(`  … starting the program (${this.elapsed()})`);
        else write(`  … ${this.steps} resources so far (${this.countsText()}) after ${this.elapsed()}`);
    }

    elapsed(): string {
        return `${Math.round((Date.now() - this.started) / 1000)} s`;
    }

    countsText(): string {
        const order = ["create", "update", "replace", "delete", "same", "read"];
        const entries = [...this.counts.entries()].sort(([a], [b]) => (order.indexOf(a) + 99) % 99 - ((order.indexOf(b) + 99) % 99));
        return entries.map(([op, n]) => `${op} ${n}`).join(", ") || "nothing";
    }

    /** The summary lines. `limit` caps each list; the rest is counted ("+N more"). */
    summary(kind: "up" | "preview" | "destroy-plan" | "destroy", limit = 25): string[] {
        const lines: string[] = [];
        const action = kind === "destroy-plan" ? "destroy" : kind;
        const verb = { up: "Done", preview: "Plan", "destroy-plan": "Destroy plan", destroy: "Destroyed" }[kind];
        lines.push(`${verb} (${this.elapsed()}): ${this.countsText()}`);
        for (const { severity, message } of this.messages) {
            lines.push(...message.split("\n").map((l, i) => (i === 0 && severity === "warning" ? `warning: ${l}` : l)));
        }
        const byOp = (op: string) => [...this.changes.values()].filter((c) => c.ops.has(op));
        const section = (title: string, list: Change[], describe: (c: Change) => string) => {
            if (!list.length || kind.startsWith("destroy")) return;
            lines.push(`${title} (${list.length}):`);
            for (const c of list.slice(0, limit)) lines.push(`  ${c.owner}${describe(c) ? ` — ${describe(c)}` : ""}`);
            if (list.length > limit) lines.push(`  … +${list.length - limit} more (npm run ${action} -- --verbose lists every resource)`);
        };
        const reasons = (c: Change) => [...c.reasons].join(", ");
        const files = (c: Change) =>
            c.files.size ? `${[...c.files].slice(0, 4).join(", ")}${c.files.size > 4 ? `, +${c.files.size - 4} more files` : ""}` : reasons(c);
        // On a first run everything is new: the count says it. Later, new certificates and nodes are worth naming.
        if (this.counts.get("same")) section(action === "preview" ? "To create" : "Created", byOp("create"), () => "");
        section(action === "preview" ? "To replace" : "Replaced", byOp("replace"), reasons);
        section(action === "preview" ? "To update" : "Updated", byOp("update"), files);
        if (kind === "destroy-plan") {
            const deleted = byOp("delete");
            lines.push(`To delete: ${deleted.slice(0, 8).map((c) => c.owner).join(", ")}${deleted.length > 8 ? `, … +${deleted.length - 8} more (--verbose lists every resource)` : ""}`);
        } else section(action === "preview" ? "To delete" : "Deleted", byOp("delete"), () => "");
        if (this.failed.length) lines.push(`Failed: ${this.failed.join(", ")}`);
        return lines;
    }
}
