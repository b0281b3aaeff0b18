/**
 * RootPki: the shared trust root of a multi-stack environment (docs/design.md#multi-stack). It holds the root CA (protected;
 * its key never leaves this stack) and signs one intermediate per cluster and CA kind listed in its config.
 * Cluster stacks read their intermediates through a StackReference (see readRootStack).
 *
 * Protection: the root and every intermediate are `protect`ed, and dropping an intermediate needs
 * `allowRemoveClusters` (see RootPkiArgs). A cluster stack's own CAs are not protected: under a root stack it
 * holds no CA key of its own (its CAs are the root's protected intermediates, read by reference), and a
 * self-contained (dev) cluster stack's destroy is a legitimate act; its CA rotation also deletes the retired
 * generation in the distrust phase. Protecting them is a ClusterPkiArgs option to add (`protectCas`): protect the
 * generation that signs (the staged one in `stage` and the retiring one in `promote` stay unprotected, so that
 * dropping a stage and distrust still work).
 */
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CaId, CAS, DEFAULT_CA_VALIDITY_HOURS, KEY_ALGORITHMS } from "./catalog";
import { CertificateAuthority } from "./ca";
import { ConfigError, parseHours } from "./config";
import { MEMORY_OUTPUT, previousOutput, RootPkiMemory } from "./memory";

export interface RootCluster {
    /** The cluster's name: its stack's clusterName. */
    name: string;
    /** CA kinds issued as intermediates; default ["ca", "etcd-ca", "front-proxy-ca"]. */
    cas?: string[];
    /** Generations issued per CA kind (for a cluster's CA rotation: [0, 1] while rotating); default [0]. */
    generations?: Record<string, number[]>;
    /** Intermediate validity ("<n>h" / "<n>d"); default the root's intermediateValidity. */
    validity?: string;
}

export interface RootPkiArgs {
    /** Root CA common name; default "kube-pki root CA". */
    commonName?: string;
    /** Root key algorithm (kubeadm encryptionAlgorithm name); default RSA-2048. */
    keyAlgorithm?: string;
    /** Root validity; default 175200h (20 y). */
    validity?: string;
    /** Intermediate validity; default 87600h (10 y, kubeadm's CA validity). */
    intermediateValidity?: string;
    /** Root basicConstraints pathlen; default 1 (intermediates may not sign CAs). */
    pathLength?: number;
    /**
     * `protect` the root CA and every intermediate (keys, CSRs, certs; default true): a destroy, or a config
     * change that would delete one, is refused by the engine. Test stacks set false.
     */
    protect?: boolean;
    /** The clusters to issue intermediates for. */
    clusters: RootCluster[];
    /**
     * The intermediates the previous run issued: cluster → CA id → generations (the keys of the previous
     * `intermediates` output; see readPreviousRootIntermediates). When given, an intermediate that this run would
     * drop (a cluster removed from `clusters`, a CA kind or generation dropped) is refused at preview, naming it,
     * unless `allowRemoveClusters` lists it.
     */
    previousIntermediates?: Record<string, Record<string, number[]>>;
    /**
     * Intermediates that may be deleted on purpose: a cluster name (all of its intermediates) or
     * `<cluster>/<ca id>/<generation>` (one, e.g. the old generation after a CA rotation: "dev/ca/0"). Listed
     * intermediates that still exist are registered unprotected, so the removal is two reviewed runs: (1) list
     * it here and `up` (only protection changes), (2) drop it from `clusters` and `up` (the preview names the
     * deletes).
     */
    allowRemoveClusters?: string[];
}

