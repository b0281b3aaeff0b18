/**
 * e2e-only `--require` hook (step `delivery`, through NODE_OPTIONS): in the engine's dynamic-provider process,
 * the RemoteNodeFiles sink waits KUBE_PKI_TEST_PAUSE_AFTER_SEND ms after handing the first file of node
 * KUBE_PKI_TEST_PAUSE_NODE to the SSH channel, so that the step can cut the connection mid-write. It sets the
 * documented seam `remoteFilesHooks.afterSend` (components/sinks/remote-files/ssh.ts); the shipped code reads no
 * test variable.
 */
"use strict";
const path = require("path");
const fs = require("fs");

if (/[\\/]dynamic-provider([\\/]|$)/.test(process.argv[1] || "")) {
    const ms = Number(process.env.KUBE_PKI_TEST_PAUSE_AFTER_SEND || "");
    const node = process.env.KUBE_PKI_TEST_PAUSE_NODE;
    if (Number.isFinite(ms) && ms > 0) {
        const rel = "components/sinks/remote-files/ssh.ts";
        const file = [path.resolve(process.cwd(), rel), path.resolve(__dirname, "../..", rel)].find((f) => fs.existsSync(f));
        if (!file) throw new Error(`pause-after-send hook: ${rel} not found from ${process.cwd()}`);
        if (!require.extensions[".ts"]) require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
        let paused = false;
        require(file).remoteFilesHooks.afterSend = (n) => {
            if (paused || (node && n !== node)) return undefined;
            paused = true;
            return new Promise((resolve) => setTimeout(resolve, ms));
        };
    }
}
