/** The four tls resources (PrivateKey, SelfSignedCert, LocallySignedCert, CertRequest) and getPublicKey, emulated from the provider's Go code. */
import { HOUR_MS } from "../../../../components/time";
import { createHash } from "node:crypto";
import { CertParent, CertTemplate, createCertificate, createCertificateRequest, EcdsaCurve, EXT_KEY_USAGES, generateKey, GoName, goNameIsZero, goTimeText, KEY_USAGES, KeyAlgorithm, parseCertificatePem, parseCsrPem, parseIp, ParsedKey, pemEncode, privateKeyAttributes, ProviderError, publicKeyAttributes, randomSerial, Sans, SubjectInput, subjectKeyId, subjectToGoName, SUPPORTED_USAGES } from "../../tls-crypto";
import { Emulation, HandlerContext, HandlerResult, StoredResource } from "./types";
import { toPlain } from "./values";
import { atLeast, checkFailure, keyPemInput, oneOf, parseKeyOrThrow, providerError, q, requireKnown, stringList } from "./validation";

// ------------------------------------------------------------------------------------------ tls emulations

export const privateKeyEmulation: Emulation = {
    create(ctx) {
        const { algorithm, rsaBits, ecdsaCurve } = ctx.inputs;
        requireKnown(ctx, "algorithm", "algorithm", algorithm);
        oneOf(ctx, "algorithm", "algorithm", algorithm, ["RSA", "ECDSA", "ED25519"]);
        oneOf(ctx, "ecdsaCurve", "ecdsa_curve", ecdsaCurve, ["P224", "P256", "P384", "P521"]);
        if (rsaBits !== undefined && (typeof rsaBits !== "number" || !Number.isInteger(rsaBits))) {
            throw checkFailure(ctx, "rsaBits", `Attribute rsa_bits: expected an integer, got ${q(String(rsaBits))}`);
        }
        const state: Record<string, any> = {
            ...ctx.rawInputs,
            rsaBits: ctx.unknownInputs.has("rsaBits") ? ctx.rawInputs.rsaBits : rsaBits ?? 2048,
            ecdsaCurve: ctx.unknownInputs.has("ecdsaCurve") ? ctx.rawInputs.ecdsaCurve : ecdsaCurve ?? "P224",
        };
        if (ctx.preview || ctx.unknownInputs.size > 0) return { state };
        const key = generateKey(algorithm as KeyAlgorithm, state.rsaBits, state.ecdsaCurve as EcdsaCurve);
        const { id, ...attrs } = privateKeyAttributes(key);
        return { id, state: { ...state, ...attrs } };
    },
};

/** ready_for_renewal at plan time (attribute_plan_modifier_bool.ReadyForRenewal). */
function plannedReadyForRenewal(validity: number, early: number): boolean {
    return validity === 0 || early >= validity;
}

/** modifyPlanIfCertificateReadyForRenewal / modifyStateIfCertificateReadyForRenewal. */
function dueForRenewal(outputs: Record<string, any>, now: Date, early: number): boolean {
    const end = outputs.validityEndTime;
    if (typeof end !== "string") return false;
    return Date.parse(end) - early * HOUR_MS <= now.getTime();
}

const certEmulationBase = {
    updatableInputs: ["earlyRenewalHours"],
    writeOnlyInputs: ["privateKeyPemWo", "caPrivateKeyPemWo"],
    replaceIf(prior: StoredResource, now: Date, inputs: Record<string, any>) {
        return dueForRenewal(toPlain(prior.outputs, () => undefined), now, inputs.earlyRenewalHours ?? 0)
            ? "readyForRenewal"
            : undefined;
    },
    update(ctx: HandlerContext): HandlerResult {
        return {
            id: ctx.prior!.id,
            state: { ...ctx.prior!.outputs, ...ctx.rawInputs, earlyRenewalHours: ctx.inputs.earlyRenewalHours ?? 0, readyForRenewal: false },
        };
    },
    refresh(prior: StoredResource, now: Date) {
        const plain = toPlain(prior.outputs, () => undefined);
        return dueForRenewal(plain, now, plain.earlyRenewalHours ?? 0) ? { ...prior.outputs, readyForRenewal: true } : prior.outputs;
    },
};