export interface IssuedIntermediate {
    generation: number;
    certPem: pulumi.Output<string>;
    /** Secret. */
    keyPem: pulumi.Output<string>;
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CA_IDS = CAS.map((c) => c.id) as string[];

const rootSchema = z.strictObject({
    commonName: z.string().min(1).optional(),
    keyAlgorithm: z.enum(KEY_ALGORITHMS).optional(),
    validity: z.union([z.string(), z.number()]).optional(),
    intermediateValidity: z.union([z.string(), z.number()]).optional(),
    pathLength: z.number().int().min(1).max(4).optional(),
    protect: z.boolean().optional(),
    previousIntermediates: z.record(z.string(), z.record(z.string(), z.array(z.number().int().nonnegative()))).optional(),
    allowRemoveClusters: z.array(z.string().min(1)).optional(),
    clusters: z.array(
        z.strictObject({
            name: z.string(),
            cas: z.array(z.string()).optional(),
            generations: z.record(z.string(), z.array(z.number().int().nonnegative())).optional(),
            validity: z.union([z.string(), z.number()]).optional(),
        }),
    ),
});

export class RootPki extends pulumi.ComponentResource {
    public readonly rootCertificate: pulumi.Output<string>;
    /** cluster → CA id → issued generations (cert public, key secret). */
    public readonly intermediates: Record<string, Record<string, IssuedIntermediate[]>> = {};
    public readonly clusterNames: string[];
    /** What the next run reads back (through the stack output kubePkiMemory, `memoryOf(root)`): the issued generations. */
    public readonly memory: RootPkiMemory;

