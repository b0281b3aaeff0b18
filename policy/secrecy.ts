/** Secrecy: no private key in a plain stack output, no CA private key in a Kubernetes Secret unless opted in. */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { findKeyMaterial, type KeyFinding } from "./key-material";
import { CA_KEY_OPT_IN_ANNOTATION, config, globMatch, isUnknown, known, raw, schema, SECRET_PATHS, T } from "./common";

// ---------------------------------------------------------------------------------------------------------------
// Secrecy

/**
 * The plain (not secret) places under `value` that hold private key material, however wrapped (key-material.ts:
 * PEM, base64, hex DER, JWK, JSON, YAML, kubeconfig, Secret, cloud-init, gzip). Values not known yet are skipped:
 * the Node.js SDK sends an unknown Output as the bare unknown sentinel, secret or not, so during a preview of new
 * resources secrecy cannot be judged (docs/policy.md).
 */
export function plainKeyMaterial(value: unknown, secretPaths: Set<string>, knownKeys: string[] = []): KeyFinding[] {
    return findKeyMaterial(value, { skip: (path) => secretPaths.has(path.join(".")), isUnknown, knownKeys });
}

/** The private keys the stack's tls PrivateKeys hold (known values; a stack policy sees secrets unwrapped). */
function stackKeys(resources: PolicyResource[]): string[] {
    const out: string[] = [];
    for (const r of resources.filter((x) => x.type === T.privateKey)) {
        const p = raw(r.props);
        for (const k of [p.privateKeyPem, p.privateKeyPemPkcs8]) if (typeof k === "string" && !isUnknown(k)) out.push(k);
    }
    return out;
}

/** "YAML → client-key-data at users.0.user.client-key-data": how the key was found, never the key. */
function describe(f: KeyFinding): string {
    return `${f.via.join(" → ")}${f.inner.length ? ` at ${f.inner.join(".")}` : ""}`;
}

export const plainKeyOutput: StackValidationPolicy = {
    name: "pki-plain-key-output",
    description: "No private key material in a plain (non-secret) stack output: wrap it in pulumi.secret().",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const stack = args.resources.find((r) => r.type === T.stack && !r.parent);
        if (!stack) return;
        const outputs = raw(stack.props);
        const recorded = (outputs as any)[SECRET_PATHS];
        if (!Array.isArray(recorded)) {
            report(`cannot tell secret from plain stack outputs: the pack's secret-marker hook is not installed (policy/index.ts)`, stack.urn);
            return;
        }
        const byOutput = new Map<string, KeyFinding[]>();
        for (const f of plainKeyMaterial(outputs, new Set<string>(recorded), stackKeys(args.resources))) {
            const at = f.path.join(".");
            byOutput.set(at, [...(byOutput.get(at) ?? []), f]);
        }
        for (const [at, found] of byOutput) {
            const shown = found.slice(0, 3).map(describe).join("; ") + (found.length > 3 ? `; +${found.length - 3} more` : "");
            report(
                `stack output "${at}" holds a private key in plain text (${shown}): it is stored unencrypted in the state and printed by \`pulumi stack output\`; export it with pulumi.secret()`,
                stack.urn,
            );
        }
    },
};

/** tls PrivateKeys that sign: the caPrivateKeyPem of a LocallySignedCert, or the key of a self-signed CA. */
function caKeyUrns(resources: PolicyResource[]): Set<string> {
    const urns = new Set<string>();
    for (const r of resources) {
        if (r.type === T.locallySigned) for (const d of r.propertyDependencies?.caPrivateKeyPem ?? []) if (d.type === T.privateKey) urns.add(d.urn);
        if (r.type === T.selfSigned && known(raw(r.props).isCaCertificate) === true) {
            for (const d of r.propertyDependencies?.privateKeyPem ?? []) if (d.type === T.privateKey) urns.add(d.urn);
        }
    }
    return urns;
}

const CA_KEY_DATA_NAME = /(^|[-_./])ca[-_.]?key$|^ca\.key$/i;

export const caKeySecret: StackValidationPolicy = {
    name: "pki-ca-key-secret",
    description: `No CA private key in a Kubernetes Secret unless opted in (annotation ${CA_KEY_OPT_IN_ANNOTATION}: "true", or caKeySecretAllowList).`,
    enforcementLevel: "mandatory",
    configSchema: schema("caKeySecretAllowList"),
    validateStack: (args, report) => {
        const allow = config(args).caKeySecretAllowList;
        const caKeys = caKeyUrns(args.resources);
        for (const r of args.resources.filter((x) => x.type === T.k8sSecret)) {
            const p = raw(r.props);
            const meta = (known(p.metadata) ?? {}) as Record<string, any>;
            const annotations = (known(meta.annotations) ?? {}) as Record<string, any>;
            const labels = (known(meta.labels) ?? {}) as Record<string, any>;
            const ref = `${known(meta.namespace) ?? "default"}/${known(meta.name) ?? r.name}`;
            if (String(annotations[CA_KEY_OPT_IN_ANNOTATION]) === "true") continue;
            if (allow.some((g) => globMatch(g, r.name) || globMatch(g, ref))) continue;
            const reasons: string[] = [];
            if (labels["kube-pki.io/kind"] === "ca-key") reasons.push(`label kube-pki.io/kind=ca-key`);
            const dataNames = [p.data, p.stringData].flatMap((d) => (d && typeof d === "object" && !isUnknown(d) ? Object.keys(d) : []));
            const named = dataNames.filter((k) => CA_KEY_DATA_NAME.test(k));
            if (named.length) reasons.push(`data key ${named.join(", ")}`);
            const deps = [...(r.propertyDependencies?.data ?? []), ...(r.propertyDependencies?.stringData ?? [])];
            const signing = deps.filter((d) => caKeys.has(d.urn));
            if (signing.length) reasons.push(`data from the CA key ${signing.map((d) => d.name).join(", ")}`);
            if (reasons.length) {
                report(
                    `Secret ${ref} (${r.name}) holds a CA private key (${reasons.join("; ")}): anyone who can read Secrets in its namespace can mint any identity. ` +
                        `Keep CA keys out of the cluster, or opt in with the annotation ${CA_KEY_OPT_IN_ANNOTATION}: "true" or caKeySecretAllowList`,
                    r.urn,
                );
            }
        }
    },
};
