/**
 * The rotation rig: runs ClusterPki repeatedly on the tls emulator (state kept between runs like the engine's:
 * same / replace ops, replacementTrigger), passing each run's outputs back as `previous` like the program does.
 */
import { HOUR_MS } from "../../components/time";
import { ClusterPki, ClusterPkiArgs, InventoryEntry } from "../../components/internal";
import { setupMocks, TlsEmulator } from "./tls-emulator";
import { opensslVerify } from "./x509";
import { valueOf, valuesOf } from "./resolve";

// The SDK's own "wait until every registration is done" (what pulumi.runtime.disconnect awaits); @internal, so untyped.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

export const HOUR = HOUR_MS;
/** leafValidity 100h − leafRenewBefore 20h: a leaf issued at t renews at t + 80h. */
export const PERIOD = 80;
/** alice: validity 50h, renewBefore min(20h, 50h/3 = 16h): renews 34h after issue. */
export const ALICE_PERIOD = 34;
export const T0 = new Date(Date.UTC(2030, 0, 1, 1));

export const BASE: ClusterPkiArgs = {
    clusterName: "rot",
    controlPlaneEndpoint: "api.rot.example",
    controlPlanes: [{ name: "cp-1", advertiseAddress: "10.0.0.11" }],
    workers: [{ name: "worker-1", addresses: ["10.0.1.21"] }],
    // 50h validity: renewBefore min(20h, 16h) → period 34h, so the user's boundaries differ from the others'.
    users: [{ name: "alice", group: "dev", validity: "50h" }],
    keyAlgorithm: "ECDSA-P256",
    leafValidity: "100h",
    leafRenewBefore: "20h",
    caValidity: "1000h",
    caRenewBefore: "100h",
};

export interface Run {
    pki: ClusterPki;
    /** tls resources replaced in this run, by name */
    replaced: string[];
    created: string[];
    files: Record<string, Record<string, string>>;
    kubeconfigs: Record<string, string>;
}

export class Rig {
    em: TlsEmulator;
    last?: ClusterPki;
    lastInventory?: InventoryEntry[];
    constructor() {
        this.em = setupMocks({ now: () => T0 });
    }
    /** The previous run's outputs, as a program passes them back (PREVIOUS_RUN_OUTPUTS). */
    previous(): ClusterPkiArgs["previous"] {
        if (!this.last) return undefined;
        return {
            rotationState: this.last.rotationState,
            rotationTokens: this.last.rotationTokens,
            inventory: this.lastInventory,
            nextRotation: this.last.nextRotation,
        };
    }
    async run(at: Date, extra: Partial<ClusterPkiArgs> = {}, preview = false): Promise<Run> {
        this.em.setNow(at);
        clock = at;
        this.em.install(preview);
        const previous = extra.previous ?? this.previous();
        const pki = new ClusterPki("rot", { ...BASE, ...extra, now: at.toISOString(), previous });
        const files: Record<string, Record<string, string>> = {};
        for (const [node, map] of Object.entries(pki.nodeFiles)) {
            files[node] = preview ? {} : await valuesOf(Object.fromEntries(Object.entries(map).map(([p, f]) => [p, f.content])));
        }
        const kubeconfigs = preview ? {} : await valuesOf(pki.kubeconfigs);
        const inventory = await valueOf(pki.inventory).catch(() => undefined);
        if (preview) await new Promise((r) => setTimeout(r, 200));
        // Like the engine, finish every registration before the next run: resources no output waits for (a Vault
        // issuer config, roles) would otherwise complete during the next run and be registered twice.
        else await waitForRPCs();
        if (!preview) {
            this.last = pki;
            this.lastInventory = inventory;
        }
        const tls = this.em.resources.filter((r) => r.type.startsWith("tls:") && r.run === this.em.run);
        return {
            pki,
            replaced: tls.filter((r) => r.op === "replace").map((r) => r.name).sort(),
            created: tls.filter((r) => r.op === "create").map((r) => r.name).sort(),
            files,
            kubeconfigs,
        };
    }
}

/** openssl verify at the fake clock's time (the certificates are issued in 2030). */
let clock = T0;

export const verifyAt = (cas: string[], leaf: string) => opensslVerify(cas, leaf, undefined, { atTime: new Date(clock.getTime() + 60_000) });


export const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
