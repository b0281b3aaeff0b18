/** Secrecy: no private key in a plain stack output, no CA private key in a Kubernetes Secret unless opted in. */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { CA_KEY_OPT_IN_ANNOTATION, config, globMatch, isUnknown, known, raw, schema, SECRET_PATHS, T } from "./common";

// ---------------------------------------------------------------------------------------------------------------
// Secrecy

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----|client-key-data:\s*[A-Za-z0-9+/=]{16}/;

/**
 * Paths of the plain (not secret) strings under `value` that hold private key material: a PEM private key, or a
 * kubeconfig's client-key-data. Values not known yet are skipped: the Node.js SDK sends an unknown Output as the bare
 * unknown sentinel, secret or not, so during a preview of new resources secrecy cannot be judged (README).
 */
export function plainKeyMaterial(value: unknown, secretPaths: Set<string>, path: string[] = []): string[] {
    if (path.length && secretPaths.has(path.join("."))) return [];
    if (isUnknown(value)) return [];
    if (typeof value === "string") return PEM_PRIVATE_KEY.test(value) ? [path.join(".")] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => plainKeyMaterial(v, secretPaths, [...path, String(i)]));
    if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => plainKeyMaterial(v, secretPaths, [...path, k]));
    return [];
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
        const secretPaths = new Set<string>(recorded);
        for (const at of plainKeyMaterial(outputs, secretPaths)) {
            report(`stack output "${at}" holds a private key in plain text (stored unencrypted in the state and printed by \`pulumi stack output\`); export it with pulumi.secret()`, stack.urn);
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
