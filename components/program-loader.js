"use strict";
/**
 * kube-pki's TypeScript loader for the project's own Pulumi program (Pulumi.yaml: `typescript: false`,
 * `nodeargs: --require ./components/program-loader.js`) and for the NodeFiles dynamic-provider process.
 *
 * It replaces ts-node, which loads the TypeScript compiler and transpiles every module on every run: here each
 * .ts module is transpiled once (TypeScript's transpileModule, the same transpile-only compile as ts-node's, with
 * tsconfig.pulumi.json's options, CommonJS, no source maps) and the JavaScript kept in a content-addressed cache,
 * node_modules/.cache/kube-pki-program/<sha256>.js. The key is the SHA-256 of the module's source, this file,
 * tsconfig.json, tsconfig.pulumi.json and the TypeScript version, so a changed source (or compiler, or option)
 * is simply a new key: the cache is never stale, whoever edits the sources and however the CLI is run. The
 * compiler is loaded only when a module is not in the cache. The cache holds compiled program code only (no
 * config, no secrets); entries are written to a temp name and renamed, so concurrent runs share it safely.
 *
 * Plain JavaScript (node built-ins only) because it runs before any TypeScript can be loaded.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

if (!require.extensions[".ts"]) {
    const root = path.resolve(__dirname, "..");
    const readOr = (file, fallback) => {
        try {
            return fs.readFileSync(file, "utf8");
        } catch {
            return fallback;
        }
    };
    const tsPackage = path.join(path.dirname(require.resolve("typescript/package.json", { paths: [root] })), "package.json");
    const salt = [fs.readFileSync(__filename, "utf8"), readOr(path.join(root, "tsconfig.json"), ""), readOr(path.join(root, "tsconfig.pulumi.json"), ""), JSON.parse(fs.readFileSync(tsPackage, "utf8")).version].join("\0");
    const cacheDir = path.join(root, "node_modules", ".cache", "kube-pki-program");

    let compile;
    const compiler = () => {
        if (compile) return compile;
        const ts = require(require.resolve("typescript", { paths: [root] }));
        const config = path.join(root, "tsconfig.pulumi.json");
        const parsed = ts.getParsedCommandLineOfConfigFile(fs.existsSync(config) ? config : path.join(root, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
        const compilerOptions = { ...(parsed ? parsed.options : {}), module: ts.ModuleKind.CommonJS, sourceMap: false, inlineSourceMap: false, declaration: false, declarationMap: false, noEmit: false };
        compile = (source, fileName) => ts.transpileModule(source, { compilerOptions, fileName, reportDiagnostics: false }).outputText;
        return compile;
    };

    require.extensions[".ts"] = function loadTypeScript(module, filename) {
        const source = fs.readFileSync(filename, "utf8");
        const key = crypto.createHash("sha256").update(salt).update("\0").update(source).digest("hex");
        const cached = path.join(cacheDir, `${key}.js`);
        let js = readOr(cached, undefined);
        if (js === undefined) {
            js = compiler()(source, filename);
            try {
                fs.mkdirSync(cacheDir, { recursive: true });
                const tmp = `${cached}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
                fs.writeFileSync(tmp, js);
                fs.renameSync(tmp, cached);
            } catch {
                // a read-only node_modules: run uncached
            }
        }
        module._compile(js, filename);
    };
}
