/** Mocks for the benchmarks: echo the inputs and return placeholder outputs, so no crypto is measured. */
import * as pulumi from "@pulumi/pulumi";

export class NoCryptoMocks implements pulumi.runtime.Mocks {
    count = 0;
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        this.count++;
        const state: Record<string, any> = { ...args.inputs };
        if (args.type === "tls:index/privateKey:PrivateKey") {
            state.privateKeyPem = "KEY";
            state.publicKeyPem = "PUB";
        } else if (args.type === "tls:index/certRequest:CertRequest") {
            state.certRequestPem = "CSR";
        } else if (args.type.startsWith("tls:index/")) {
            state.certPem = `CERT-${args.name}`;
            state.validityStartTime = "2026-01-01T00:00:00Z";
            state.validityEndTime = "2027-01-01T00:00:00Z";
        }
        return { id: `${args.name}-id`, state };
    }
    call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
    }
}
