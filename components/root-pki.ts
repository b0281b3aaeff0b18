/**
 * RootPki: the shared trust root of a multi-stack environment (docs/design.md#multi-stack, docs/multi-stack.md). It
 * holds the root CA (protected; its key never leaves this stack) and signs the CSRs its cluster stacks publish, one
 * intermediate per cluster, CA kind and generation listed in its config, after checking each CSR against that config
 * (root-link.ts csrProblems). No cluster key is generated here: a generation issued before the CSR handoff (the
 * root generated its key) is kept as it was until a CA rotation retires it (docs/runbook.md#multi-stack-migration).
 *
 * Protection: the root and every intermediate are `protect`ed, and dropping an intermediate needs
 * `allowRemoveClusters` (see RootPkiArgs). A cluster stack's own CAs are not protected: under a root stack it
 * holds no CA key of its own (its CAs are the root's protected intermediates, read by reference), and a
 * self-contained (dev) cluster stack's destroy is a legitimate act; its CA rotation also deletes the retired
 * generation in the distrust phase. Protecting them is a ClusterPkiArgs option to add (`protectCas`): protect the
 * generation that signs (the staged one in `stage` and the retiring one in `promote` stay unprotected, so that
 * dropping a stage and distrust still work).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import * as tls from "@pulumi/tls";
import { CA_USAGES, CaId, CAS, DEFAULT_CA_VALIDITY_HOURS, KEY_ALGORITHMS } from "./catalog";
import { CertificateAuthority } from "./ca";
import { ClusterSigningPolicy, csrProblems, IntermediateRequest } from "./root-link";
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
    /** The cluster's stack (org/project/stack) whose CSRs this root signs; default `organization/<project>/<name>`. */
    stack?: string;
    /** basicConstraints pathlen of the cluster's intermediates (≥ 1, below the root's); default none (the root's bounds it). */
    pathLength?: number;
    /** Key algorithms accepted in the cluster's CSRs; default every supported one. */
    keyAlgorithms?: string[];
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
    /** The CSRs each cluster stack publishes (cluster → CA id → [{generation, csrPem}]), read with readClusterRequests. */
    requests?: Record<string, Record<string, IntermediateRequest[]>>;
    /**
     * The generations of `previousIntermediates` whose key this root generated (before the CSR handoff), from the
     * previous run's memory; undefined with a memory written before the handoff: then every previous one is.
     */
    previousKeyInRoot?: Record<string, Record<string, number[]>>;
}

export interface IssuedIntermediate {
    generation: number;
    certPem: pulumi.Output<string>;
    /** Secret; only on a generation issued before the CSR handoff (the root generated its key). */
    keyPem?: pulumi.Output<string>;
}

/** A RootPki's memory: the issued generations, and those whose key it holds (before the CSR handoff). */
export type RootMemory = RootPkiMemory & { keyInRoot: Record<string, Record<string, number[]>> };

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CA_IDS = CAS.map((c) => c.id) as string[];

const generationMap = z.record(z.string(), z.record(z.string(), z.array(z.number().int().nonnegative())));

const rootSchema = z.strictObject({
    commonName: z.string().min(1).optional(),
    keyAlgorithm: z.enum(KEY_ALGORITHMS).optional(),
    validity: z.union([z.string(), z.number()]).optional(),
    intermediateValidity: z.union([z.string(), z.number()]).optional(),
    pathLength: z.number().int().min(1).max(4).optional(),
    protect: z.boolean().optional(),
    previousIntermediates: generationMap.optional(),
    previousKeyInRoot: generationMap.optional(),
    requests: z.record(z.string(), z.record(z.string(), z.array(z.object({ generation: z.number(), csrPem: z.string() })))).optional(),
    allowRemoveClusters: z.array(z.string().min(1)).optional(),
    clusters: z.array(
        z.strictObject({
            name: z.string(),
            cas: z.array(z.string()).optional(),
            generations: z.record(z.string(), z.array(z.number().int().nonnegative())).optional(),
            validity: z.union([z.string(), z.number()]).optional(),
            stack: z.string().min(1).optional(),
            pathLength: z.number().int().min(1).max(3).optional(),
            keyAlgorithms: z.array(z.enum(KEY_ALGORITHMS)).min(1).optional(),
        }),
    ),
});

