/**
 * The NodeFiles helpers that code outside the sink (scripts/, e2e/, tests) may use; everything else in this
 * folder is the sink's own and may change. Documented in docs/delivery.md ("For tools and tests").
 *
 *  - `pidAlive(pid)`: whether a process with this pid exists in this PID namespace.
 *  - `tempFilesUnder(dir)`: every file named like a temp file of an atomic write under `dir` (never following
 *    symlinks): what a test looks for after a crash.
 *  - `TMP_NAME`: the pattern of those names (`.<name>.kube-pki-tmp-<pid>-<nonce>`).
 *  - `nodeFilesHooks`: the test seams of the write (`afterStaged`), set by tests and e2e `--require` hooks only.
 */
export { nodeFilesHooks } from "./atomic";
export { pidAlive } from "../../process";
export { tempFilesUnder, TMP_NAME } from "./sweep";
