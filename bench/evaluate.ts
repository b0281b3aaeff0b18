/**
 * One measurement, in a fresh process (so peak RSS is this run's): evaluates the kube-pki ClusterPki for
 * 3 control planes + N workers under Pulumi mocks and prints one JSON line.
 *   mode "nocrypto": mocks echo inputs and return placeholder outputs, so only kube-pki's own code is measured;
 *   mode "crypto": the crypto-faithful tls emulator (real keys and certificates);
 *   mode "pools": like nocrypto, but the N workers join through 4 worker pools (TLS bootstrap): no per-node entries
 *   at all, so the program does not see N (the row shows that the cost does not depend on it).
 * Usage: ts-node bench/evaluate.ts <workers> <nocrypto|crypto|pools>
 */
import * as pulumi from "@pulumi/pulumi";
import { NoCryptoMocks } from "./mocks";

const workers = Number(process.argv[2] ?? 10);
const mode = process.argv[3] ?? "nocrypto";

async function main() {
    let counter: () => number;
    if (mode === "crypto") {
        const { setupMocks } = await import("../test/support/tls-emulator");
        const em = setupMocks();
        counter = () => em.resources.length; // every registration, components included, as in nocrypto mode
    } else {
        const mocks = new NoCryptoMocks();
        pulumi.runtime.setMocks(mocks, "kube-pki", "bench", false);
        counter = () => mocks.count;
    }
    const { ClusterPki } = await import("../components");
    const start = process.hrtime.bigint();
    const pki = new ClusterPki("bench", {
        clusterName: "bench",
        controlPlaneEndpoint: "api.bench.example:6443",
        controlPlanes: [1, 2, 3].map((i) => ({ name: `cp-${i}`, advertiseAddress: `10.0.0.${10 + i}` })),
        workerPools: mode === "pools" ? ["general", "gpu", "spot", "infra"].map((name) => ({ name })) : undefined,
        workers: Array.from({ length: mode === "pools" ? 0 : workers }, (_, i) => ({
            name: `worker-${i}`,
            addresses: [`10.${1 + Math.floor(i / 250)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`],
        })),
        keyAlgorithm: mode === "crypto" ? "ECDSA-P256" : undefined,
    });
    // Wait for everything the program exports to resolve.
    const files = Object.values(pki.nodeFiles).flatMap((m) => Object.values(m).map((f) => f.content));
    await new Promise<void>((resolve) =>
        pulumi.all([pki.inventory, pulumi.all(pki.kubeconfigs), pulumi.all(files)]).apply(() => resolve()),
    );
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const resources = counter();
    console.log(
        JSON.stringify({ workers, mode, ms, rssMb: process.resourceUsage().maxRSS / 1024, resources, perWorker: workers ? resources / workers : 0 }),
    );
}
main().catch((e) => {
    console.error(e);
    process.exit(1);
});
