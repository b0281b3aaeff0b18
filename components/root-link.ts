/**
 * What crosses the boundary between a root stack and a cluster stack (docs/multi-stack.md): CSRs one way,
 * certificates the other, and never a private key.
 *
 *   cluster stack output `intermediateRequests`  CA id → [{generation, csrPem}]            (plain)
 *   root stack output `signingPolicy`            cluster → {stack, cas: CA id → policy}    (plain)
 *   root stack output `intermediates`            cluster → CA id → [{generation, certPem}] (plain; `keyPem`, a
 *                                                secret, only on a generation issued before the CSR handoff)
 *
 * Each stack reads the other's plain outputs from the backend without decrypting anything (storedPlainOutputs;
 * a StackReference where there is no CLI), so each stack may use its own secrets provider.
 */
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config";
import { parseCsr, spkiOf } from "./csr";

/** One CSR a cluster stack publishes. */
export interface IntermediateRequest {
    /** The CA generation the CSR is for (0, then 1, ... across CA rotations). */
    generation: number;
    /** The PEM PKCS#10 certificate request (the intermediate's public key and subject; no private key). */
    csrPem: string;
}

/** What a root allows one CA kind of a cluster. */
export interface CaSigningPolicy {
    /** The subject CN the CSR must carry (and its only DNS SAN, if any). */
    commonName: string;
    /** Every generation the root issues (by CSR or, before the handoff, with a key of its own). */
    generations: number[];
    /** The generations the root signs from a CSR of the cluster: the cluster requests exactly these. */
    byCsr: number[];
    /** kubeadm key algorithm names the root accepts in a CSR. */
    keyAlgorithms: string[];
}

export interface ClusterSigningPolicy {
    /** The cluster's stack (org/project/stack), whose `intermediateRequests` the root reads. */
    stack: string;
    cas: Record<string, CaSigningPolicy>;
}

/** The output names. */
export const REQUESTS_OUTPUT = "intermediateRequests";
export const POLICY_OUTPUT = "signingPolicy";

/**
 * The root's check of one CSR against its policy for the cluster: the CA kind and generation must be listed, the
 * subject must be exactly the expected CN, the only extension request a DNS SAN equal to it, the key one the
 * policy allows, and the CSR signed by its key. Returns the problems, each naming the cluster and the field.
 */
export function csrProblems(cluster: string, stack: string, policy: ClusterSigningPolicy, ca: string, request: IntermediateRequest): string[] {
    const where = `clusters[${cluster}] (stack ${stack}): ${REQUESTS_OUTPUT}.${ca}[generation ${request.generation}]`;
    const p = policy.cas[ca];
    if (!p) return [`${where}: CA kind "${ca}" is not allowed for this cluster (kube-pki:clusters[].cas lists ${Object.keys(policy.cas).join(", ")})`];
    if (!p.byCsr.includes(request.generation)) {
        return [`${where}: generation ${request.generation} is not requested by this root (kube-pki:clusters[].generations.${ca} lists ${p.generations.join(", ")})`];
    }
    let csr;
    try {
        csr = parseCsr(String(request.csrPem));
    } catch (e) {
        return [`${where}: not a certificate request (${(e as Error).message})`];
    }
    const problems: string[] = [];
    const subject = csr.subject.map((s) => (s.oid === "550403" ? `CN=${s.value}` : `${s.oid}=${s.value}`)).join(", ");
    if (csr.subject.length !== 1 || csr.commonName !== p.commonName) problems.push(`${where}: subject is "${subject}", the root signs only "CN=${p.commonName}"`);
    if (csr.dnsNames.some((d) => d !== p.commonName)) problems.push(`${where}: subjectAltName DNS names ${csr.dnsNames.join(", ")} are not allowed (only ${p.commonName})`);
    if (csr.otherRequests.length) problems.push(`${where}: requests extensions the root does not sign (${csr.otherRequests.join(", ")})`);
    if (!p.keyAlgorithms.includes(csr.keyAlgorithm)) {
        problems.push(`${where}: key ${csr.keyAlgorithm} is not allowed (kube-pki:clusters[].keyAlgorithms: ${p.keyAlgorithms.join(", ")})`);
    }
    if (!csr.signatureValid) problems.push(`${where}: the CSR's signature does not verify with its own key (no proof of possession)`);
    return problems;
}

/** One intermediate as the root publishes it. */
export interface PublishedIntermediate {
    generation: number;
    certPem: string;
    /** Only on a generation issued before the CSR handoff (the root generated its key); a secret. */
    keyPem?: string;
}

/** What a cluster stack reads from its root stack, validated. */
export interface RootStackMaterial {
    rootCertificate: string;
    policy: ClusterSigningPolicy;
    /** CA id → the generations the root has issued so far. */
    issued: Record<string, PublishedIntermediate[]>;
}

/**
 * Checks a cluster's part of a root stack's outputs (rootCertificate, signingPolicy, intermediates). Refuses a
 * missing output, a cluster the root does not list, and an intermediate that does not chain to the root or is not a CA.
 */
