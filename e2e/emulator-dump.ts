/**
 * Child process of the fidelity step: builds a ClusterPki under Pulumi mocks backed by the unit tests' tls
 * emulator (test/support/tls-emulator.ts) and writes its node files and kubeconfigs as JSON.
 * Separate process, because Pulumi mocks are process-global.
 *
 *   node -r ts-node/register/transpile-only e2e/emulator-dump.ts <args.json> <out.json>
 * args.json: {"kind": "cluster", "name": "<component name>", "args": <ClusterPkiArgs>}
 *         or {"kind": "root", "name": "root", "args": <RootPkiArgs>}
 *         or {"kind": "rotation", "name": "<name>", "args": <ClusterPkiArgs>, "phases": [{"caRotation": {...}}, ...]}
 *            (one program run per phase, on the rotation rig: state and `previous` carried between runs)
 * With "vault": {"address", "token"} the component's vault:* resources go to that real Vault server through
 * e2e/vault-bridge.ts (the e2e step vault) instead of being echoed; the output then also holds the Vault resources'
 * stored outputs, the role specs, the bridge's calls and the warnings. With "vaultEmulator": true they run on the unit
 * tests' Vault emulation (test/support/vault-emulator.ts), for the emulator-vs-server comparison.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { ClusterPki, RootPki } from "../components/internal";
import { resolve } from "../test/support/resolve";
import { setupMocks, TlsEmulator } from "../test/support/tls-emulator";
import { Rig } from "../test/support/rotation-rig";
import { registerVault } from "../test/support/vault-emulator";
import { BridgeCall, registerVaultBridge, VaultServer } from "./vault-bridge";

type Files = Record<string, Record<string, { content: string; mode: string; secret: boolean }>>;

async function dumpCluster(pki: ClusterPki) {
    const nodeFiles: Files = {};
    for (const [node, files] of Object.entries(pki.nodeFiles)) {
        nodeFiles[node] = {};
        for (const [rel, f] of Object.entries(files)) {
            nodeFiles[node][rel] = { content: (await resolve(f.content)).value as string, mode: f.mode, secret: f.secret };
        }
    }
    const kubeconfigs: Record<string, string> = {};
    for (const [key, k] of Object.entries(pki.kubeconfigs)) kubeconfigs[key] = (await resolve(k)).value as string;
    const vaultRoles = Object.fromEntries(Object.entries(pki.vaultRoles).map(([ca, r]) => [ca, r!.specs]));
    const caKeys: Record<string, string> = {};
    for (const [ca, m] of Object.entries(pki.cas)) caKeys[ca] = (await resolve(m.keyPem)).value as string;
    return { nodeFiles, kubeconfigs, vaultRoles, caKeys };
}

/** Secret wrappers of the stored state replaced by their values. */
function unwrap(v: any): any {
    if (Array.isArray(v)) return v.map(unwrap);
    if (v && typeof v === "object") {
        if (v[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrap(v.value);
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
    }
    return v;
}

/** The stored outputs of every vault:* resource (what a real provider would keep in the stack state), unwrapped. */
function vaultState(em: TlsEmulator, calls: BridgeCall[] | undefined) {
    if (!calls) return {};
    const resources = [...em.state.values()].filter((r) => r.type.startsWith("vault:")).map((r) => ({ type: r.type, name: r.name, outputs: unwrap(r.outputs) }));
    return { vaultResources: resources, bridgeCalls: calls, warnings: em.warnings };
}

async function main() {
    const [argsFile, outFile] = process.argv.slice(2);
    const { kind, name, args, vault, vaultEmulator, phases } = JSON.parse(fs.readFileSync(argsFile, "utf8")) as {
        kind: string;
        name: string;
        args: any;
        vault?: VaultServer;
        /** the unit tests' Vault emulator instead of a server */
        vaultEmulator?: boolean;
        phases?: Record<string, unknown>[];
    };
    if (kind === "rotation") {
        const rig = new Rig();
        const calls = vault ? registerVaultBridge(rig.em, vault) : undefined;
        const runs = [];
        for (const phase of phases ?? []) {
            const run = await rig.run(new Date(), { ...args, ...phase });
            runs.push({ phase, replaced: run.replaced, ...(await dumpCluster(run.pki)) });
        }
        fs.writeFileSync(outFile, JSON.stringify({ runs, ...vaultState(rig.em, calls) }), { mode: 0o600 });
        await pulumi.runtime.disconnect();
        return;
    }
    const em = setupMocks();
    if (vaultEmulator) registerVault(em);
    const calls = vault ? registerVaultBridge(em, vault) : undefined;
    if (kind === "root") {
        const root = new RootPki(name, args);
        const intermediates: Record<string, Record<string, { generation: number; certPem: string; keyPem?: string }[]>> = {};
        for (const [cluster, cas] of Object.entries(root.intermediates)) {
            intermediates[cluster] = {};
            for (const [ca, list] of Object.entries(cas)) {
                intermediates[cluster][ca] = [];
                for (const i of list) {
                    intermediates[cluster][ca].push({
                        generation: i.generation,
                        certPem: (await resolve(i.certPem)).value as string,
                        ...(i.keyPem ? { keyPem: (await resolve(i.keyPem)).value as string } : {}),
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
    const dump = await dumpCluster(pki);
    fs.writeFileSync(outFile, JSON.stringify({ ...dump, ...vaultState(em, calls) }), { mode: 0o600 });
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
