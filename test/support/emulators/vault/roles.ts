/** PKI roles, emulated from Vault's PKI engine and the vault provider. */
import * as crypto from "node:crypto";
import { HandlerContext, HandlerResult, Emulation } from "../../tls-emulator";
import { EmulatedRole } from "./state";
import { apiError, normPath, noRoute, parseVaultDuration, q, requireInput } from "./names";
import { bool, defaultBits, keyTypeLengthProblem, list } from "./keys";
import { mountOf } from "./mounts";

const ROLE_UPDATABLE = [
    "allowAnyName", "allowBareDomains", "allowGlobDomains", "allowIpSans", "allowLocalhost", "allowSubdomains",
    "allowWildcardCertificates", "allowedDomains", "allowedDomainsTemplate", "allowedOtherSans", "allowedSerialNumbers",
    "allowedUriSans", "allowedUriSansTemplate", "allowedUserIds", "basicConstraintsValidForNonCa", "clientFlag",
    "cnValidations", "codeSigningFlag", "countries", "emailProtectionFlag", "enforceHostnames", "extKeyUsageOids",
    "extKeyUsages", "generateLease", "issuerRef", "keyBits", "keyType", "keyUsages", "localities", "maxTtl", "noStore",
    "noStoreMetadata", "notAfter", "notBeforeDuration", "organizationUnit", "organizations", "policyIdentifiers",
    "postalCodes", "provinces", "requireCn", "serverFlag", "signatureBits", "streetAddresses", "ttl", "useCsrCommonName",
    "useCsrSans", "usePss",
];

export function roleEmulation(): Emulation {
    const apply = (ctx: HandlerContext): HandlerResult => {
        requireInput(ctx, "backend", "backend");
        const i = ctx.inputs;
        // the bridge auto-names a role without `name` (docs/design.md#provider-facts: always set it)
        const name: string = i.name ?? ctx.prior?.outputs.name ?? `${ctx.name}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;
        const keyType = i.keyType ?? "rsa";
        if (!["rsa", "ec", "ed25519", "any"].includes(keyType)) {
            throw new Error(`expected key_type to be one of ["rsa" "ec" "ed25519" "any"], got ${keyType}`);
        }
        const keyBits = i.keyBits ?? 2048;
        const state: Record<string, any> = {
            ...ctx.rawInputs,
            name,
            keyType,
            keyBits,
            keyUsages: i.keyUsages ?? ["DigitalSignature", "KeyAgreement", "KeyEncipherment"],
            cnValidations: i.cnValidations ?? ["email", "hostname"],
            issuerRef: i.issuerRef ?? "default",
            notBeforeDuration: i.notBeforeDuration ?? "30s",
            allowLocalhost: i.allowLocalhost ?? true,
            enforceHostnames: i.enforceHostnames ?? true,
            allowIpSans: i.allowIpSans ?? true,
            serverFlag: i.serverFlag ?? true,
            clientFlag: i.clientFlag ?? true,
            requireCn: i.requireCn ?? true,
        };
        if (ctx.preview) return { state };
        const backend = normPath(i.backend);
        const prefix = `error creating role ${name} for backend ${q(backend)}`;
        const route = `${backend}/roles/${name}`;
        const mount = mountOf(ctx.emulator, backend);
        if (!mount) throw noRoute(prefix, "PUT", route);
        if (!/^\w(([\w.-]+)?\w)?$/.test(name)) throw noRoute(prefix, "PUT", route);
        const bits = defaultBits(keyType, keyBits);
        const bad = keyTypeLengthProblem(keyType, bits);
        if (bad) throw apiError(prefix, "PUT", route, 400, [bad]);
        let ttl: number, maxTtl: number, nbd: number;
        try {
            ttl = parseVaultDuration(i.ttl);
            maxTtl = parseVaultDuration(i.maxTtl);
            nbd = parseVaultDuration(state.notBeforeDuration);
        } catch (e) {
            throw apiError(prefix, "PUT", route, 400, [(e as Error).message]);
        }
        if (maxTtl > 0 && ttl > maxTtl) throw apiError(prefix, "PUT", route, 400, [`"ttl" value must be less than "max_ttl" value`]);
        const role: EmulatedRole = {
            name,
            allowedDomains: list(i.allowedDomains),
            allowBareDomains: bool(i.allowBareDomains, false),
            allowSubdomains: bool(i.allowSubdomains, false),
            allowGlobDomains: bool(i.allowGlobDomains, false),
            allowAnyName: bool(i.allowAnyName, false),
            allowLocalhost: state.allowLocalhost,
            allowWildcardCertificates: bool(i.allowWildcardCertificates, true),
            enforceHostnames: state.enforceHostnames,
            allowIpSans: state.allowIpSans,
            allowedUriSans: list(i.allowedUriSans),
            serverFlag: state.serverFlag,
            clientFlag: state.clientFlag,
            codeSigningFlag: bool(i.codeSigningFlag, false),
            emailProtectionFlag: bool(i.emailProtectionFlag, false),
            basicConstraintsValidForNonCa: bool(i.basicConstraintsValidForNonCa, false),
            keyType,
            keyBits: bits,
            keyUsages: list(state.keyUsages),
            extKeyUsages: list(i.extKeyUsages),
            extKeyUsageOids: list(i.extKeyUsageOids),
            organizations: list(i.organizations),
            organizationUnit: list(i.organizationUnit),
            cnValidations: list(state.cnValidations),
            requireCn: state.requireCn,
            noStore: bool(i.noStore, false),
            ttl,
            maxTtl,
            notBeforeDuration: nbd,
            issuerRef: state.issuerRef,
        };
        if (ctx.prior && ctx.prior.outputs.name !== name) mount.roles.delete(ctx.prior.outputs.name);
        mount.roles.set(name, role);
        // Vault reads ttl / max_ttl back as seconds
        state.ttl = String(ttl);
        state.maxTtl = String(maxTtl);
        return { id: route, state };
    };
    return { updatableInputs: ROLE_UPDATABLE, create: apply, update: apply };
}
