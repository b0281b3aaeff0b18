/** PEM helpers. Imports nothing of ours: the report, worker pools and sinks share them. */
import { X509Certificate } from "node:crypto";

/** Every certificate of a PEM bundle, in order; throws naming `where` when there is none or one is bad. */
export function pemCerts(pem: string, where: string): X509Certificate[] {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (!blocks) throw new Error(`${where}: no PEM certificate`);
    return blocks.map((block, i) => {
        try {
            return new X509Certificate(block);
        } catch (err) {
            throw new Error(`${where}: bad certificate${blocks.length > 1 ? ` #${i + 1}` : ""}: ${(err as Error).message}`);
        }
    });
}

/** PEMs one after the other, each ending in a newline (a trust bundle). */
export function joinPems(pems: string[]): string {
    return pems.map((p) => p.trim() + "\n").join("");
}