export class RootPki extends pulumi.ComponentResource {
    public readonly rootCertificate: pulumi.Output<string>;
    /** cluster → CA id → issued generations (certificates; a key only on one issued before the CSR handoff). */
    public readonly intermediates: Record<string, Record<string, IssuedIntermediate[]>> = {};
    public readonly clusterNames: string[];
    /** What each cluster may request (published as the `signingPolicy` output, read by the cluster stacks). */
    public readonly signingPolicy: Record<string, ClusterSigningPolicy>;
    /** `<cluster>/<ca>/<generation>` the root would sign but whose CSR its cluster stack has not published yet. */
    public readonly awaitingRequests: string[] = [];
    /** `<cluster>/<ca>/<generation>` signed for the first time by this run (the cluster stack's next `up` takes them). */
    public readonly newlySigned: string[] = [];
    /** What the next run reads back (through the stack output kubePkiMemory, `memoryOf(root)`): the issued generations. */
    public readonly memory: RootMemory;

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
        const rootPathLength = a.pathLength ?? 1;
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
            if (c.pathLength !== undefined && c.pathLength >= rootPathLength) {
                problems.push(`clusters[${i}].pathLength: ${c.pathLength} must be below the root's pathLength (${rootPathLength}); raise rootCa.pathLength or drop it`);
            }
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
        const has = (map: Record<string, Record<string, number[]>> | undefined, key: string) => {
            const [cluster, ca, g] = key.split("/");
            return (map?.[cluster]?.[ca] ?? []).includes(Number(g));
        };
        // before the handoff a memory had no keyInRoot: every generation it issued holds a root-generated key
        const keyInRoot = (key: string) => has(a.previousKeyInRoot ?? a.previousIntermediates, key);
        const project = pulumi.getProject();

        // Policy and CSR checks, all before any resource is registered.
        type Plan = { cluster: (typeof a.clusters)[number]; ca: (typeof CAS)[number]; generation: number; key: string; csrPem?: string; legacy: boolean; validityHours: number };
        const plans: Plan[] = [];
        const signingPolicy: Record<string, ClusterSigningPolicy> = {};
        for (const c of a.clusters) {
            const stack = c.stack ?? `organization/${project}/${c.name}`;
            const policy: ClusterSigningPolicy = { stack, cas: {} };
            signingPolicy[c.name] = policy;
            const validityHours = hours(c.validity, "", interHours);
            for (const ca of CAS.filter((x) => (c.cas ?? CA_IDS).includes(x.id))) {
                const generations = c.generations?.[ca.id] ?? [0];
                const legacy = generations.filter((g) => keyInRoot(`${c.name}/${ca.id}/${g}`));
                policy.cas[ca.id] = {
                    commonName: `${ca.commonName}-${c.name}`,
                    generations,
                    byCsr: generations.filter((g) => !legacy.includes(g)),
                    keyAlgorithms: c.keyAlgorithms ?? [...KEY_ALGORITHMS],
                };
                for (const generation of generations) {
                    const key = `${c.name}/${ca.id}/${generation}`;
                    if (legacy.includes(generation)) {
                        plans.push({ cluster: c, ca, generation, key, legacy: true, validityHours });
                        continue;
                    }
                    const csrPem = a.requests?.[c.name]?.[ca.id]?.find((r) => r.generation === generation)?.csrPem;
                    if (!csrPem && has(a.previousIntermediates, key) && !allowed(key)) {
                        problems.push(
                            `clusters[${c.name}]: ${key} was signed by an earlier run but stack ${stack} no longer publishes its CSR ` +
                                `(output intermediateRequests): run \`up\` on ${stack} (it publishes a CSR for every generation this root lists), ` +
                                `or retire the intermediate (kube-pki:allowRemoveClusters, then drop the generation)`,
                        );
                    }
                    plans.push({ cluster: c, ca, generation, key, csrPem, legacy: false, validityHours });
                }
            }
            for (const [ca, list] of Object.entries(a.requests?.[c.name] ?? {})) {
                for (const r of list ?? []) problems.push(...csrProblems(c.name, stack, policy, ca, r));
            }
        }
        for (const cluster of Object.keys(a.requests ?? {})) {
            if (!seen.has(cluster)) problems.push(`requests: cluster "${cluster}" is not in clusters`);
        }
        if (problems.length) throw new ConfigError("RootPki config", problems);