interface CommonCertInputs {
    validityPeriodHours?: number;
    earlyRenewalHours?: number;
    allowedUses?: string[];
    isCaCertificate?: boolean;
    maxPathLength?: number;
    setSubjectKeyId?: boolean;
}

function validateCommonCert(ctx: HandlerContext): CommonCertInputs {
    const i = ctx.inputs;
    requireKnown(ctx, "validityPeriodHours", "validity_period_hours", i.validityPeriodHours);
    requireKnown(ctx, "allowedUses", "allowed_uses", i.allowedUses);
    atLeast(ctx, "validityPeriodHours", "validity_period_hours", i.validityPeriodHours, 0);
    atLeast(ctx, "earlyRenewalHours", "early_renewal_hours", i.earlyRenewalHours, 0);
    atLeast(ctx, "maxPathLength", "max_path_length", i.maxPathLength, -1);
    const uses = stringList(ctx, "allowedUses", "allowed_uses", i.allowedUses);
    uses?.forEach((u, idx) => {
        if (u === undefined) return;
        if (!SUPPORTED_USAGES.includes(u)) {
            const list = SUPPORTED_USAGES.map((a) => q(q(a))).join(" ");
            throw checkFailure(ctx, `allowedUses[${idx}]`, `Attribute allowed_uses[${idx}] value must be one of: [${list}], got: ${q(q(u))}`);
        }
    });
    return i as CommonCertInputs;
}

/** Defaults the provider plans for a certificate, plus the plan-time ready_for_renewal. */
function certPlannedState(ctx: HandlerContext, extra: Record<string, any>): Record<string, any> {
    const i = ctx.inputs;
    const known = (k: string) => !ctx.unknownInputs.has(k);
    const state: Record<string, any> = {
        ...ctx.rawInputs,
        earlyRenewalHours: known("earlyRenewalHours") ? i.earlyRenewalHours ?? 0 : ctx.rawInputs.earlyRenewalHours,
        isCaCertificate: known("isCaCertificate") ? i.isCaCertificate ?? false : ctx.rawInputs.isCaCertificate,
        setSubjectKeyId: known("setSubjectKeyId") ? i.setSubjectKeyId ?? false : ctx.rawInputs.setSubjectKeyId,
        maxPathLength: known("maxPathLength") ? i.maxPathLength ?? -1 : ctx.rawInputs.maxPathLength,
        ...extra,
    };
    // write-only attributes are never stored
    for (const k of Object.keys(state)) if (/Wo$/.test(k)) delete state[k];
    if (known("validityPeriodHours") && known("earlyRenewalHours") && typeof i.validityPeriodHours === "number") {
        state.readyForRenewal = plannedReadyForRenewal(i.validityPeriodHours, i.earlyRenewalHours ?? 0);
    } else {
        delete state.readyForRenewal;
    }
    return state;
}

function sansFromInputs(ctx: HandlerContext): Sans {
    const dnsNames = stringList(ctx, "dnsNames", "dns_names", ctx.inputs.dnsNames) ?? [];
    const ipStrings = stringList(ctx, "ipAddresses", "ip_addresses", ctx.inputs.ipAddresses, 1) ?? [];
    const uris = stringList(ctx, "uris", "uris", ctx.inputs.uris, 1) ?? [];
    const ipAddresses = ipStrings.map((s) => {
        const ip = parseIp(s);
        if (!ip) throw new ProviderError("Invalid IP address", `Failed to parse ${q(s)}`);
        return ip;
    });
    for (const u of uris) {
        // the few things Go's url.Parse rejects
        if (/[\x00-\x1f\x7f]/.test(u)) throw new ProviderError("Invalid URI", `Failed to parse ${q(u)}: parse ${q(u)}: net/url: invalid control character in URL`);
        if (u.startsWith(":")) throw new ProviderError("Invalid URI", `Failed to parse ${q(u)}: parse ${q(u)}: missing protocol scheme`);
        const bad = /%(?![0-9a-fA-F]{2})(.{0,2})/.exec(u);
        if (bad) throw new ProviderError("Invalid URI", `Failed to parse ${q(u)}: parse ${q(u)}: invalid URL escape ${q("%" + bad[1])}`);
    }
    return { dnsNames, emailAddresses: [], ipAddresses, uris };
}

