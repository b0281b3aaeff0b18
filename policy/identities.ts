/** Identities and key usages: system:masters, cert_signing on CAs only, SANs on server certificates. */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { config, globMatch, hasUnknown, isUnknown, known, lineageNames, raw, schema, strings, T, TLS_CERTS } from "./common";

// ---------------------------------------------------------------------------------------------------------------
// Identities

const SYSTEM_MASTERS = "system:masters";

function organizations(subject: unknown): string[] {
    const s = known(subject) as Record<string, any> | undefined;
    if (!s || typeof s !== "object") return [];
    const o = known(s.organization);
    return Array.isArray(o) ? o.filter((x) => typeof x === "string") : typeof o === "string" ? [o] : [];
}

function allowedUses(p: Record<string, any>): string[] | undefined {
    return strings(p.allowedUses);
}

export const systemMasters: StackValidationPolicy = {
    name: "pki-system-masters",
    description: "No client certificate with O=system:masters (it bypasses RBAC) except the allow-list (kube-pki's super-admin.conf).",
    enforcementLevel: "mandatory",
    configSchema: schema("systemMastersAllowList"),
    validateStack: (args, report) => {
        const allow = config(args).systemMastersAllowList;
        const allowed = (r: PolicyResource) => lineageNames(r).some((n) => allow.some((g) => globMatch(g, n)));
        const flag = (r: PolicyResource, what: string) => {
            if (allowed(r)) return;
            report(`${r.name}: ${what} with O=${SYSTEM_MASTERS} (cluster-admin that RBAC cannot revoke); bind a group with a ClusterRoleBinding instead, or add the name to systemMastersAllowList`, r.urn);
        };
        for (const r of args.resources) {
            const p = raw(r.props);
            if (r.type === T.selfSigned && organizations(p.subject).includes(SYSTEM_MASTERS) && (allowedUses(p) ?? []).includes("client_auth")) {
                flag(r, "self-signed client certificate");
            }
            if (r.type === T.locallySigned) {
                const uses = allowedUses(p);
                if (uses && !uses.includes("client_auth")) continue;
                const csr = (r.propertyDependencies?.certRequestPem ?? []).find((d) => d.type === T.certRequest);
                if (csr && organizations(raw(csr.props).subject).includes(SYSTEM_MASTERS) && !allowed(csr)) flag(r, "client certificate");
            }
            if (r.type === T.vaultRole && (strings(p.organizations) ?? []).includes(SYSTEM_MASTERS) && known(p.clientFlag) !== false) {
                flag(r, "Vault role issuing client certificates");
            }
        }
    },
};

export const caCertSigning: ResourceValidationPolicy = {
    name: "pki-ca-cert-signing",
    description: "A CA certificate carries the cert_signing key usage (else nothing it signs verifies).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = raw(args.props);
        if (TLS_CERTS.includes(args.type) && known(p.isCaCertificate) === true) {
            const uses = allowedUses(p);
            if (uses && !uses.includes("cert_signing")) report(`CA certificate without "cert_signing" in allowedUses (${uses.join(", ") || "none"}); add it (kubeadm CAs: digital_signature, key_encipherment, cert_signing)`);
        }
        if (args.type === T.vaultRoot || args.type === T.vaultSignIntermediate) {
            const uses = strings(p.keyUsages);
            if (uses && uses.length && !uses.some((u) => /^certsign$/i.test(u))) report(`Vault CA keyUsages (${uses.join(", ")}) lack CertSign`);
        }
    },
};

export const leafCertSigning: ResourceValidationPolicy = {
    name: "pki-leaf-cert-signing",
    description: "A leaf (non-CA) certificate does not carry the cert_signing key usage.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = raw(args.props);
        if (TLS_CERTS.includes(args.type) && known(p.isCaCertificate) !== true && !isUnknown(p.isCaCertificate)) {
            if ((allowedUses(p) ?? []).includes("cert_signing")) report(`leaf certificate with "cert_signing" in allowedUses; remove it, or make it a CA (isCaCertificate: true) on purpose`);
        }
        if (args.type === T.vaultRole && (strings(p.keyUsages) ?? []).some((u) => /^certsign$/i.test(u))) {
            report(`Vault role issues leaves with the CertSign key usage; remove it from keyUsages`);
        }
    },
};

function sans(p: Record<string, any>): { count: number; unknown: boolean } {
    const fields = [p.dnsNames, p.ipAddresses, p.uris];
    return { count: fields.reduce((n, f) => n + (strings(f)?.length ?? 0), 0), unknown: fields.some(hasUnknown) };
}

export const serverCertSans: StackValidationPolicy = {
    name: "pki-server-cert-sans",
    description: "A server certificate (server_auth) names its hosts in SANs (clients ignore the CN since Go 1.15).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        for (const r of args.resources) {
            if (!TLS_CERTS.includes(r.type)) continue;
            const p = raw(r.props);
            if (!(allowedUses(p) ?? []).includes("server_auth")) continue;
            let source: Record<string, any> = p;
            if (r.type === T.locallySigned) {
                const csr = (r.propertyDependencies?.certRequestPem ?? []).find((d) => d.type === T.certRequest);
                if (!csr) continue; // a CSR made elsewhere: its SANs are not visible
                source = raw(csr.props);
            }
            const s = sans(source);
            if (s.count === 0 && !s.unknown) report(`${r.name}: server certificate (server_auth) without SANs; set dnsNames/ipAddresses${r.type === T.locallySigned ? " on its CertRequest" : ""}`, r.urn);
        }
    },
};
