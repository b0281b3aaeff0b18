/**
 * Secrecy of the exported stack state (`pulumi stack export`): no private key and no kubeconfig in plaintext,
 * every private key output and every secret file of the node trees stored as ciphertext.
 */
import { Suite } from "./harness";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

const isCiphertext = (v: unknown) =>
    typeof v === "object" && v !== null && (v as any)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270" && typeof (v as any).ciphertext === "string";

/** A PEM private key header, also base64-encoded (as inside a kubeconfig's client-key-data or a cloud-init b64 file). */
const PLAINTEXT_MARKERS = [
    "PRIVATE KEY",
    "client-key-data",
    ...["-----BEGIN RSA PRIVATE KEY", "-----BEGIN EC PRIVATE KEY", "-----BEGIN PRIVATE KEY"].map((h) =>
        Buffer.from(h).toString("base64").slice(0, 24),
    ),
];

export function checkExportedState(suite: Suite, label: string, exported: unknown) {
    const text = JSON.stringify(exported);
    for (const marker of PLAINTEXT_MARKERS) {
        const count = text.split(marker).length - 1;
        suite.check(`${label}: "${marker}" appears nowhere in the exported state`, count === 0, `${count} occurrence(s)`);
    }
    const resources: any[] = (exported as any)?.deployment?.resources ?? [];
    suite.check(`${label}: the export has resources`, resources.length > 0, JSON.stringify(exported).slice(0, 200));

    const keys = resources.filter((r) => r.type === "tls:index/privateKey:PrivateKey");
    const plainKeys = keys.filter((r) => !["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"].every((k) => isCiphertext(r.outputs?.[k])));
    suite.check(
        `${label}: all ${keys.length} tls PrivateKey resources store privateKeyPem/Pkcs8/Openssh as ciphertext`,
        keys.length > 0 && plainKeys.length === 0,
        plainKeys.map((r) => r.urn).join("\n"),
    );
    const signers = resources.filter((r) => r.type === "tls:index/locallySignedCert:LocallySignedCert");
    const plainCaKeys = signers.filter((r) => !isCiphertext(r.inputs?.caPrivateKeyPem));
    suite.check(
        `${label}: every LocallySignedCert's caPrivateKeyPem input is ciphertext (${signers.length})`,
        plainCaKeys.length === 0,
        plainCaKeys.map((r) => r.urn).join("\n"),
    );

    const stackOutputs = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.outputs ?? {};
    if (stackOutputs.kubeconfigs) {
        const plain = Object.entries(stackOutputs.kubeconfigs as Record<string, unknown>).filter(([, v]) => !isCiphertext(v));
        suite.check(`${label}: every kubeconfig stack output is ciphertext`, plain.length === 0, plain.map(([k]) => k).join(", "));
    }
    if (stackOutputs.nodeFiles) {
        const plain: string[] = [];
        let secretFiles = 0;
        for (const [node, files] of Object.entries(stackOutputs.nodeFiles as Record<string, Record<string, any>>)) {
            for (const [rel, f] of Object.entries(files)) {
                if (/\.(key|conf)$/.test(rel)) {
                    secretFiles++;
                    if (!isCiphertext(f.content) && !isCiphertext(f)) plain.push(`${node}/${rel}`);
                }
            }
        }
        suite.check(`${label}: the content of every key and kubeconfig in nodeFiles is ciphertext (${secretFiles} files)`, plain.length === 0, plain.join("\n"));
    }
}
