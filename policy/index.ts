/**
 * kube-pki's CrossGuard policy pack: `pulumi preview --policy-pack <path to this directory>` on any Pulumi program.
 * The policies are in policies.ts; docs/policy.md lists them with their levels and thresholds.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";
import { installSecretMarkers } from "./secret-markers";

installSecretMarkers();

new PolicyPack("kube-pki", {
    description: "PKI hygiene for @pulumi/tls, kube-pki, Vault PKI and Kubernetes Secrets: key strength, lifetimes, identities, renewal, secrecy, CA rotation.",
    policies: POLICIES,
});
