/**
 * Step consumer-python: the Python program examples/python (copied as it is: Pulumi.yaml `runtime: python` with
 * `virtualenv: venv`, requirements.txt pinning the PyPI `pulumi` package to the CLI's version, __main__.py) in a temp
 * dir. The step makes the virtualenv (`python3 -m venv venv`) and pip-installs requirements.txt into it from PyPI;
 * `pulumi package add <provider dir>` through our Python language host (tools/pulumi-language-python, built by
 * tools.sh) generates the kube_pki_kube_pki SDK into sdks/, adds it to requirements.txt and pip-installs it. Then the
 * checks of every package consumer (upAndCheckPackageConsumer), plus the NodeFiles sink the program creates per node
 * (served by the component package): its trees have the map's modes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, runOk } from "../procs";
import { Ctx } from "../steps";
import { cli, componentPackageDir, EXAMPLES_DIR, nodeFilesSinkChecks, pulumiVersion, upAndCheckPackageConsumer } from "./common";

export async function stepConsumerPython(ctx: Ctx, signal: AbortSignal) {
    const s = ctx.suite;
    const pluginDir = await componentPackageDir(ctx);
    const dir = path.join(ctx.work, "consumer-python");
    fs.mkdirSync(dir, { recursive: true });
    // examples/python, run as it is (so the example cannot rot); requirements.txt must pin the CLI's pulumi
    for (const f of ["Pulumi.yaml", "requirements.txt", "__main__.py"]) fs.copyFileSync(path.join(EXAMPLES_DIR, "python", f), path.join(dir, f));
    const pinned = /^pulumi==(\S+)$/m.exec(fs.readFileSync(path.join(dir, "requirements.txt"), "utf8"))?.[1];
    s.check(`consumer-python: examples/python/requirements.txt pins the PyPI pulumi package to the CLI's version (${pulumiVersion()})`, pinned === pulumiVersion(), `requirements.txt pins ${pinned}`);

    // the virtualenv the program's Pulumi.yaml names, made and filled by the step (PyPI)
    let started = Date.now();
    await runOk("python3", ["-m", "venv", "venv"], { cwd: dir, env: ctx.env, log: "consumer-python-venv", timeoutMs: 300_000, signal });
    const python = path.join(dir, "venv/bin/python");
    await runOk(python, ["-m", "pip", "install", "--disable-pip-version-check", "-r", "requirements.txt"], { cwd: dir, env: ctx.env, log: "consumer-python-pip", timeoutMs: 600_000, signal });
    s.info(`consumer-python: python3 -m venv + pip install -r requirements.txt: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const version = (await runOk(python, ["-c", "import importlib.metadata as m; print(m.version('pulumi'))"], { cwd: dir, env: ctx.env, log: "consumer-python-version" })).stdout.trim();
    s.check("consumer-python: the virtualenv's pulumi package is the CLI's version", version === pulumiVersion(), `pulumi ${version}`);

    started = Date.now();
    const add = await cli(ctx, dir, ["package", "add", pluginDir], "pulumi-package-add-python", signal);
    s.info(`pulumi package add (python: SDK generated, pip-installed into the virtualenv): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const requirements = fs.readFileSync(path.join(dir, "requirements.txt"), "utf8");
    const site = fs.readdirSync(path.join(dir, "venv/lib")).map((py) => path.join(dir, "venv/lib", py, "site-packages"));
    s.check(
        "consumer-python: pulumi package add generated the kube_pki_kube_pki SDK, added it to requirements.txt, pip-installed it into the virtualenv and recorded kube-pki in Pulumi.yaml",
        add.code === 0 &&
            fs.existsSync(path.join(dir, "sdks/kube-pki-kube-pki/kube_pki_kube_pki/cluster_pki.py")) &&
            /^\.\/sdks\/kube-pki-kube-pki$/m.test(requirements) &&
            site.some((d) => fs.existsSync(path.join(d, "kube_pki_kube_pki/pulumi-plugin.json"))) &&
            /packages:\s*\n\s+kube-pki:/.test(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")),
        `${add.output.slice(-2000)}\n---\n${requirements}`,
    );

    await upAndCheckPackageConsumer(ctx, "consumer-python", dir, await freePort(), {}, signal, nodeFilesSinkChecks(ctx, "consumer-python"));
}