/** common_cert.go createCertificate: everything the provider sets on the template before x509.CreateCertificate. */
async function issue(
    ctx: HandlerContext,
    template: { subject: GoName; subjectIsZero: boolean; sans: Sans },
    parent: CertParent | "self",
    pub: ParsedKey["publicKey"],
    signer: ParsedKey,
    setAuthorityKeyId: boolean,
): Promise<{ certPem: string; serial: bigint; notBefore: Date; notAfter: Date }> {
    const i = ctx.inputs as CommonCertInputs;
    const notBefore = ctx.now;
    const notAfter = new Date(notBefore.getTime() + (i.validityPeriodHours ?? 0) * HOUR_MS);
    const serial = randomSerial();
    const t: CertTemplate = {
        subject: template.subject,
        sans: template.sans,
        notBefore,
        notAfter,
        serial,
        keyUsage: 0,
        extKeyUsage: [],
        isCA: false,
        maxPathLen: 0,
    };
    for (const use of i.allowedUses ?? []) {
        if (KEY_USAGES[use] !== undefined) t.keyUsage |= KEY_USAGES[use];
        if (EXT_KEY_USAGES[use] !== undefined) t.extKeyUsage.push(EXT_KEY_USAGES[use]);
    }
    if (i.isCaCertificate === true) {
        if (template.subjectIsZero) {
            throw new ProviderError(
                "Invalid Certificate Subject",
                "Must contain at least one Distinguished Name when creating Certificate Authority (CA)",
            );
        }
        t.isCA = true;
        t.subjectKeyId = subjectKeyId(pub);
    }
    if (typeof i.maxPathLength === "number" && i.maxPathLength >= 0) t.maxPathLen = i.maxPathLength;
    if (i.setSubjectKeyId === true) t.subjectKeyId = subjectKeyId(pub);
    if (setAuthorityKeyId) {
        // self-signed only: the parent is the template itself
        const parentSkid = parent === "self" ? t.subjectKeyId : parent.subjectKeyId;
        if (!parentSkid || parentSkid.length === 0) {
            throw new ProviderError("Invalid Certificate Authority", "Could not determine Authority Key Identifier");
        }
        t.authorityKeyId = parentSkid;
    }
    let der: Buffer;
    try {
        der = await createCertificate(t, parent, pub, signer);
    } catch (e) {
        throw providerError("Failed to create certificate", e);
    }
    return { certPem: pemEncode("CERTIFICATE", der), serial, notBefore, notAfter };
}

function subjectInput(ctx: HandlerContext): { subject: GoName; subjectIsZero: boolean } {
    const s = ctx.inputs.subject;
    if (s !== undefined && s !== null && (typeof s !== "object" || Array.isArray(s))) {
        throw checkFailure(ctx, "subject", "Attribute subject: expected an object");
    }
    const subject = subjectToGoName(s as SubjectInput | undefined);
    return { subject, subjectIsZero: goNameIsZero(subject) };
}

export const selfSignedCertEmulation: Emulation = {
    ...certEmulationBase,
    async create(ctx) {
        validateCommonCert(ctx);
        const keyPem = keyPemInput(ctx, "privateKeyPem", "private_key_pem");
        const state = certPlannedState(ctx, {
            setAuthorityKeyId: ctx.unknownInputs.has("setAuthorityKeyId") ? ctx.rawInputs.setAuthorityKeyId : ctx.inputs.setAuthorityKeyId ?? false,
        });
        if (ctx.preview || ctx.unknownInputs.size > 0 || keyPem === undefined) return { state };

        const key = parseKeyOrThrow(keyPem, "Failed to parse private key PEM");
        const subject = subjectInput(ctx);
        const sans = sansFromInputs(ctx);
        const cert = await issue(ctx, { ...subject, sans }, "self", key.publicKey, key, ctx.inputs.setAuthorityKeyId === true);
        return {
            id: cert.serial.toString(10),
            state: {
                ...state,
                keyAlgorithm: key.algorithm,
                certPem: cert.certPem,
                validityStartTime: goTimeText(cert.notBefore),
                validityEndTime: goTimeText(cert.notAfter),
            },
        };
    },
};

