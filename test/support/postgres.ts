/**
 * A throwaway PostgreSQL server for the backend specs: Debian's postgresql 15 binaries, a cluster in a temp dir,
 * listening on 127.0.0.1 only (and a socket in that dir), trust auth for its own superuser; stopped (fast
 * shutdown) and removed by stop(). As root, the server runs as the `postgres` user (it refuses to run as root).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const BIN_DIRS = ["/usr/lib/postgresql/15/bin", ...(process.env.PATH ?? "").split(":")];

function bin(name: string): string | undefined {
    return BIN_DIRS.map((dir) => path.join(dir, name)).find((f) => fs.existsSync(f));
}

export const postgresAvailable = (): boolean => process.platform === "linux" && !!bin("initdb") && !!bin("postgres");

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

export interface Postgres {
    url: string;
    stop(): Promise<void>;
}

export async function startPostgres(): Promise<Postgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kp-pg-"));
    const asRoot = process.getuid?.() === 0;
    const as = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--clear-groups", cmd, ...args]] : [cmd, args]);
    if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
    const data = path.join(dir, "data");
    const user = "kubepki";
    execFileSync(...as(bin("initdb")!, ["-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-instructions"]), { stdio: "ignore" });
    const port = await freePort();
    const server: ChildProcess = spawn(...as(bin("postgres")!, ["-D", data, "-k", dir, "-c", "listen_addresses=127.0.0.1", "-p", String(port), "-c", "fsync=off"]), {
        stdio: ["ignore", "ignore", fs.openSync(path.join(os.tmpdir(), `kp-pg-${port}.log`), "w")],
    });
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    const url = `postgres://${user}@127.0.0.1:${port}/postgres?sslmode=disable`;
    for (let i = 0; ; i++) {
        try {
            execFileSync(bin("pg_isready")!, ["-h", "127.0.0.1", "-p", String(port), "-U", user], { stdio: "ignore" });
            break;
        } catch {
            if (i > 150 || server.exitCode !== null) {
                server.kill("SIGKILL");
                throw new Error(`postgres did not start (log: ${path.join(os.tmpdir(), `kp-pg-${port}.log`)})`);
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    }
    return {
        url,
        async stop() {
            server.kill("SIGINT"); // fast shutdown
            await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
            if (server.exitCode === null) server.kill("SIGKILL");
            fs.rmSync(dir, { recursive: true, force: true });
            fs.rmSync(path.join(os.tmpdir(), `kp-pg-${port}.log`), { force: true });
        },
    };
}
