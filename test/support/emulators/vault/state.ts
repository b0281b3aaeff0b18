/** The emulated Vault PKI's state: mounts, issuers, roles, issued certificates. */
import * as crypto from "node:crypto";
import { TlsEmulator } from "../../tls-emulator";
import { ParsedKey } from "../../tls-crypto";

export const VAULT_TYPES = {
    Mount: "vault:index/mount:Mount",
    IntermediateCertRequest: "vault:pkiSecret/secretBackendIntermediateCertRequest:SecretBackendIntermediateCertRequest",
    IntermediateSetSigned: "vault:pkiSecret/secretBackendIntermediateSetSigned:SecretBackendIntermediateSetSigned",
    ConfigIssuers: "vault:pkiSecret/secretBackendConfigIssuers:SecretBackendConfigIssuers",
    ConfigUrls: "vault:pkiSecret/secretBackendConfigUrls:SecretBackendConfigUrls",
    Role: "vault:pkiSecret/secretBackendRole:SecretBackendRole",
    Cert: "vault:pkiSecret/secretBackendCert:SecretBackendCert",
} as const;

/** The address errors are reported against (the emulator has no server). */
export const EMULATED_VAULT_ADDR = "https://vault.emulated:8200";

// ------------------------------------------------------------------------------------------ emulated state

export interface EmulatedKey {
    id: string;
    name: string;
    key: ParsedKey;
    /** SPKI DER of the public key */
    spki: Buffer;
}

export interface EmulatedIssuer {
    id: string;
    certPem: string;
    der: Buffer;
    cert: crypto.X509Certificate;
    subjectDer: Buffer;
    spki: Buffer;
    skid?: Buffer;
    keyId?: string;
}

export interface EmulatedRole {
    name: string;
    allowedDomains: string[];
    allowBareDomains: boolean;
    allowSubdomains: boolean;
    allowGlobDomains: boolean;
    allowAnyName: boolean;
    allowLocalhost: boolean;
    allowWildcardCertificates: boolean;
    enforceHostnames: boolean;
    allowIpSans: boolean;
    allowedUriSans: string[];
    serverFlag: boolean;
    clientFlag: boolean;
    codeSigningFlag: boolean;
    emailProtectionFlag: boolean;
    basicConstraintsValidForNonCa: boolean;
    keyType: string;
    keyBits: number;
    keyUsages: string[];
    extKeyUsages: string[];
    extKeyUsageOids: string[];
    organizations: string[];
    organizationUnit: string[];
    cnValidations: string[];
    requireCn: boolean;
    noStore: boolean;
    /** seconds; 0 = unset */
    ttl: number;
    maxTtl: number;
    notBeforeDuration: number;
    issuerRef: string;
}

export interface IssuedCertificate {
    serial: string;
    role: string;
    commonName: string;
    certPem: string;
}

export interface EmulatedMount {
    path: string;
    type: string;
    accessor: string;
    /** seconds; 0 = the system default (768h) */
    defaultLeaseTtlSeconds: number;
    maxLeaseTtlSeconds: number;
    keys: Map<string, EmulatedKey>;
    /** in import order */
    issuers: Map<string, EmulatedIssuer>;
    defaultIssuer?: string;
    roles: Map<string, EmulatedRole>;
    urls: { issuingCertificates: string[]; crlDistributionPoints: string[]; ocspServers: string[] };
    /** issued certificates by serial (unless the role has no_store) */
    certs: Map<string, IssuedCertificate>;
}

/** Vault's system default / max lease TTL (32 days). */
export const SYSTEM_LEASE_TTL_SECONDS = 768 * 3600;

export type VaultEmulator = TlsEmulator & { readonly vaultMounts: Map<string, EmulatedMount> };

/** The emulated Vault mounts of an emulator (after registerVault), keyed by mount path. */
export function vaultMounts(emulator: TlsEmulator): Map<string, EmulatedMount> {
    const m = (emulator as unknown as { vaultMounts?: Map<string, EmulatedMount> }).vaultMounts;
    if (!m) throw new Error("vault emulator: call registerVault(emulator) first");
    return m;
}
