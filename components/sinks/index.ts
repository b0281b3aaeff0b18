/** kube-pki sinks: they consume file maps and CA bundles, never individual certificates (DESIGN §6). */
export * from "./node-files";
export * from "./secrets";
export * from "./bootstrap-tokens";
export * from "./cloud-init";
export * from "./wiring";
