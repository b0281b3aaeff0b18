/** kube-pki sinks: they consume file maps and CA bundles, never individual certificates (docs/design.md#sinks). */
export * from "./node-files";
export * from "./secrets";
export * from "./bootstrap-tokens";
export * from "./cloud-init";
export * from "./wiring";
export * from "./stack-outputs";
