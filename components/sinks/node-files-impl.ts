/**
 * The NodeFiles dynamic provider's entry point, loaded by path by the loader that every NodeFiles resource's
 * state carries (`nodeFilesProvider` in node-files.ts): states written before the split still name this file,
 * so it stays, as the door to the implementation in ./node-files/.
 */
import { nodeFilesImpl } from "./node-files/provider";
import { startOrphanWatchdog } from "./node-files/watchdog";

export { nodeFilesImpl, startOrphanWatchdog };

let watching = false;

/** The provider, for the loader of current states; in the engine's dynamic-provider process, with the watchdog on. */
export function dynamicProvider(): typeof nodeFilesImpl {
    if (!watching && /[\\/]dynamic-provider([\\/]|$)/.test(process.argv[1] ?? "")) {
        watching = true;
        startOrphanWatchdog();
    }
    return nodeFilesImpl;
}
export { writeTree } from "./node-files/atomic";