export function checkRootOutputs(rootStack: string, clusterName: string, rootCertificate: unknown, policies: unknown, intermediates: unknown): RootStackMaterial {
    const where = `rootStack "${rootStack}"`;
    for (const [name, value] of [["rootCertificate", rootCertificate], [POLICY_OUTPUT, policies]] as const) {
        if (value === undefined || value === null) {
            throw new ConfigError("root stack", [`${where}: output "${name}" is missing; run \`up\` on the root stack ${rootStack} first`]);
        }
    }
    const all = policies as Record<string, ClusterSigningPolicy>;
    const policy = all[clusterName];
    if (!policy) {
        throw new ConfigError("root stack", [
            `clusterName: "${clusterName}" is not listed by ${where} (it lists: ${Object.keys(all).join(", ") || "none"}); ` +
                `add it to kube-pki:clusters in the root stack's config and run \`up\` on the root stack ${rootStack}`,
        ]);
    }
    const root = new X509Certificate(String(rootCertificate));
    const mine = ((intermediates ?? {}) as Record<string, Record<string, PublishedIntermediate[]>>)[clusterName] ?? {};
    const problems: string[] = [];
    for (const [ca, list] of Object.entries(mine)) {
        for (const i of list) {
            const cert = new X509Certificate(i.certPem);
            if (!cert.checkIssued(root) || !cert.verify(root.publicKey)) {
                problems.push(`${where}: the ${ca} intermediate (generation ${i.generation}) of "${clusterName}" does not chain to the root certificate`);
            }
            if (!cert.ca) problems.push(`${where}: the ${ca} intermediate of "${clusterName}" is not a CA certificate`);
        }
    }
    if (problems.length) throw new ConfigError("root stack", problems);
    return { rootCertificate: String(rootCertificate), policy, issued: mine };
}

/** Reads a cluster's part of a root stack through a StackReference (plain outputs only: the root's secrets may stay undecryptable). */
export async function readRootStack(rootStack: string, clusterName: string): Promise<RootStackMaterial> {
    const stored = storedPlainOutputs(rootStack);
    if (stored) return checkRootOutputs(rootStack, clusterName, stored.rootCertificate, stored[POLICY_OUTPUT], stored.intermediates);
    const ref = new pulumi.StackReference(rootStack);
    const [rootCertificate, policies, intermediates] = await Promise.all(["rootCertificate", POLICY_OUTPUT, "intermediates"].map((o) => ref.getOutputDetails(o)));
    return checkRootOutputs(rootStack, clusterName, rootCertificate.value, policies.value, intermediates.value ?? intermediates.secretValue);
}

/** Reads the CSRs a cluster stack publishes (undefined: none yet — a new stack, or one not yet `up`). */
export async function readClusterRequests(stack: string): Promise<Record<string, IntermediateRequest[]> | undefined> {
    let stored: Record<string, unknown> | undefined;
    try {
        stored = storedPlainOutputs(stack);
    } catch (e) {
        // a cluster stack that does not exist yet has published nothing: the root waits for it (awaitingRequests)
        if (e instanceof ConfigError && /no stack named/.test(e.message)) return undefined;
        throw e;
    }
    const value = stored ? stored[REQUESTS_OUTPUT] : (await new pulumi.StackReference(stack).getOutputDetails(REQUESTS_OUTPUT)).value;
    return value && typeof value === "object" ? (value as Record<string, IntermediateRequest[]>) : undefined;
}

/** Whether a certificate answers a CSR: the same public key. */
export function certAnswersCsr(certPem: string, csrPem: string): boolean {
    try {
        return spkiOf(new X509Certificate(certPem).publicKey) === spkiOf(parseCsr(csrPem).publicKey);
    } catch {
        return false;
    }
}

/**
 * The plain outputs of another stack as stored in the backend, read with `pulumi stack export` (which never
 * decrypts), or undefined when this run is not under the Pulumi CLI with a backend URL (unit tests, Pulumi Cloud):
 * then the caller uses a StackReference. Why not always a StackReference: the engine constructs the referenced
 * stack's secrets manager first, and with a cloud KMS (`hashivault://`, awskms://, ...) that needs decrypt rights on
 * the other stack's key — which a cluster operator must not have (docs/multi-stack.md#separate-secrets).
 */
export function storedPlainOutputs(stack: string): Record<string, unknown> | undefined {
    if (!process.env.PULUMI_BACKEND_URL) return undefined;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
    const r = spawnSync("pulumi", ["stack", "export", "--stack", stack, "--non-interactive"], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "pipe"] });
    if (r.error) return undefined; // no CLI on PATH: StackReference
    if (r.status !== 0) {
        throw new ConfigError("stack reference", [`${stack}: \`pulumi stack export\` failed: ${(r.stderr || "").trim().split("\n").slice(-1)[0]} (does the stack exist? \`pulumi stack init\` it first)`]);
    }
    const resources = (JSON.parse(r.stdout)?.deployment?.resources ?? []) as { type: string; outputs?: Record<string, unknown> }[];
    const outputs = resources.find((x) => x.type === "pulumi:pulumi:Stack")?.outputs ?? {};
    const SECRET_SIG = "4dabf18193072939515e22adb298388d";
    const plain = (v: unknown): unknown =>
        v && typeof v === "object"
            ? (v as Record<string, unknown>)[SECRET_SIG]
                ? undefined
                : Array.isArray(v)
                  ? v.map(plain)
                  : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
            : v;
    return plain(outputs) as Record<string, unknown>;
}
