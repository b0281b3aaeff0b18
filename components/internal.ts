/**
 * Everything the project's own program, scripts, provider and tests use. Not the public API (that is index.ts): names
 * here may change between minor versions.
 */
export * from "./catalog";
export * from "./config";
export * from "./keys";
export * from "./kubeconfig";
export * from "./identity";
export * from "./ca";
export * from "./leaf";
export * from "./cluster-pki";
export * from "./memory";
export * from "./stack-config";
export * from "./rotation";
export * from "./root-pki";
export * from "./root-link";
export * from "./intermediate-requests";
export * from "./csr";
export { validateKeys } from "./validation/keys";
export { Problems } from "./validation/problems";
export * from "./sinks";
export * from "./vault";
export * from "./ca-sources";
export * from "./worker-pool";
export * from "./model";
export * from "./time";
export * from "./renewal";
export { plannedNames } from "./leaves";
