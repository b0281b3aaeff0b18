/**
 * kube-pki: a Kubernetes cluster's PKI as Pulumi components — the public API (`import ... from "kube-pki"`).
 * docs/library.md (Public API) documents each name. Everything else (catalog tables, validation, report and
 * rotation helpers, Vault internals) is in internal.ts and may change between minor versions.
 */

// The cluster's PKI, its args and what it produces.
export { ClusterPki } from "./cluster-pki";
export type { CaMaterial, ExternalCa, FileMap, InventoryEntry, IssuedLeaf, NodeFile } from "./cluster-pki";
export type { ClusterPkiArgs, ClusterPkiSettings, ControlPlaneNode, ExtraUser, WorkerNode, WorkerPoolSpec } from "./config";
export type { PoolTokenState, WorkerPool } from "./worker-pool";
export type { CaRotationState } from "./rotation";
export type { VaultCaConfig, VaultConfig } from "./vault";

// The component's memory of its previous run (CA rotation phases, rotation tokens).
export { MEMORY_OUTPUT, memoryOf, previousRunOf, withPreviousRun } from "./memory";
export type { ClusterPkiMemory } from "./memory";

// A shared root stack and its per-cluster intermediates.
export { RootPki } from "./root-pki";
export type { RootCluster, RootPkiArgs } from "./root-pki";
export { readRootStack } from "./root-link";
export type { RootStackMaterial } from "./root-link";

// Sinks: node files (local or over SSH), cloud-init, Kubernetes Secrets.
export { NodeFiles } from "./sinks/node-files";
export type { NodeFilesArgs } from "./sinks/node-files";
export { RemoteNodeFiles } from "./sinks/remote-files";
export type { RemoteConnection, RemoteNodeFilesArgs } from "./sinks/remote-files";
export { cloudInit, cloudInitByNode } from "./sinks/cloud-init";
export type { CloudInitOptions } from "./sinks/cloud-init";
export { KubernetesSecrets } from "./sinks/secrets";
export type { CaKeySecretSpec, GroupBinding, KubernetesSecretsArgs, RbacSpec, TlsSecretSpec, TrustBundleSpec } from "./sinks/secrets";

// Building blocks, usable on their own.
export { CertificateAuthority } from "./ca";
export type { CertificateAuthorityArgs } from "./ca";
export { LeafCertificate } from "./leaf";
export type { LeafCertificateArgs } from "./leaf";

// Stack config as the project's own program reads it, and the error every bad input gets.
export { readClusterPkiArgs } from "./stack-config";
export { ConfigError, validateClusterPkiArgs } from "./config";
