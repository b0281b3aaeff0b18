import { execFileSync } from "node:child_process";
import { publishCheckout, startGitHttps } from "./git-https";
(async () => {
    const root = "/tmp/pkgt/git/srv";
    require("fs").rmSync(root, { recursive: true, force: true });
    require("fs").mkdirSync(root, { recursive: true });
    const run = async (args: string[], cwd: string) => execFileSync("git", args, { cwd, encoding: "utf8" });
    await publishCheckout(run, "/work/wt/pkg", root, "kube-pki", "v0.1.0");
    const s = await startGitHttps(root, 18443, "/tmp/pkgt/git/ca.crt", process.env);
    console.log("serving", s.url);
    process.on("SIGTERM", () => s.stop().then(() => process.exit(0)));
})();
