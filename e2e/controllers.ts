/**
 * Step "controllers": kube-controller-manager and kube-scheduler run from the tree like kubeadm's static pods.
 *  - each takes its leader Lease, i.e. controller-manager.conf / scheduler.conf authenticate and their bootstrap
 *    RBAC applies as the components use them (not only `whoami`);
 *  - the CSR signer signs with the tree's ca.key: an approved kubernetes.io/kube-apiserver-client CSR yields a cert
 *    that verifies against ca.crt and authenticates as its subject;
 *  - the root-CA publisher copies ca.crt (--root-ca-file) into every namespace's kube-root-ca.crt;
 *  - the clusterrole-aggregation controller fills the built-in `view` role.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, run, runOk, waitFor } from "./procs";
import type { Ctx } from "./steps";

export async function stepControllers(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const cp = ctx.cp!;
    const superAdmin = path.join(cp.kubeconfigDir, "super-admin.conf");
    const kubectl = (args: string[]) => cp.kubectl(superAdmin, args);

    await cp.startControllersAndScheduler({ controllerManager: await freePort(), scheduler: await freePort() });
    s.check(`kube-controller-manager (controller-manager.conf) holds its leader Lease after ${(cp.timings.controllerManager / 1000).toFixed(1)} s`, true);
    s.check(`kube-scheduler (scheduler.conf) holds its leader Lease after ${(cp.timings.scheduler / 1000).toFixed(1)} s`, true);

    // --root-ca-file: kube-root-ca.crt in a namespace is the tree's ca.crt
    const caPem = fs.readFileSync(cp.pkiFile("ca.crt"), "utf8");
    let published = "";
    await waitFor(
        "kube-root-ca.crt in namespace default",
        async () => {
            const r = await kubectl(["get", "configmap", "kube-root-ca.crt", "-n", "default", "-o", "jsonpath={.data.ca\\.crt}"]);
            published = r.stdout;
            return (r.code === 0 && published !== "") || r.output;
        },
        { timeoutMs: 60_000, daemon: cp.controllerManager, signal },
    ).catch((e: Error) => (published = e.message));
    s.check("the root-CA publisher writes the tree's ca.crt into kube-root-ca.crt (namespace default)", published.trim() === caPem.trim(), published.slice(0, 200));

    // the CSR signer: --cluster-signing-cert-file/key-file are the tree's ca.crt / ca.key
    const dir = path.join(ctx.work, "csr");
    fs.mkdirSync(dir, { mode: 0o700 });
    const f = (n: string) => path.join(dir, n);
    const o = { env: ctx.env, log: "openssl", timeoutMs: 60_000 };
    await runOk("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f("bob.key"), "-out", f("bob.csr"), "-subj", "/O=dev-team/CN=bob"], o);
    const csr = {
        apiVersion: "certificates.k8s.io/v1",
        kind: "CertificateSigningRequest",
        metadata: { name: "kube-pki-e2e-bob" },
        spec: {
            request: fs.readFileSync(f("bob.csr")).toString("base64"),
            signerName: "kubernetes.io/kube-apiserver-client",
            expirationSeconds: 3600,
            usages: ["client auth"],
        },
    };
    fs.writeFileSync(f("csr.json"), JSON.stringify(csr));
    const created = await kubectl(["create", "-f", f("csr.json")]);
    const approved = await kubectl(["certificate", "approve", "kube-pki-e2e-bob"]);
    s.check("CSR kube-pki-e2e-bob (kube-apiserver-client signer) created and approved", created.code === 0 && approved.code === 0, `${created.output}\n${approved.output}`);
    let issued = "";
    await waitFor(
        "the signed CSR",
        async () => {
            const r = await kubectl(["get", "csr", "kube-pki-e2e-bob", "-o", "jsonpath={.status.certificate}"]);
            issued = r.stdout.trim();
            return (r.code === 0 && issued !== "") || r.output || "not signed yet";
        },
        { timeoutMs: 60_000, daemon: cp.controllerManager, signal },
    ).catch(() => undefined);
    const certPem = Buffer.from(issued, "base64").toString("utf8");
    fs.writeFileSync(f("bob.crt"), certPem);
    const verify = await run("openssl", ["verify", "-CAfile", cp.pkiFile("ca.crt"), f("bob.crt")], { env: ctx.env, log: "openssl-verify" });
    let subject = "";
    try {
        subject = new crypto.X509Certificate(certPem).subject.replace(/\n/g, ", ");
    } catch {
        // reported below
    }
    s.check(
        `the controller-manager signed it with the tree's ca.key: openssl verify -CAfile ca.crt OK (${subject || "no certificate"})`,
        verify.code === 0 && verify.stdout.includes(": OK"),
        verify.output,
    );
    const who = await run(
        "kubectl",
        ["--kubeconfig=/dev/null", `--server=${cp.apiserverUrl}`, `--certificate-authority=${cp.pkiFile("ca.crt")}`, `--client-certificate=${f("bob.crt")}`, `--client-key=${f("bob.key")}`, "auth", "whoami", "-o", "json"],
        { env: { ...ctx.env, KUBECONFIG: "" }, log: "kubectl-bob", timeoutMs: 30_000 },
    );
    const info = who.code === 0 ? JSON.parse(who.stdout).status?.userInfo : undefined;
    s.check("the signed cert authenticates as bob [dev-team]", info?.username === "bob" && info?.groups?.includes("dev-team"), who.output);

    // clusterrole-aggregation: the built-in view role gets its rules
    let rules = "";
    await waitFor(
        "ClusterRole view aggregated",
        async () => {
            const r = await kubectl(["get", "clusterrole", "view", "-o", "jsonpath={.rules[*].resources}"]);
            rules = r.stdout;
            return (r.code === 0 && rules.includes("pods")) || r.output || "no rules yet";
        },
        { timeoutMs: 60_000, daemon: cp.controllerManager, signal },
    ).catch(() => undefined);
    s.check("the aggregation controller fills ClusterRole view (its rules include pods)", rules.includes("pods"), rules.slice(0, 200) || "empty");
}
