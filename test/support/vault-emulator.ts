// Emulated Vault PKI secrets engine behind @pulumi/vault (7.8.0, bridging hashicorp/terraform-provider-vault), for
// Pulumi unit tests on top of the tls emulator (register(type, emulation)). Crypto is real: keys, CSRs and
// certificates are generated and signed, so certificates can be checked with openssl.
//
// What is reproduced (Vault builtin/logical/pki, sdk/helper/certutil, and the provider resources):
//  - vault:index/mount:Mount: one emulated PKI engine per path; equal or nested paths are refused
//    ("path is already in use at ..."); lease TTLs default to Vault's system 768h.
//  - SecretBackendIntermediateCertRequest: a real key (rsa 2048 / ec 256 by default) and CSR; the CN is a DNS SAN
//    of the CSR unless excludeCnFromSans; privateKey only for type "exported" ("" for internal). The key stays in
//    the mount.
//  - SecretBackendIntermediateSetSigned: imports every certificate of the bundle as an issuer (in bundle order,
//    skipping known ones), links issuers to mount keys by public key (keyless issuers are imported too),
//    and makes the first imported issuer the default when none is set. Outputs importedIssuers / importedKeys.
//  - SecretBackendConfigIssuers (`default`), SecretBackendConfigUrls (AIA / CRL DP written into issued certs).
//  - SecretBackendRole: the provider's defaults (server/client flags true, enforce_hostnames true, key rsa/2048,
//    key_usage DigitalSignature+KeyAgreement+KeyEncipherment, not_before_duration 30s...), Vault's role checks
//    (key type/bits, ttl ≤ max_ttl), auto-naming (`<resource name>-<random>`) when `name` is unset.
//  - SecretBackendCert (pki/issue/<role>): GenerateCreationBundle — CN and SAN validation (ValidateCommonName /
//    ValidateNames: allowed_domains with bare / subdomain / glob matching, allow_localhost, allow_any_name,
//    enforce_hostnames, cn_validations), IP / URI SAN rules, O/OU from the role, key usages and EKU flags from the
//    role, TTL resolution (ttl → role ttl → mount default; capped at role max_ttl → mount max with a Vault
//    *warning*, not an error), refusal past the issuer's NotAfter (leaf_not_after_behavior "err") and of
//    now − not_before_duration before the issuer's NotBefore; the certificate is backdated 30 s (or
//    not_before_duration when > 0) from the clock read after key generation (NotAfter is read before it), carries SKID/AKID, AIA and CRL DP, no basicConstraints, DNS SANs sorted and
//    deduplicated (strutil.RemoveDuplicates). Outputs certificate, issuingCa, caChain ("\n"-joined), privateKey,
//    privateKeyType, serialNumber (colon hex), expiration (unix), renewPending. `pulumi refresh` (emulator.refresh())
//    sets renewPending inside min_seconds_remaining; with autoRenew the next run replaces the cert.
//  - Errors are worded like the provider reports Vault API errors ("Error making API request ... Code: 400 ...").
//
// Not emulated: namespaces, managed keys / kms / existing key types, ACME/EST, CRL content, revocation, multiple
// Vault servers (state is per emulator, keyed by mount path, whatever the provider).

export { VAULT_TYPES, EMULATED_VAULT_ADDR, type EmulatedKey, type EmulatedIssuer, type EmulatedRole, type IssuedCertificate, type EmulatedMount, SYSTEM_LEASE_TTL_SECONDS, type VaultEmulator, vaultMounts } from "./emulators/vault/state";
export { parseVaultDuration, goDuration, glob, validateNames, validateCommonName } from "./emulators/vault/names";
export { certStateDefaults, registerVault, resetVault } from "./emulators/vault/certs";
