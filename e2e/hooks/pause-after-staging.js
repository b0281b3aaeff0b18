/**
 * e2e-only `--require` hook (step `faults`, through NODE_OPTIONS): in the engine's dynamic-provider process, it
 * makes the NodeFiles write sleep KUBE_PKI_TEST_PAUSE_AFTER_STAGING ms after each staged temp file, so that a
 * kill -9 lands while temp files exist. It sets the sink's documented test seam (`nodeFilesHooks.afterStaged`,
 * components/sinks/node-files/public.ts); the shipped provider reads no test variable. Other node processes
 * (the program, the language host) are left alone.
 */
"use strict";
const path = require("path");
const fs = require("fs");

if (/[\\/]dynamic-provider([\\/]|$)/.test(process.argv[1] || "")) {
    const ms = Number(process.env.KUBE_PKI_TEST_PAUSE_AFTER_STAGING || "");
    if (Number.isFinite(ms) && ms > 0) {
        // the module the provider's loader will load: the program dir's copy (the engine starts us there)
        const rel = "components/sinks/node-files/public.ts";
        const file = [path.resolve(process.cwd(), rel), path.resolve(__dirname, "../..", rel)].find((f) => fs.existsSync(f));
        if (!file) throw new Error(`pause-after-staging hook: ${rel} not found from ${process.cwd()}`);
        if (!require.extensions[".ts"]) require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
        require(file).nodeFilesHooks.afterStaged = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    }
}
