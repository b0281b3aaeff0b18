/** Mocks for the benchmarks: echo the inputs and return placeholder outputs, so no crypto is measured. */
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";

let placeholderCert: string | undefined;
/**
 * One real certificate, made once per process (openssl; its key goes to /dev/null), that every mocked certificate
 * carries after its own name: code that parses a CA bundle (worker pools hash their CAs' public keys for kubeadm's
 * discovery) gets a certificate, and no crypto runs per resource.
 */
function placeholder(): string {
    placeholderCert ??= execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null", "-subj", "/CN=bench-placeholder", "-days", "1"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
    return placeholderCert;
}

/** An RFC 3339 time in whole seconds, like the tls provider's validity times. */
const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

export class NoCryptoMocks implements pulumi.runtime.Mocks {
    count = 0;
    /** The mocks' clock (ms); the real one unless a caller fixes it. The certificate is made here, before timing. */
    constructor(readonly now: () => number = Date.now) {
        placeholder();
    }
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        this.count++;
        const state: Record<string, any> = { ...args.inputs };
        if (args.type === "tls:index/privateKey:PrivateKey") {
            state.privateKeyPem = "KEY";
            state.publicKeyPem = "PUB";
        } else if (args.type === "tls:index/certRequest:CertRequest") {
            state.certRequestPem = "CSR";
        } else if (args.type.startsWith("tls:index/")) {
            state.certPem = `CERT-${args.name}\n${placeholder()}`;
            // As the provider does: issued now, valid for validityPeriodHours (no fixed dates: the bench runs in any year).
            const now = this.now();
            const hours = Number(args.inputs.validityPeriodHours ?? 0);
            state.validityStartTime = rfc3339(now);
            state.validityEndTime = rfc3339(now + hours * 3_600_000);
        }
        return { id: `${args.name}-id`, state };
    }
    call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
    }
}
