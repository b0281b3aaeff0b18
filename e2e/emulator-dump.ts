/**
 * Child process of the fidelity step: builds a ClusterPki under Pulumi mocks backed by the unit tests' tls
 * emulator (test/support/tls-emulator.ts) and writes its node files and kubeconfigs as JSON.
 * Separate process, because Pulumi mocks are process-global.
 *
 *   node -r ts-node/register/transpile-only e2e/emulator-dump.ts <args.json> <out.json>
 * args.json: {"kind": "cluster", "name": "<component name>", "args": <ClusterPkiArgs>}
 *         or {"kind": "root", "name": "root", "args": <RootPkiArgs>}
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, RootPki } from "../components/internal";
import { resolve } from "../test/support/resolve";
import { setupMocks } from "../test/support/tls-emulator";

async function main() {
    const [argsFile, outFile] = process.argv.slice(2);
    const { kind, name, args } = JSON.parse(fs.readFileSync(argsFile, "utf8"));
    setupMocks();
    if (kind === "root") {
        const root = new RootPki(name, args);
        const intermediates: Record<string, Record<string, { generation: number; certPem: string; keyPem: string }[]>> = {};
        for (const [cluster, cas] of Object.entries(root.intermediates)) {
            intermediates[cluster] = {};
            for (const [ca, list] of Object.entries(cas)) {
                intermediates[cluster][ca] = [];
                for (const i of list) {
                    intermediates[cluster][ca].push({
                        generation: i.generation,
                        certPem: (await resolve(i.certPem)).value as string,
                        keyPem: (await resolve(i.keyPem)).value as string,
                    });
                }
            }
        }
        const rootCertificate = (await resolve(root.rootCertificate)).value;
        fs.writeFileSync(outFile, JSON.stringify({ rootCertificate, intermediates }), { mode: 0o600 });
        await pulumi.runtime.disconnect();
        return;
    }
    const pki = new ClusterPki(name, args);
    const nodeFiles: Record<string, Record<string, { content: string; mode: string; secret: boolean }>> = {};
    for (const [node, files] of Object.entries(pki.nodeFiles)) {
        nodeFiles[node] = {};
        for (const [rel, f] of Object.entries(files)) {
            nodeFiles[node][rel] = { content: (await resolve(f.content)).value as string, mode: f.mode, secret: f.secret };
        }
    }
    const kubeconfigs: Record<string, string> = {};
    for (const [key, k] of Object.entries(pki.kubeconfigs)) kubeconfigs[key] = (await resolve(k)).value as string;
    fs.writeFileSync(outFile, JSON.stringify({ nodeFiles, kubeconfigs }), { mode: 0o600 });
    // let the component's registerOutputs reach the mock monitor (else Pulumi's leak check fails the exit)
    await pulumi.runtime.disconnect();
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