    constructor(name: string, args: RootPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems: string[] = [];
        const parsed = rootSchema.safeParse(args);
        if (!parsed.success) {
            throw new ConfigError("RootPki config", parsed.error.issues.map((i) => `${i.path.join(".") || "(args)"}: ${i.message}`));
        }
        const a = parsed.data;
        const hours = (v: string | number | undefined, field: string, dflt: number) => {
            if (v === undefined) return dflt;
            const h = parseHours(v);
            if (h === undefined) problems.push(`${field}: "${v}" is not a duration (e.g. "87600h")`);
            return h ?? dflt;
        };
        const rootHours = hours(a.validity, "validity", 2 * DEFAULT_CA_VALIDITY_HOURS);
        const interHours = hours(a.intermediateValidity, "intermediateValidity", DEFAULT_CA_VALIDITY_HOURS);
        if (interHours > rootHours) problems.push(`intermediateValidity: ${interHours}h is longer than the root's validity (${rootHours}h)`);
        const seen = new Set<string>();
        a.clusters.forEach((c, i) => {
            if (!DNS1123.test(c.name)) problems.push(`clusters[${i}].name: "${c.name}" is not a DNS-1123 subdomain`);
            if (seen.has(c.name)) problems.push(`clusters[${i}].name: cluster name collision: "${c.name}" is listed twice`);
            seen.add(c.name);
            for (const ca of [...(c.cas ?? []), ...Object.keys(c.generations ?? {})]) {
                if (!CA_IDS.includes(ca)) problems.push(`clusters[${i}]: unknown CA "${ca}" (one of ${CA_IDS.join(", ")})`);
            }
            const h = hours(c.validity, `clusters[${i}].validity`, interHours);
            if (h > rootHours) problems.push(`clusters[${i}].validity: ${h}h is longer than the root's validity (${rootHours}h)`);
        });
        if (problems.length) throw new ConfigError("RootPki config", problems);
        const allow = new Set(a.allowRemoveClusters ?? []);
        const allowed = (key: string) => allow.has(key) || allow.has(key.split("/")[0]);
        const dropped = droppedIntermediates(a.previousIntermediates ?? {}, a.clusters).filter((key) => !allowed(key));
        if (dropped.length) {
            throw new ConfigError("RootPki config", [
                `clusters: this change would delete ${dropped.length} intermediate CA(s) that cluster stacks trust and sign with: ` +
                    `${dropped.map((k) => `${k} (resource ${intermediateName(name, k)})`).join(", ")}. ` +
                    `Every cluster stack under them would get a new trust chain at its next up. To delete them on purpose: ` +
                    `add ${[...new Set(dropped.map((k) => JSON.stringify(k.split("/")[0])))].join(", ")} (or the "<cluster>/<ca>/<generation>" ` +
                    `entries) to kube-pki:allowRemoveClusters and \`up\` with them still listed (this unprotects them), then remove them ` +
                    `from kube-pki:clusters and \`up\` (the preview names the deletes)`,
            ]);
        }

        super("kube-pki:index:RootPki", name, {}, opts);
        const protect = a.protect ?? true;
        const root = new CertificateAuthority(
            `${name}-root`,
            {
                commonName: a.commonName ?? "kube-pki root CA",
                keyAlgorithm: a.keyAlgorithm ?? "RSA-4096",
                validityHours: rootHours,
                renewBeforeHours: Math.floor(rootHours / 4),
                maxPathLength: a.pathLength ?? 1,
            },
            { parent: this, protect },
        );
        this.rootCertificate = root.certPem;
        this.clusterNames = a.clusters.map((c) => c.name);
        for (const c of a.clusters) {
            this.intermediates[c.name] = {};
            const validityHours = hours(c.validity, "", interHours);
            for (const ca of CAS.filter((x) => (c.cas ?? CA_IDS).includes(x.id))) {
                this.intermediates[c.name][ca.id] = (c.generations?.[ca.id] ?? [0]).map((generation) => {
                    const key = `${c.name}/${ca.id}/${generation}`;
                    const inter = new CertificateAuthority(
                        intermediateName(name, key),
                        {
                            commonName: `${ca.commonName}-${c.name}`,
                            keyAlgorithm: a.keyAlgorithm ?? "RSA-2048",
                            validityHours,
                            renewBeforeHours: Math.floor(validityHours / 10),
                            parentCertPem: root.certPem,
                            parentKeyPem: root.keyPem,
                        },
                        // every intermediate is protected like the root, unless listed for removal
                        { parent: this, protect: protect && !allowed(key) },
                    );
                    return { generation, certPem: inter.certPem, keyPem: inter.keyPem };
                });
            }
        }
        this.memory = {
            intermediates: Object.fromEntries(
                Object.entries(this.intermediates).map(([cluster, cas]) => [cluster, Object.fromEntries(Object.entries(cas).map(([ca, list]) => [ca, list.map((i) => i.generation)]))]),
            ),
        };
        this.registerOutputs({ rootCertificate: this.rootCertificate, intermediates: this.intermediates });
    }
}

/** The component name of an intermediate, from its `<cluster>/<ca id>/<generation>` key (stable URNs). */
function intermediateName(rootName: string, key: string): string {
    const [cluster, ca, generation] = key.split("/");
    return `${rootName}-${cluster}-${ca}${generation === "0" ? "" : `-g${generation}`}`;
}

/** `<cluster>/<ca id>/<generation>` of every intermediate the previous run issued that `clusters` no longer issues. */
export function droppedIntermediates(
    previous: Record<string, Record<string, number[]>>,
    clusters: Pick<RootCluster, "name" | "cas" | "generations">[],
): string[] {
    const now = new Set<string>();
    for (const c of clusters) {
        for (const ca of c.cas ?? CA_IDS) for (const g of c.generations?.[ca] ?? [0]) now.add(`${c.name}/${ca}/${g}`);
    }
    const out: string[] = [];
    for (const [cluster, cas] of Object.entries(previous)) {
        for (const [ca, gens] of Object.entries(cas ?? {})) for (const g of gens ?? []) if (!now.has(`${cluster}/${ca}/${g}`)) out.push(`${cluster}/${ca}/${g}`);
    }
    return out.sort();
}

/**
 * The previous run's intermediates of this (root) stack: cluster → CA id → generations; undefined on the first run.
 * Read from the RootPki's entry in the stack's memory (kubePkiMemory, the same mechanism as ClusterPki's), else —
 * a root stack written before it exported one — from its own `intermediates` output. Pass it to RootPki as
 * `previousIntermediates`.
 */
export async function readPreviousRootIntermediates(
    /** Another stack's name (tests); default: this stack, through the one self StackReference (memory.ts). */
    selfStack?: string,
    /** The RootPki's name (its kubePkiMemory entry). */
    name = "root",
): Promise<Record<string, Record<string, number[]>> | undefined> {
    const ref = selfStack ? new pulumi.StackReference(selfStack) : undefined;
    const read = async (output: string) => {
        if (!ref) return previousOutput(output);
        const details = await ref.getOutputDetails(output);
        return details.value ?? details.secretValue;
    };
    const memory = (await read(MEMORY_OUTPUT)) as Record<string, Partial<RootPkiMemory>> | undefined;
    const remembered = memory?.[name]?.intermediates;
    if (remembered && typeof remembered === "object") return remembered;
    const value = (await read("intermediates")) as Record<string, Record<string, { generation: number }[]>> | undefined;
    if (!value || typeof value !== "object") return undefined;
    return Object.fromEntries(
        Object.entries(value).map(([cluster, cas]) => [
            cluster,
            Object.fromEntries(Object.entries(cas ?? {}).map(([ca, list]) => [ca, (list ?? []).map((i) => i.generation)])),
        ]),
    );
}

/** What a cluster stack reads from the root stack, validated. */
export interface RootStackMaterial {
    rootCertificate: string;
    externalCas: Record<string, { generation: number; certPem: string; keyPem: pulumi.Output<string> }[]>;
}

/**
 * Reads and checks a cluster's intermediates from a root stack's outputs (rootCertificate, intermediates).
 * Refuses a missing output, a cluster the root does not list, and an intermediate that does not chain to the root.
 */
export function checkRootOutputs(
    rootStack: string,
    clusterName: string,
    rootCertificate: unknown,
    intermediates: unknown,
): RootStackMaterial {
    const where = `rootStack "${rootStack}"`;
    if (typeof rootCertificate !== "string") {
        throw new ConfigError("root stack", [`${where}: output "rootCertificate" is missing; run \`pulumi up\` on the root stack first`]);
    }
    if (!intermediates || typeof intermediates !== "object") {
        throw new ConfigError("root stack", [`${where}: output "intermediates" is missing; run \`pulumi up\` on the root stack first`]);
    }
    const all = intermediates as Record<string, Record<string, { generation: number; certPem: string; keyPem: string }[]>>;
    const mine = all[clusterName];
    if (!mine) {
        throw new ConfigError("root stack", [
            `clusterName: "${clusterName}" is not listed by ${where} (it lists: ${Object.keys(all).join(", ") || "none"}); ` +
                `add it to kube-pki:clusters in the root stack's config and update the root stack`,
        ]);
    }
    const root = new X509Certificate(rootCertificate);
    const problems: string[] = [];
    const externalCas: RootStackMaterial["externalCas"] = {};
    for (const [ca, list] of Object.entries(mine)) {
        externalCas[ca] = list.map((i) => {
            const cert = new X509Certificate(i.certPem);
            if (!cert.checkIssued(root) || !cert.verify(root.publicKey)) {
                problems.push(`${where}: the ${ca} intermediate (generation ${i.generation}) of "${clusterName}" does not chain to the root certificate`);
            }
            if (!cert.ca) problems.push(`${where}: the ${ca} intermediate of "${clusterName}" is not a CA certificate`);
            return { generation: i.generation, certPem: i.certPem, keyPem: pulumi.secret(i.keyPem) };
        });
    }
    if (problems.length) throw new ConfigError("root stack", problems);
    return { rootCertificate, externalCas };
}

/** Reads a cluster's intermediates from the root stack through a StackReference (secrets stay secret). */
export async function readRootStack(rootStack: string, clusterName: string): Promise<RootStackMaterial> {
    const ref = new pulumi.StackReference(rootStack);
    const [rootCertificate, intermediates] = await Promise.all([
        ref.getOutputDetails("rootCertificate"),
        ref.getOutputDetails("intermediates"),
    ]);
    return checkRootOutputs(
        rootStack,
        clusterName,
        rootCertificate.value ?? rootCertificate.secretValue,
        intermediates.value ?? intermediates.secretValue,
    );
}

export type { CaId };
