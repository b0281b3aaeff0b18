/**
 * Fleet guards of the CA phases (docs/rollout.md#ca-phases-across-the-fleet). A phase is complete only when every
 * machine has it:
 *  - reachable nodes (RemoteNodeFiles): `promote` of a CA is refused while the node's last delivery (its state)
 *    lacks a CA of the bundle promote trusts (it has not received the staged bundle), and `distrust` while a leaf
 *    of its last delivery is not signed by a CA the new bundle keeps (it still holds the old CA's leaves). Checked in
 *    the provider's check, so `pulumi preview` (and the preview of `up`) refuses before anything changes.
 *  - worker pools (machines kube-pki cannot reach): `promote` / `distrust` of `ca` is refused until the operator
 *    confirms in `kube-pki:rollout.poolsRolled.<pool>.ca` the generation the pool was rolled to.
 */
import * as crypto from "node:crypto";
import { X509Certificate } from "node:crypto";
import { CAS, CaId, LEAVES, SERVICE_ACCOUNT_KEY } from "../catalog";

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
 * The refusals for the worker pools: with `ca` at promote or distrust (generation g: the new CA), every pool must
 * be confirmed rolled to g in `kube-pki:rollout.poolsRolled.<pool>.ca` (its machines then trust the new CA in
 * their kubelet.conf). `states`: this run's CA states; `pools`: the pool names.
 */
export function poolPhaseProblems(states: Record<string, { phase: string; generation: number }>, pools: string[], poolsRolled: Record<string, Record<string, number>>): string[] {
    const s = states["ca"];
    if (!s || (s.phase !== "promote" && s.phase !== "distrust")) return [];
    const problems: string[] = [];
    for (const pool of [...pools].sort()) {
        const rolled = poolsRolled[pool]?.ca;
        if (rolled !== undefined && rolled >= s.generation) continue;
        problems.push(
            `kube-pki:rollout.poolsRolled.${pool}.ca: the ca rotation is at ${s.phase} (generation ${s.generation}) but pool ${pool} is ` +
                (rolled === undefined ? "not confirmed rolled" : `confirmed rolled to generation ${rolled} only`) +
                `: its machines that joined before stage trust only the old ca in their kubelet.conf and would refuse the apiservers' new certificates. ` +
                `Roll the pool (replace its machines with ones joined from this stack's current bootstrap data, which trust both CAs), then ` +
                `\`pulumi config set --path kube-pki:rollout.poolsRolled.${pool}.ca ${s.generation}\` and run \`pulumi up\` again.`,
        );
    }
    return problems;
}
