import * as tls from "@pulumi/tls";
import { KeyAlgorithm } from "./catalog";

/** Translates a kubeadm encryptionAlgorithm name into tls.PrivateKey args (the curve is always explicit: DESIGN §4). */
export function privateKeyArgs(algorithm: KeyAlgorithm | string): tls.PrivateKeyArgs {
    const [family, size] = algorithm.split("-");
    if (family === "RSA") return { algorithm: "RSA", rsaBits: Number(size) };
    if (family === "ECDSA") return { algorithm: "ECDSA", ecdsaCurve: size };
    throw new Error(`unsupported key algorithm ${algorithm}`);
}