        super("kube-pki:index:RootPki", name, {}, opts);
        this.signingPolicy = signingPolicy;
        const protect = a.protect ?? true;
        const root = new CertificateAuthority(
            `${name}-root`,
            {
                commonName: a.commonName ?? "kube-pki root CA",
                keyAlgorithm: a.keyAlgorithm ?? "RSA-4096",
                validityHours: rootHours,
                renewBeforeHours: Math.floor(rootHours / 4),
                maxPathLength: rootPathLength,
            },
            { parent: this, protect },
        );
        this.rootCertificate = root.certPem;
        this.clusterNames = a.clusters.map((c) => c.name);
        const memory: RootMemory = { intermediates: {}, keyInRoot: {} };
        const remember = (map: Record<string, Record<string, number[]>>, p: Plan) => ((map[p.cluster.name] ??= {})[p.ca.id] ??= []).push(p.generation);
        for (const c of a.clusters) {
            this.intermediates[c.name] = {};
            memory.intermediates[c.name] = {};
        }
        for (const p of plans) {
            // every intermediate is protected like the root, unless listed for removal
            const resourceOpts = { parent: this, protect: protect && !allowed(p.key) };
            let issued: IssuedIntermediate;
            if (p.legacy) {
                // issued before the CSR handoff: kept (same resources) until a CA rotation retires it
                const inter = new CertificateAuthority(
                    intermediateName(name, p.key),
                    {
                        commonName: `${p.ca.commonName}-${p.cluster.name}`,
                        keyAlgorithm: a.keyAlgorithm ?? "RSA-2048",
                        validityHours: p.validityHours,
                        renewBeforeHours: Math.floor(p.validityHours / 10),
                        parentCertPem: root.certPem,
                        parentKeyPem: root.keyPem,
                    },
                    resourceOpts,
                );
                issued = { generation: p.generation, certPem: inter.certPem, keyPem: inter.keyPem };
                remember(memory.keyInRoot, p);
            } else if (p.csrPem) {
                const cert = new tls.LocallySignedCert(
                    `${intermediateName(name, p.key)}-signed`,
                    {
                        certRequestPem: p.csrPem,
                        caCertPem: root.certPem,
                        caPrivateKeyPem: root.keyPem,
                        isCaCertificate: true,
                        allowedUses: CA_USAGES,
                        setSubjectKeyId: true,
                        validityPeriodHours: p.validityHours,
                        earlyRenewalHours: Math.floor(p.validityHours / 10),
                        ...(p.cluster.pathLength !== undefined ? { maxPathLength: p.cluster.pathLength } : {}),
                    },
                    resourceOpts,
                );
                issued = { generation: p.generation, certPem: cert.certPem };
                if (!has(a.previousIntermediates, p.key)) this.newlySigned.push(p.key);
            } else {
                this.awaitingRequests.push(p.key);
                continue;
            }
            (this.intermediates[p.cluster.name][p.ca.id] ??= []).push(issued);
            remember(memory.intermediates, p);
        }
        this.memory = memory;
        this.registerOutputs({ rootCertificate: this.rootCertificate, intermediates: this.intermediates, signingPolicy: this.signingPolicy });
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
    return (await readPreviousRoot(selfStack, name)).intermediates;
}

/** The previous run's memory of a RootPki: `intermediates` (see readPreviousRootIntermediates) and `keyInRoot` (RootPkiArgs.previousKeyInRoot). */
export async function readPreviousRoot(
    selfStack?: string,
    name = "root",
): Promise<{ intermediates?: Record<string, Record<string, number[]>>; keyInRoot?: Record<string, Record<string, number[]>> }> {
    const ref = selfStack ? new pulumi.StackReference(selfStack) : undefined;
    const read = async (output: string) => {
        if (!ref) return previousOutput(output);
        const details = await ref.getOutputDetails(output);
        return details.value ?? details.secretValue;
    };
    const memory = (await read(MEMORY_OUTPUT)) as Record<string, Partial<RootMemory>> | undefined;
    const remembered = memory?.[name];
    if (remembered?.intermediates && typeof remembered.intermediates === "object") {
        return { intermediates: remembered.intermediates, keyInRoot: remembered.keyInRoot };
    }
    const value = (await read("intermediates")) as Record<string, Record<string, { generation: number }[]>> | undefined;
    if (!value || typeof value !== "object") return {};
    return {
        intermediates: Object.fromEntries(
            Object.entries(value).map(([cluster, cas]) => [
                cluster,
                Object.fromEntries(Object.entries(cas ?? {}).map(([ca, list]) => [ca, (list ?? []).map((i) => i.generation)])),
            ]),
        ),
    };
}

export type { CaId };
