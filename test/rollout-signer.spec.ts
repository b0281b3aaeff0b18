/**
 * The CSR signer through a CA rotation (issue 24's live finding: no kubelet CSR was signed after stage).
 * kube-controller-manager's signer (`--cluster-signing-cert-file` / `--cluster-signing-key-file`) refuses a
 * certificate file holding more than one certificate ("expected 1 certificate, found 2", kubernetes
 * pkg/controller/certificates/signer ca_provider.go setCA), and kubeadm's ca.crt is the two-CA trust bundle from
 * stage to distrust. In every phase, the files the catalog says the signer reads must be ONE certificate and the
 * key it belongs to, the active CA's, on every control plane; the control-plane fragment pools need points the
 * signer at the same files. Real X.509 from the tls emulator, across runs (the rotation rig).
 */
import { strict as assert } from "node:assert";
import { createPublicKey, KeyObject, X509Certificate } from "node:crypto";
import { parse } from "yaml";
import { FILE_READERS } from "../components/catalog";
import { controlPlaneKubeadmFragment } from "../components/worker-pool";
import { valueOf } from "./support/resolve";
import { at, Rig, T0 } from "./support/rotation-rig";

const CERTS = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const spki = (k: string | KeyObject) => (typeof k === "string" ? createPublicKey(k) : k).export({ type: "spki", format: "der" }).toString("base64");

/** The node-root-relative file the catalog says kube-controller-manager reads through `flag`. */
function readBy(flag: string): string {
    const files = Object.entries(FILE_READERS).filter(([, rs]) => rs.some((r) => r.component === "kube-controller-manager" && r.flag === flag)).map(([f]) => f);
    assert.equal(files.length, 1, `one file for ${flag}: ${files.join(", ")}`);
    return files[0];
}

describe("rollout: the CSR signer's files through a ca rotation", function () {
    this.timeout(120_000);
    const rig = new Rig();
    const signerCert = readBy("--cluster-signing-cert-file");
    const signerKey = readBy("--cluster-signing-key-file");

    it("the kubeadm fragment for pools points the signer at the catalog's files", () => {
        const args = (parse(controlPlaneKubeadmFragment()) as { controllerManager: { extraArgs: { name: string; value: string }[] } }).controllerManager.extraArgs;
        const v = (n: string) => args.find((a) => a.name === n)?.value;
        assert.equal(v("cluster-signing-cert-file"), `/${signerCert}`);
        assert.equal(v("cluster-signing-key-file"), `/${signerKey}`);
    });

    const phases: [string, Date, Record<string, string>][] = [
        ["none", T0, {}],
        ["stage", at(1), { ca: "stage" }],
        ["promote", at(2), { ca: "promote" }],
        ["distrust", at(3), { ca: "distrust" }],
    ];
    for (const [phase, when, caRotation] of phases) {
        it(`${phase}: the signer reads one certificate, the active ca's, and the key it belongs to`, async () => {
            const r = await rig.run(when, { caRotation });
            const active = new X509Certificate(await valueOf(r.pki.caCertificates.ca));
            const bundle = r.files["cp-1"]["etc/kubernetes/pki/ca.crt"].match(CERTS) ?? [];
            assert.equal(bundle.length, phase === "stage" || phase === "promote" ? 2 : 1, "ca.crt is the trust bundle");
            const certs = r.files["cp-1"][signerCert]?.match(CERTS) ?? [];
            assert.equal(certs.length, 1, `${signerCert} holds ${certs.length} certificates: the signer refuses anything but one`);
            const cert = new X509Certificate(certs[0]);
            assert.equal(cert.fingerprint256, active.fingerprint256, "the active (signing) ca");
            assert.equal(spki(r.files["cp-1"][signerKey]), spki(cert.publicKey), `${signerKey} belongs to it`);
            assert.equal(r.files["worker-1"][signerCert], undefined, "workers get no signer file");
        });
    }
});
