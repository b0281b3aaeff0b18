/**
 * Rows from a kubeadm certificate directory, like `kubeadm certs check-expiration --cert-dir DIR` (k8s.io/kubernetes
 * v1.34 `cmd/kubeadm/app/cmd/certs.go`, `phases/certs/renewal/manager.go`). kubeadm's lists of CAs and certificates
 * are derived from the catalog (catalog.ts), not written again here.
 */
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { CAS, LEAVES } from "../catalog";
import { pemCerts } from "../pem";
import { DEFAULT_RENEW_BEFORE_HOURS, makeRow, MissingEntry, RenewBeforeHours, ReportRow, sortRows } from "./rows";


const PKI_DIR = "etc/kubernetes/pki/";

/** kubeadm's CAs in a cert dir (renewal.Manager.CAs): name → base name relative to the pki dir (the catalog's CAs). */
export const KUBEADM_CAS: { name: string; baseName: string }[] = CAS.map((c) => ({ name: c.id, baseName: c.file.slice(PKI_DIR.length) }));

/**
 * kubeadm's certificates (renewal.Manager.Certificates): pki certs by base name, kubeconfigs in the parent dir —
 * the catalog's leaves that `kubeadm certs` manages, by name.
 */
export const KUBEADM_CERTS: { name: string; ca: string; baseName?: string; kubeconfig?: string }[] = LEAVES.filter((l) => l.kubeadmCerts !== false)
    .map((l) => (l.file ? { name: l.id, ca: l.ca, baseName: l.file.slice(PKI_DIR.length) } : { name: l.id, ca: l.ca, kubeconfig: path.posix.basename(l.kubeconfig!) }))
    .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));

/** Every certificate of a PEM file, in order (kubeadm's TryLoadCertFromDisk uses the first). */
function readCertFile(file: string): X509Certificate[] {
    let pem: string;
    try {
        pem = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
    }
    return pemCerts(pem, file);
}

/** kubeconfigutil + renewal kubeConfigReadWriter.Read: current-context → its user → client-certificate-data. */
function readKubeconfigCert(file: string): X509Certificate {
    let doc: any;
    try {
        doc = parseYaml(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
    }
    const current = doc?.["current-context"];
    const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === current)?.context;
    if (!ctx) throw new Error(`${file}: invalid kubeconfig: missing context ${JSON.stringify(current ?? "")}`);
    const user = (doc?.users ?? []).find((u: any) => u?.name === ctx.user)?.user;
    if (!user) throw new Error(`${file}: invalid kubeconfig: missing user ${JSON.stringify(ctx.user ?? "")}`);
    const data = user["client-certificate-data"];
    if (typeof data !== "string" || !data) throw new Error(`${file}: empty client certificate data`);
    return pemCerts(Buffer.from(data, "base64").toString("utf8"), `${file} client-certificate-data`)[0];
}

const issuedBy = (cert: X509Certificate, ca: X509Certificate) => {
    try {
        return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    } catch {
        return false;
    }
};

const commonName = (dn: string) => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ", ");

/**
 * Reads a kubeadm cert tree like `kubeadm certs check-expiration --cert-dir DIR`: the pki files of KUBEADM_CAS and
 * KUBEADM_CERTS in `dir`, the kubeconfigs in its parent. The CA column is the CA whose certificate in `dir` signed
 * the cert (kubeadm's expected CA tried first), or `unknown (CN=<issuer CN>)`; EXTERNALLY MANAGED is kubeadm's
 * rule: the CA's `.key` is absent. Missing files are listed in `missing`; the etcd and front-proxy sets are not
 * expected when their CA certificate is absent (external etcd, no front proxy). Throws when `dir` is not a directory
 * or a present file cannot be parsed (kubeadm fails the same way).
 */
export function readCertDir(
    dir: string,
    now: Date,
    renewBeforeHours: RenewBeforeHours = DEFAULT_RENEW_BEFORE_HOURS,
): { rows: ReportRow[]; missing: MissingEntry[] } {
    let stat: fs.Stats;
    try {
        stat = fs.statSync(dir);
    } catch {
        throw new Error(`${dir}: no such directory`);
    }
    if (!stat.isDirectory()) throw new Error(`${dir}: not a directory`);
    const kubernetesDir = path.dirname(path.resolve(dir));
    const rows: ReportRow[] = [];
    const missing: MissingEntry[] = [];

    // A CA file may be a bundle (a staged CA rotation: active CA first). kubeadm reports the first certificate;
    // every certificate of the bundle counts as that CA when matching issuers.
    const cas = new Map<string, { bundle: X509Certificate[]; externallyManaged: boolean }>();
    for (const ca of KUBEADM_CAS) {
        const crt = path.join(dir, `${ca.baseName}.crt`);
        if (!fs.existsSync(crt)) {
            missing.push({ certificate: ca.name, isCa: true });
            continue;
        }
        const bundle = readCertFile(crt);
        const cert = bundle[0];
        const externallyManaged = !fs.existsSync(path.join(dir, `${ca.baseName}.key`));
        cas.set(ca.name, { bundle, externallyManaged });
        rows.push(
            makeRow(
                {
                    certificate: ca.name,
                    id: ca.name,
                    file: crt,
                    notAfter: new Date(cert.validTo),
                    notBefore: new Date(cert.validFrom),
                    ca: ca.name,
                    externallyManaged,
                    isCa: true,
                },
                now,
                renewBeforeHours.ca,
            ),
        );
    }
    // Without its CA certificate, a CA's certificate set is not part of this cluster (kubeadm decides from its config).
    const expected = (ca: string) => ca === "ca" || cas.has(ca);
    for (let i = missing.length - 1; i >= 0; i--) if (!expected(missing[i].certificate)) missing.splice(i, 1);

    for (const entry of KUBEADM_CERTS) {
        const file = entry.kubeconfig ? path.join(kubernetesDir, entry.kubeconfig) : path.join(dir, `${entry.baseName}.crt`);
        if (!fs.existsSync(file)) {
            if (expected(entry.ca)) missing.push({ certificate: entry.name, isCa: false });
            continue;
        }
        const cert = entry.kubeconfig ? readKubeconfigCert(file) : readCertFile(file)[0];
        const order = [entry.ca, ...KUBEADM_CAS.map((c) => c.name).filter((n) => n !== entry.ca)];
        const caName = order.find((n) => cas.get(n)?.bundle.some((ca) => issuedBy(cert, ca)));
        rows.push(
            makeRow(
                {
                    certificate: entry.name,
                    id: entry.name,
                    file,
                    notAfter: new Date(cert.validTo),
                    notBefore: new Date(cert.validFrom),
                    ca: caName ?? `unknown (CN=${commonName(cert.issuer)})`,
                    // kubeadm: IsExternallyManaged(handler.CABaseName), the key of the CA the cert belongs to.
                    externallyManaged: cas.get(caName ?? entry.ca)?.externallyManaged ?? false,
                    isCa: false,
                },
                now,
                renewBeforeHours.leaf,
            ),
        );
    }
    return { rows: sortRows(rows), missing };
}

/** `readCertDir(...).rows`. Defaults renewBefore: leaves 720 h, CAs 8760 h. */
export function rowsFromCertDir(dir: string, now: Date, renewBeforeHours?: RenewBeforeHours): ReportRow[] {
    return readCertDir(dir, now, renewBeforeHours).rows;
}
