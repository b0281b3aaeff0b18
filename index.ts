/**
 * The kube-pki Pulumi program. `kube-pki:role` picks what a stack is:
 *  - "cluster" (default): one cluster's PKI; self-contained, or under a root stack named by `kube-pki:rootStack`;
 *  - "root": the shared root CA and one intermediate per cluster listed in `kube-pki:clusters`.
 * Library users import `./components` instead (see docs/library.md).
 */
import * as pulumi from "@pulumi/pulumi";
import {
    ClusterPki,
    clusterConfigKeys,
    ConfigError,
    configKeyProblems,
    MEMORY_OUTPUT,
    memoryOf,
    parseClusterPkiArgs,
    prepareClusterPki,
    readPreviousRootIntermediates,
    readRootStack,
    RootPki,
    STACK_CONFIG_KEYS,
    WHAT_IF_CLOCK_ENV,
    withPreviousRun,
    workerPoolOutputs,
    controlPlaneKubeadmFragment,
} from "./components/internal";
import { buildSinks, readSinksConfig, SINK_CONFIG_KEYS, sinksConfigProblems } from "./components/sinks";

const PROGRAM_KEYS = ["role", "rootStack", "rootCa", "clusters", ...SINK_CONFIG_KEYS];

const ROOT_KEYS = ["role", "rootCa", "clusters", "allowRemoveClusters"];

/** Where a stack's config lives, for messages. */
const configContext = () => `config of stack "${pulumi.getStack()}" (stacks/Pulumi.${pulumi.getStack()}.yaml)`;

/** `workers[1].name: ...` → `kube-pki:workers[1].name: ...`: problems name the key as it is written in the stack file. */
function asConfigKey(problem: string): string {
    const key = /^([A-Za-z]+)(?=[[.:])/.exec(problem)?.[1];
    return key && key in STACK_CONFIG_KEYS ? `kube-pki:${problem}` : problem;
}

async function rootStack(config: pulumi.Config) {
    // Pulumi.yaml's typed cluster keys are set on every stack (with their defaults): known here too, and unused.
    const keyProblems = configKeyProblems(config, [...ROOT_KEYS, ...clusterConfigKeys(PROGRAM_KEYS)]);
    if (config.get("clusters") === undefined) {
        keyProblems.push('kube-pki:clusters: is required on a root stack (the clusters to issue intermediates for, e.g. [{name: prod, cas: [ca, etcd-ca, front-proxy-ca]}])');
    }
    if (keyProblems.length) throw new ConfigError(configContext(), keyProblems);
    const root = new RootPki("root", {
        ...(config.getObject<object>("rootCa") ?? {}),
        clusters: config.requireObject("clusters"),
        // what the previous run issued: dropping an intermediate is refused unless allowRemoveClusters lists it
        previousIntermediates: await readPreviousRootIntermediates(undefined, "root"),
        allowRemoveClusters: config.getObject<string[]>("allowRemoveClusters"),
    });
    return {
        role: "root",
        rootCertificate: root.rootCertificate,
        /** cluster → CA id → [{generation, certPem, keyPem (secret)}] */
        intermediates: root.intermediates,
        /** The RootPki's memory (the issued generations), read back by the next run. */
        [MEMORY_OUTPUT]: memoryOf(root),
    };
}

async function clusterStack(config: pulumi.Config) {
    // One pass over everything the stack config says: unknown keys and unparsable values, the validation of
    // everything that parsed (once: the component reuses it), the what-if clock rule and the sink config against the
    // names the PKI will have; all of it before any resource is registered.
    const { args: parsed, problems } = parseClusterPkiArgs(config, PROGRAM_KEYS);
    const sinksConfig = readSinksConfig(config);
    // "What rotates on date D": KUBE_PKI_NOW overrides the clock (a preview; `up` refuses a clock far from real time).
    if (process.env[WHAT_IF_CLOCK_ENV]) parsed.now = process.env[WHAT_IF_CLOCK_ENV];
    const name = parsed.clusterName ?? pulumi.getStack();
    // The root stack's intermediates are validated with the rest (their generations against caRotation); a root
    // stack that cannot be read is reported after the stack's own config problems.
    const rootStackName = config.get("rootStack");
    let root: Awaited<ReturnType<typeof readRootStack>> | undefined;
    let rootError: unknown;
    if (rootStackName) {
        try {
            root = await readRootStack(rootStackName, parsed.clusterName);
            parsed.externalCas = root.externalCas;
        } catch (e) {
            rootError = e;
        }
    }
    // The memory the previous run exported (kubePkiMemory, or the flat outputs of an older program).
    const args = await withPreviousRun(name, parsed, { program: true });
    try {
        const { names } = prepareClusterPki(name, args);
        problems.push(...sinksConfigProblems(names, sinksConfig));
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        problems.push(...e.problems);
    }
    if (problems.length) throw new ConfigError(configContext(), problems.map(asConfigKey));
    if (rootError) throw rootError;
    const rootCertificate = root?.rootCertificate;
    const pki = new ClusterPki(name, args);
    // Sinks: node file trees, cloud-init documents, Kubernetes Secrets (each only when configured).
    const sinks = buildSinks(pki.config.clusterName, pki, sinksConfig);
    return {
        role: "cluster",
        clusterName: pki.config.clusterName,
        ...(rootCertificate ? { rootCertificate } : {}),
        caCertificates: pki.caCertificates,
        trustBundles: pki.trustBundles,
        serviceAccountPublicKey: pki.serviceAccountPublicKey,
        /** Secret: every kubeconfig, e.g. kubeconfigs["admin.conf"], kubeconfigs["worker-1/kubelet.conf"]. */
        kubeconfigs: pki.kubeconfigs,
        /** Per node: relative path → {content, mode, secret}; key contents are secrets. */
        nodeFiles: pki.nodeFiles,
        inventory: pki.inventory,
        rotationState: pki.rotationState,
        rotationTokens: pki.rotationTokens,
        nextRotation: pki.nextRotation,
        workerPoolTokens: pki.workerPoolTokens,
        /** The component's memory, read back by the next run (the five outputs above are kept for readers of the stack). */
        [MEMORY_OUTPUT]: memoryOf(pki),
        ...(Object.keys(pki.workerPools).length
            ? { workerPools: workerPoolOutputs(pki), workerPoolControlPlaneConfig: controlPlaneKubeadmFragment() }
            : {}),
        nodeFileHashes: Object.fromEntries(Object.entries(sinks.nodeFiles).map(([node, sink]) => [node, sink.hashes])),
        ...(Object.keys(sinks.cloudInit).length ? { cloudInit: sinks.cloudInit } : {}), // secret
        ...(sinks.secrets ? { kubernetesObjects: sinks.secrets.names } : {}),
    };
}

export = async () => {
    const config = new pulumi.Config();
    const role = config.get("role") ?? "cluster";
    if (role === "root") return rootStack(config);
    if (role === "cluster") return clusterStack(config);
    throw new ConfigError("stack config", [`kube-pki:role: "${role}" is not a role (use "cluster" or "root")`]);
};
