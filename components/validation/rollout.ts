/**
 * Fleet guards of the CA phases (docs/rollout.md#ca-phases-across-the-fleet). A phase is complete only when every
 * machine has it:
 *  - reachable nodes (RemoteNodeFiles): `promote` of a CA is refused while the node's last delivery (its state)
 *    lacks a CA of the bundle promote trusts (it has not received the staged bundle), and `distrust` while a leaf
 *    of its last delivery is not signed by a CA the new bundle keeps (it still holds the old CA's leaves). Checked in
 *    the provider's check, so `pulumi preview` (and the preview of `up`) refuses before anything changes.
 *  - worker pools (machines kube-pki cannot reach): `promote` / `distrust` of `ca` is refused until the operator
 *    confirms in `kube-pki:rollout.poolsRolled.<pool>.ca` that the pool was rolled after stage / after promote.
 */
import * as crypto from "node:crypto";
import { X509Certificate } from "node:crypto";
import { CAS, CaId, LEAVES, SERVICE_ACCOUNT_KEY } from "../catalog";
import { parsePoolRoll, PoolRoll, PoolsRolled } from "../rollout/config";

export type FleetCa = CaId | "sa";

/** The files a node uses to trust a CA (its bundle). */
export function bundleFiles(ca: FleetCa): string[] {
    if (ca === "sa") return [SERVICE_ACCOUNT_KEY.publicKeyFile];
    return [`${CAS.find((c) => c.id === ca)!.file}.crt`];
}

/** The certificate files of a node signed by the CA (kubeconfigs embed the bundle too, so they are not compared). */
export function leafFiles(ca: FleetCa): string[] {
    if (ca === "sa") return [SERVICE_ACCOUNT_KEY.keyFile];
    return LEAVES.filter((l) => l.ca === ca && l.file).map((l) => `${l.file}.crt`);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const PEM_PUB = /-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----/g;
const certsOf = (pem: string) => (pem.match(PEM_CERT) ?? []).map((c) => new X509Certificate(c));
const pubsOf = (pem: string) => (pem.match(PEM_PUB) ?? []).map((k) => crypto.createPublicKey(k).export({ type: "spki", format: "der" }).toString("base64"));

/** The bundle file's entries (certificates' DER, or public keys for sa) in base64. */
function bundleEntries(ca: FleetCa, pem: string): string[] {
    return ca === "sa" ? pubsOf(pem) : certsOf(pem).map((c) => c.raw.toString("base64"));
}

/**
 * The refusal of this run's phases on one node, or undefined. `oldContents`: the node's last delivery (its state's
 * inputs); `newBundles`: this run's bundle files (undefined: not known yet).
 */
export function fleetPhaseProblem(node: string, phases: Record<string, string>, oldContents: Record<string, string>, newBundles: Record<string, string | undefined>): string | undefined {
    const problems: string[] = [];
    for (const [ca, phase] of Object.entries(phases).sort()) {
        const id = ca as FleetCa;
        if ((phase !== "promote" && phase !== "distrust") || !["ca", "etcd-ca", "front-proxy-ca", "sa"].includes(ca)) continue;
        const bundle = bundleFiles(id)[0];
        const now = newBundles[bundle];
        const before = oldContents[bundle];
        if (typeof now !== "string" || typeof before !== "string") continue;
        const short = (rel: string) => rel.replace(/^etc\/kubernetes\//, "");
        if (phase === "promote") {
            const had = new Set(bundleEntries(id, before));
            const missing = bundleEntries(id, now).filter((e) => !had.has(e));
            if (missing.length > 0) {
                problems.push(
                    `${ca} promote refused: node ${node} has not received the staged bundle (its last delivered ${short(bundle)} lacks ${missing.length} of the CAs promote trusts). ` +
                        `Finish the stage first: set kube-pki:caRotation.${ca} back to "stage" and run \`pulumi up\` until node ${node} is updated, then promote.`,
                );
            }
            continue;
        }
        const stale = leafFiles(id).filter((rel) => {
            const old = oldContents[rel];
            if (typeof old !== "string") return false;
            if (id === "sa") return !pubsOf(now).includes(crypto.createPublicKey(old).export({ type: "spki", format: "der" }).toString("base64"));
            const leaf = new X509Certificate(old);
            return !certsOf(now).some((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
        });
        if (stale.length > 0) {
            problems.push(
                `${ca} distrust refused: node ${node} still has leaves of the old ${ca} (${stale.map(short).join(", ")} of its last delivery). ` +
                    `Finish the promote first: set kube-pki:caRotation.${ca} back to "promote" and run \`pulumi up\` until node ${node} is updated, then distrust.`,
            );
        }
    }
    return problems.length ? problems.join(" ") : undefined;
}

/**
 * The refusals for the worker pools (kube-pki cannot reach their machines, so the operator rolls them: replaces
 * every machine by one joined from this stack's current bootstrap data, and confirms it). With `ca` at
 * generation g (the new CA) a pool machine needs, per phase:
 *  - promote: its kubelet.conf must trust g, or it refuses the apiservers' promoted serving certificates. A machine
 *    that joined after the stage `up` does (its bootstrap-kubelet.conf holds old + new): confirmed by `stage:g`.
 *  - distrust: its kubelet client certificate must be signed by g, or the apiservers refuse it once the old CA is
 *    gone. The CSR signer switches to g at promote, so only a machine joined after the promote `up` has one (the
 *    kubelet renews its own certificate only near its end of life): confirmed by `promote:g`.
 * So a pool is rolled twice per ca rotation, after stage and after promote. `states`: this run's CA states
 * (at stage the generation is still the old one); `pools`: the pool names.
 */
export function poolPhaseProblems(states: Record<string, { phase: string; generation: number }>, pools: string[], poolsRolled: PoolsRolled): string[] {
    const s = states["ca"];
    if (!s || (s.phase !== "promote" && s.phase !== "distrust")) return [];
    const g = s.generation;
    const need: PoolRoll = { phase: s.phase === "promote" ? "stage" : "promote", generation: g };
    const rank = (r: PoolRoll) => r.generation * 2 + (r.phase === "promote" ? 1 : 0);
    const problems: string[] = [];
    for (const pool of [...pools].sort()) {
        const raw = poolsRolled[pool]?.ca;
        const rolled = parsePoolRoll(raw);
        if (rolled && rank(rolled) >= rank(need)) continue;
        const key = `kube-pki:rollout.poolsRolled.${pool}.ca`;
        const why =
            need.phase === "stage"
                ? `its machines that joined before the stage up trust only the old ca in their kubelet.conf and would refuse the apiservers' promoted certificates. ` +
                  `Roll the pool now (replace every machine that joined before the stage up by one joined from this stack's current bootstrap data, which trusts both CAs)`
                : `its machines that joined before the promote up hold kubelet client certificates signed by the old ca (the CSR signer switched at promote), which the apiservers refuse once it is distrusted. ` +
                  `Roll the pool again now that promote is done (replace every machine that joined before the promote up: new machines get certificates signed by the new ca)`;
        problems.push(
            `${key}: the ca rotation is at ${s.phase} (generation ${g}) but pool ${pool} is ` +
                (raw === undefined ? "not confirmed rolled" : `confirmed rolled at ${JSON.stringify(raw)} only`) +
                `: ${why}, then \`pulumi config set --path ${key} ${need.phase}:${g}\` and run \`pulumi up\` again.`,
        );
    }
    return problems;
}
