/**
 * The Pulumi SDK's own floor under the same mocks as bench/evaluate.ts, in a fresh process: registers resources
 * with no kube-pki code at all, so `evaluate.ts` minus this is what kube-pki's components add.
 *   shape "graph": per leaf, the same four registrations LeafCertificate makes (a component with `{}` inputs, and a
 *                  key → CSR → cert chain whose cert takes a CA's cert/key Outputs), no outputs registered, no applies,
 *                  plus one CA (key + self-signed cert): 4 × leaves + 2 resources;
 *   shape "bare":  4 × leaves + 2 bare tls.PrivateKey resources (no inputs wired, no parents).
 * bench/run.ts passes leaves = (resources of the matching evaluate.ts run − 2) / 4, so the floor registers as many
 * resources as kube-pki does.
 * Usage: ts-node bench/sdk-floor.ts <leaves> <graph|bare>   → one JSON line, same fields as evaluate.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { NoCryptoMocks } from "./mocks";

const leaves = Number(process.argv[2] ?? 42);
const shape = process.argv[3] ?? "graph";

async function main() {
    const mocks = new NoCryptoMocks();
    pulumi.runtime.setMocks(mocks, "kube-pki", "bench", false);
    const tls = await import("@pulumi/tls");
    const start = process.hrtime.bigint();
    const waitFor: pulumi.Output<unknown>[] = [];
    if (shape === "bare") {
        for (let i = 0; i < 4 * leaves + 2; i++) {
            waitFor.push(new tls.PrivateKey(`k-${i}`, { algorithm: "RSA", rsaBits: 2048 }).privateKeyPem);
        }
    } else {
        const caKey = new tls.PrivateKey("ca-key", { algorithm: "RSA", rsaBits: 2048 });
        const ca = new tls.SelfSignedCert("ca-cert", {
            privateKeyPem: caKey.privateKeyPem,
            subject: { commonName: "kubernetes" },
            isCaCertificate: true,
            validityPeriodHours: 87600,
            allowedUses: ["cert_signing"],
        });
        for (let i = 0; i < leaves; i++) {
            const parent = new pulumi.ComponentResource("kube-pki:index:LeafCertificate", `leaf-${i}`, {});
            const key = new tls.PrivateKey(`leaf-${i}-key`, { algorithm: "RSA", rsaBits: 2048 }, { parent });
            const csr = new tls.CertRequest(
                `leaf-${i}-csr`,
                { privateKeyPem: key.privateKeyPem, subject: { commonName: `system:node:worker-${i}`, organization: "system:nodes" } },
                { parent },
            );
            const cert = new tls.LocallySignedCert(
                `leaf-${i}-cert`,
                {
                    certRequestPem: csr.certRequestPem,
                    caCertPem: ca.certPem,
                    caPrivateKeyPem: pulumi.secret(caKey.privateKeyPem),
                    validityPeriodHours: 8760,
                    earlyRenewalHours: 720,
                    allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
                },
                { parent },
            );
            waitFor.push(cert.certPem);
        }
    }
    await new Promise<void>((resolve) => pulumi.all(waitFor).apply(() => resolve()));
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(JSON.stringify({ leaves, mode: `floor-${shape}`, ms, rssMb: process.resourceUsage().maxRSS / 1024, resources: mocks.count }));
}
main().catch((e) => {
    console.error(e);
    process.exit(1);
});
