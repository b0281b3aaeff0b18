/**
 * The NodeFiles dynamic provider's entry point, loaded by path by the loader that every NodeFiles resource's
 * state carries (`nodeFilesProvider` in node-files.ts): states written before the split still name this file,
 * so it stays, as the door to the implementation in ./node-files/.
 */
export { nodeFilesImpl } from "./node-files/provider";
export { startOrphanWatchdog } from "./node-files/watchdog";
export { writeTree } from "./node-files/atomic";
