/**
 * A git server over HTTPS on loopback for the step consumer-git: `git http-backend` (git's own smart-HTTP CGI) behind
 * a Node.js https server, with a CA made here in memory (@peculiar/x509, ECDSA P-256) that signs the server's
 * certificate for 127.0.0.1. The CA certificate (public) is written to a file for the clients: GIT_SSL_CAINFO for git,
 * SSL_CERT_FILE for the Pulumi CLI's go-git. The server's private key never leaves this process.
 */
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import "../test/support/reflect-shim";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = crypto.webcrypto.CryptoKey;
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

export interface GitHttpsServer {
    /** https://<ip> (port 443) */
    url: string;
    /** The CA certificate file clients trust. */
    caFile: string;
    /** How many requests the backend answered, and how many of them were the clone's upload-pack POSTs. */
    requests: { total: number; uploadPack: number };
    stop(): Promise<void>;
}

async function pemKey(key: CryptoKey): Promise<string> {
    const der = Buffer.from(await crypto.webcrypto.subtle.exportKey("pkcs8", key));
    return crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" }).export({ format: "pem", type: "pkcs8" }).toString();
}

/** A CA and a server certificate for `ip`, valid from an hour ago for a day (the run's own clock). */
async function makeTls(ip: string): Promise<{ caPem: string; certPem: string; keyPem: string }> {
    const notBefore = new Date(Date.now() - 3600_000);
    const notAfter = new Date(Date.now() + 86400_000);
    const caKeys = (await crypto.webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "01",
        name: "CN=kube-pki e2e git CA",
        notBefore,
        notAfter,
        keys: caKeys,
        signingAlgorithm: SIGN,
        extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const keys = (await crypto.webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: "02",
        subject: `CN=${ip}`,
        issuer: ca.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: SIGN,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            new x509.SubjectAlternativeNameExtension([
                { type: "ip", value: ip },
                { type: "dns", value: "localhost" },
            ]),
        ],
    });
    return { caPem: ca.toString("pem"), certPem: cert.toString("pem"), keyPem: await pemKey(keys.privateKey) };
}

/**
 * Serves the bare repositories under `projectRoot` (read-only: receive-pack is refused) on `ip`:443 of the loopback
 * net 127.0.0.0/8, the first of `ips` where 443 is free. Port 443 because the Pulumi CLI 3.248 cannot use a git URL
 * with a port: after the install it strips the plugin's `git://` download URL to `host:port/repo.git/path`, which no
 * longer parses as a URL, so `pulumi package add` panics (packageresolution strips, packagecmd/package_add.go
 * dereferences the failed stat). `caFile` is where the CA certificate is written (0644).
 */
export async function startGitHttps(projectRoot: string, ips: string[], caFile: string, env: NodeJS.ProcessEnv): Promise<GitHttpsServer> {
    for (const ip of ips) {
        const s = await startOn(projectRoot, ip, caFile, env).catch((e: NodeJS.ErrnoException) => {
            if (e.code === "EADDRINUSE") return undefined;
            throw e;
        });
        if (s) return s;
    }
    throw new Error(`git server: port 443 is in use on every one of ${ips.join(", ")}`);
}

async function startOn(projectRoot: string, ip: string, caFile: string, env: NodeJS.ProcessEnv): Promise<GitHttpsServer> {
    const tls = await makeTls(ip);
    fs.writeFileSync(caFile, tls.caPem, { mode: 0o644 });
    const requests = { total: 0, uploadPack: 0 };
    const server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
        const u = new URL(req.url ?? "/", `https://${ip}`);
        requests.total++;
        if (u.pathname.endsWith("/git-upload-pack")) requests.uploadPack++;
        if (u.pathname.endsWith("/git-receive-pack") || u.searchParams.get("service") === "git-receive-pack") {
            res.writeHead(403).end("read-only\n");
            return;
        }
        const cgi = spawn("git", ["http-backend"], {
            env: {
                PATH: env.PATH,
                HOME: env.HOME,
                GIT_PROJECT_ROOT: projectRoot,
                GIT_HTTP_EXPORT_ALL: "1",
                GATEWAY_INTERFACE: "CGI/1.1",
                REQUEST_METHOD: req.method ?? "GET",
                PATH_INFO: decodeURIComponent(u.pathname),
                QUERY_STRING: u.search.replace(/^\?/, ""),
                CONTENT_TYPE: req.headers["content-type"] ?? "",
                ...(req.headers["content-length"] ? { CONTENT_LENGTH: req.headers["content-length"] } : {}),
                ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
                ...(req.headers["git-protocol"] ? { GIT_PROTOCOL: String(req.headers["git-protocol"]) } : {}),
                REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
                SERVER_PROTOCOL: "HTTP/1.1",
            },
            stdio: ["pipe", "pipe", "pipe"],
        });
        req.pipe(cgi.stdin);
        let head = Buffer.alloc(0);
        let headerDone = false;
        let stderr = "";
        cgi.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        cgi.stdout.on("data", (d: Buffer) => {
            if (headerDone) {
                res.write(d);
                return;
            }
            head = Buffer.concat([head, d]);
            const end = head.indexOf("\r\n\r\n");
            if (end < 0) return;
            headerDone = true;
            let status = 200;
            for (const line of head.subarray(0, end).toString().split("\r\n")) {
                const i = line.indexOf(":");
                const [k, v] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
                if (/^status$/i.test(k)) status = parseInt(v, 10);
                else res.setHeader(k, v);
            }
            res.writeHead(status);
            res.write(head.subarray(end + 4));
        });
        cgi.on("close", (code) => {
            if (!headerDone) res.writeHead(500).end(`git http-backend: exit ${code}: ${stderr}`);
            else res.end();
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(443, ip, () => resolve());
    });
    return {
        url: `https://${ip}`,
        caFile,
        requests,
        stop: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/**
 * A bare repository `<root>/<name>.git` holding the checkout's files as a user's clone has them (tracked and new,
 * not ignored: `git ls-files --cached --others --exclude-standard`, so uncommitted work is served too) in one commit,
 * tagged `tag`.
 */
export async function publishCheckout(
    run: (args: string[], cwd: string) => Promise<string>,
    checkout: string,
    root: string,
    name: string,
    tag: string,
): Promise<string> {
    const work = path.join(root, `${name}-work`);
    fs.mkdirSync(work, { recursive: true });
    const files = (await run(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], checkout)).split("\0").filter(Boolean);
    for (const rel of files) {
        const from = path.join(checkout, rel);
        if (!fs.existsSync(from)) continue; // deleted in the work tree
        fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
        fs.copyFileSync(from, path.join(work, rel));
        fs.chmodSync(path.join(work, rel), fs.statSync(from).mode & 0o777);
    }
    await run(["init", "-q", "-b", "main"], work);
    await run(["add", "-A"], work);
    await run(["-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "commit", "-q", "-m", "kube-pki"], work);
    await run(["tag", tag], work);
    const bare = path.join(root, `${name}.git`);
    await run(["clone", "-q", "--bare", work, bare], root);
    fs.rmSync(work, { recursive: true, force: true });
    return bare;
}
