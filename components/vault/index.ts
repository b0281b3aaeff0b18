/**
 * Optional Vault intermediate (docs/vault.md): a cluster CA that lives in a Vault (or OpenBao) PKI secrets engine,
 * signed by our own root, with one Vault role per catalog kind and leaves issued by Vault.
 *
 *  - `VaultIntermediateCa` (intermediate.ts): PKI mount → CSR generated in Vault (`internal`: the key never leaves Vault;
 *    `exported`: Vault returns it once) → signed locally by the parent CA (tls.LocallySignedCert) → signed
 *    certificate + chain set back → default issuer and AIA/CRL URLs configured. Its outputs have the
 *    `CaMaterial` shape (certPem, keyPem, notBefore, notAfter).
 *  - `VaultRoles` / `vaultRolesFromCatalog` (roles.ts): one `SecretBackendRole` per catalog leaf kind of the CA, derived from
 *    the same table as local issuance (CN/O, key usages, EKU flags, key type, TTLs).
 *  - `VaultLeafCertificate` (leaf.ts): a leaf issued by Vault (`SecretBackendCert`) with the outputs of `LeafCertificate`.
 *  - `vaultProviderFromConfig`, `validateVaultConfig`: connection (connection.ts) and stack-config validation (config.ts).
 *
 * Provider facts these files rely on (checked in terraform-provider-vault / Vault sources, see the report):
 *  - `name` is always set on roles and certs (the SDK would auto-name roles with a random suffix; on
 *    SecretBackendCert `name` is the ROLE name).
 *  - TTLs are sent as seconds strings: Vault reads role ttl/max_ttl back as seconds, a "8760h" would diff forever.
 *  - Roles set `notBeforeDuration: "0s"`: Vault refuses to issue when now − not_before_duration is before the
 *    issuer's NotBefore ("notBefore before signer's notBefore"); the default 30s breaks every leaf issued in the
 *    first 30 s of a fresh intermediate (our tls-signed intermediate starts "now"). Vault still backdates the
 *    issued certificate by 30 s.
 *  - `server_flag` / `client_flag` default to true in Vault and the provider: both are always set explicitly.
 *  - Leaf requests set `excludeCnFromSans`: otherwise Vault adds a hostname-like CN ("kube-apiserver",
 *    "kubernetes-admin") as a DNS SAN, which kubeadm's certificates do not carry.
 *  - A role's max_ttl caps a longer requested ttl silently (a Vault warning, not an error): VaultLeafCertificate
 *    warns when the issued validity is shorter than asked. A ttl beyond the issuer's NotAfter is an error.
 */
export * from "./common";
export * from "./intermediate";
export * from "./roles";
export * from "./leaf";
export * from "./connection";
export * from "./config";
