/** Key strength and certificate lifetimes: kubeadm's RSA-2048 / ECDSA-P256, 1-year leaves, 10-year CAs, no leaf outliving its CA. */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { config, fmtHours, isUnknown, known, PkiPolicyConfig, raw, schema, T, TLS_CERTS, vaultDurationHours } from "./common";

// ---------------------------------------------------------------------------------------------------------------
// Key strength

const CURVE_BITS: Record<string, number> = { P224: 224, P256: 256, P384: 384, P521: 521 };

/** Problems of one resource's key (tls PrivateKey, Vault keys and roles), or []. */
function keyStrengthProblems(type: string, p: Record<string, any>, cfg: PkiPolicyConfig): string[] {
    if (type === T.privateKey) {
        const algorithm = known(p.algorithm);
        if (algorithm === "RSA") {
            const bits = known(p.rsaBits) ?? 2048; // the tls provider's default
            return bits < cfg.minRsaBits ? [`RSA key of ${bits} bits; use rsaBits >= ${cfg.minRsaBits} (kubeadm: RSA-2048)`] : [];
        }
        if (algorithm === "ECDSA") {
            if (isUnknown(p.ecdsaCurve)) return [];
            const curve = known(p.ecdsaCurve) ?? "P224"; // the tls provider's default curve
            const bits = CURVE_BITS[curve] ?? 0;
            const dflt = p.ecdsaCurve === undefined ? " (the tls provider's default when ecdsaCurve is not set)" : "";
            return bits < cfg.minEcdsaBits ? [`ECDSA key on curve ${curve}${dflt}; set ecdsaCurve: "P256" or stronger (kubeadm: ECDSA-P256)`] : [];
        }
        return [];
    }
    if ([T.vaultRoot, T.vaultIntermediateCsr, T.vaultKey, T.vaultRole].includes(type as any)) {
        if (type === T.vaultRoot && (known(p.type) === "existing" || p.keyRef)) return []; // an existing key: judged where it was made
        const keyType = String(known(p.keyType) ?? "rsa");
        const bits = Number(known(p.keyBits) ?? 0);
        if (keyType === "rsa" && bits !== 0 && bits < cfg.minRsaBits) return [`Vault key_type rsa with key_bits ${bits}; use key_bits >= ${cfg.minRsaBits}`];
        if (keyType === "ec" && bits !== 0 && bits < cfg.minEcdsaBits) return [`Vault key_type ec with key_bits ${bits}; use key_bits >= ${cfg.minEcdsaBits} (P-256)`];
        return [];
    }
    return [];
}

export const keyStrength: ResourceValidationPolicy = {
    name: "pki-key-strength",
    description: "Private keys: RSA of at least 2048 bits, ECDSA on P-256 or stronger (tls PrivateKey, Vault PKI keys and roles).",
    enforcementLevel: "mandatory",
    configSchema: schema("minRsaBits", "minEcdsaBits"),
    validateResource: (args, report) => {
        for (const m of keyStrengthProblems(args.type, raw(args.props), config(args))) report(m);
    },
};

// ---------------------------------------------------------------------------------------------------------------
// Lifetimes

/** A certificate's kind and validity in hours as declared by its resource, when the resource is a certificate. */
function certLifetime(type: string, p: Record<string, any>): { isCa: boolean; hours?: number; field: string } | undefined {
    if (TLS_CERTS.includes(type)) {
        const isCa = known(p.isCaCertificate) === true;
        const h = known(p.validityPeriodHours);
        return { isCa, hours: typeof h === "number" ? h : undefined, field: "validityPeriodHours" };
    }
    if (type === T.vaultRoot || type === T.vaultSignIntermediate) return { isCa: true, hours: vaultDurationHours(p.ttl), field: "ttl" };
    if (type === T.vaultCert || type === T.vaultSign) return { isCa: false, hours: vaultDurationHours(p.ttl), field: "ttl" };
    if (type === T.vaultRole) {
        const hours = Math.max(vaultDurationHours(p.maxTtl) ?? 0, vaultDurationHours(p.ttl) ?? 0);
        return { isCa: false, hours: hours || undefined, field: "maxTtl/ttl" };
    }
    return undefined;
}

/** A maximum-lifetime policy for leaves or for CAs: the same check with its own threshold and advice. */
function maxLifetime(name: string, description: string, kind: "leaf" | "CA", key: "leafMaxHours" | "caMaxHours", advice: string): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        configSchema: schema(key),
        validateResource: (args, report) => {
            const life = certLifetime(args.type, raw(args.props));
            const max = config(args)[key];
            if (life && life.isCa === (kind === "CA") && life.hours !== undefined && life.hours > max) {
                report(`${kind} certificate valid for ${fmtHours(life.hours)} (${life.field}); the maximum is ${max}h${advice}`);
            }
        },
    };
}

export const leafMaxLifetime = maxLifetime(
    "pki-leaf-max-lifetime",
    "Leaf certificates live at most leafMaxHours (default 8760h, kubeadm's 1 year).",
    "leaf",
    "leafMaxHours",
    ": shorten it and renew instead",
);

export const caMaxLifetime = maxLifetime("pki-ca-max-lifetime", "CA certificates live at most caMaxHours (default 87600h, kubeadm's 10 years).", "CA", "caMaxHours", "");

/** notAfter (ms) of a tls certificate: its validityEndTime when known, else now + validityPeriodHours. */
function tlsNotAfter(p: Record<string, any>, nowMs: number): number | undefined {
    const end = known(p.validityEndTime);
    if (typeof end === "string" && end && !Number.isNaN(Date.parse(end))) return Date.parse(end);
    const h = known(p.validityPeriodHours);
    return typeof h === "number" ? nowMs + h * 3_600_000 : undefined;
}

/** The tls CA certificate resource a LocallySignedCert's caCertPem comes from, when the stack holds it. */
function issuingCa(leaf: PolicyResource): PolicyResource | undefined {
    return (leaf.propertyDependencies?.caCertPem ?? []).find((d) => TLS_CERTS.includes(d.type));
}

export const leafOutlivesCa: StackValidationPolicy = {
    name: "pki-leaf-outlives-ca",
    description: "A tls LocallySignedCert must not outlive the CA certificate that signs it (when both are in the stack).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const now = Date.now();
        for (const leaf of args.resources.filter((r) => r.type === T.locallySigned)) {
            const ca = issuingCa(leaf);
            if (!ca) continue;
            const leafEnd = tlsNotAfter(raw(leaf.props), now);
            const caEnd = tlsNotAfter(raw(ca.props), now);
            if (leafEnd === undefined || caEnd === undefined) continue;
            if (leafEnd > caEnd) {
                report(
                    `${leaf.name} would expire ${new Date(leafEnd).toISOString()}, after its CA ${ca.name} (${new Date(caEnd).toISOString()}); ` +
                        `shorten the leaf's validityPeriodHours or renew the CA first`,
                    leaf.urn,
                );
            }
        }
    },
};
