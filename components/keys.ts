import * as tls from "@pulumi/tls";
import { KeyAlgorithm } from "./catalog";
import { keyAlgorithmProblem } from "./validation/keys";
import { ConfigError } from "./validation/problems";

/**
 * Translates a kubeadm encryptionAlgorithm name into tls.PrivateKey args (the curve is always explicit: the
 * provider's default curve is P-224). Anything else is a ConfigError naming `field`: no "ECDSA" without a curve,
 * no "RSA-512".
 */
export function privateKeyArgs(algorithm: KeyAlgorithm | string, field = "keyAlgorithm"): tls.PrivateKeyArgs {
    const problem = keyAlgorithmProblem(algorithm);
    if (problem) throw new ConfigError("key algorithm", [`${field}: ${problem}`]);
    const [family, size] = algorithm.split("-");
    if (family === "RSA") return { algorithm: "RSA", rsaBits: Number(size) };
    return { algorithm: "ECDSA", ecdsaCurve: size };
}