export const locallySignedCertEmulation: Emulation = {
    ...certEmulationBase,
    async create(ctx) {
        validateCommonCert(ctx);
        requireKnown(ctx, "certRequestPem", "cert_request_pem", ctx.inputs.certRequestPem);
        requireKnown(ctx, "caCertPem", "ca_cert_pem", ctx.inputs.caCertPem);
        const caKeyPem = keyPemInput(ctx, "caPrivateKeyPem", "ca_private_key_pem");
        const state = certPlannedState(ctx, {});
        if (ctx.preview || ctx.unknownInputs.size > 0 || caKeyPem === undefined) return { state };

        let csr;
        try {
            csr = parseCsrPem(ctx.inputs.certRequestPem);
        } catch (e) {
            throw providerError("Failed to parse certificate request PEM", e);
        }
        const caKey = parseKeyOrThrow(caKeyPem, "Failed to parse CA private key PEM");
        let caCert;
        try {
            caCert = parseCertificatePem(ctx.inputs.caCertPem);
        } catch (e) {
            throw providerError("Failed to parse CA certificate PEM", e);
        }
        if (!caCert.isCA) {
            ctx.emulator.warnings.push({
                urn: ctx.urn,
                summary: "Potentially Invalid Certificate Authority",
                detail:
                    "Certificate provided as Authority does not appear to be a valid Certificate Authority. " +
                    "The resulting certificate might fail certificate validation.",
            });
        }
        // template: Subject, DNSNames, IPAddresses, URIs from the CSR (email SANs and requested extensions are dropped)
        const sans: Sans = { ...csr.sans, emailAddresses: [] };
        const cert = await issue(
            ctx,
            { subject: csr.subject, subjectIsZero: goNameIsZero(csr.subject), sans },
            { subjectDer: caCert.subjectDer, subjectKeyId: caCert.subjectKeyId, spki: caCert.spki },
            csr.publicKey,
            caKey,
            false,
        );
        return {
            id: cert.serial.toString(10),
            state: {
                ...state,
                caKeyAlgorithm: caKey.algorithm,
                certPem: cert.certPem,
                validityStartTime: goTimeText(cert.notBefore),
                validityEndTime: goTimeText(cert.notAfter),
            },
        };
    },
};

export const certRequestEmulation: Emulation = {
    writeOnlyInputs: ["privateKeyPemWo"],
    async create(ctx) {
        const keyPem = keyPemInput(ctx, "privateKeyPem", "private_key_pem");
        stringList(ctx, "ipAddresses", "ip_addresses", ctx.inputs.ipAddresses, 1);
        stringList(ctx, "uris", "uris", ctx.inputs.uris, 1);
        const state: Record<string, any> = { ...ctx.rawInputs };
        for (const k of Object.keys(state)) if (/Wo$/.test(k)) delete state[k];
        if (ctx.preview || ctx.unknownInputs.size > 0 || keyPem === undefined) return { state };

        const key = parseKeyOrThrow(keyPem, "Failed to parse private key PEM");
        const { subject } = subjectInput(ctx);
        const sans = sansFromInputs(ctx);
        let der: Buffer;
        try {
            der = await createCertificateRequest(subject, sans, key);
        } catch (e) {
            throw providerError("Error creating certificate request", e);
        }
        return {
            id: createHash("sha1").update(der).digest("hex"),
            state: { ...state, keyAlgorithm: key.algorithm, certRequestPem: pemEncode("CERTIFICATE REQUEST", der) },
        };
    },
};

export function getPublicKeyCall(inputs: Record<string, any>): Record<string, any> {
    const { privateKeyPem, privateKeyOpenssh } = inputs;
    if ((privateKeyPem === undefined) === (privateKeyOpenssh === undefined)) {
        throw new Error(
            "Invalid Attribute Combination: Exactly one of these attributes must be configured: [private_key_pem,private_key_openssh]",
        );
    }
    if (privateKeyOpenssh !== undefined) {
        throw new Error("tls emulator: getPublicKey with privateKeyOpenssh is not emulated (use privateKeyPem)");
    }
    const key = parseKeyOrThrow(privateKeyPem, "Unable to parse private key");
    return { ...inputs, algorithm: key.algorithm, ...publicKeyAttributes(key) };
}
