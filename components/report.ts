/**
 * Certificate expiry report, like `kubeadm certs check-expiration` (docs/rotation.md), from the ClusterPki
 * `inventory` stack output or from a kubeadm certificate directory; rendered as a kubeadm-style table, JSON, or
 * Prometheus text. One concern a file under report/: durations (kubeadm's RESIDUAL TIME), rows (status and the
 * inventory), cert-dir (a kubeadm cert tree), format (the three renderers).
 *
 * Pure logic: no clock (every function takes `now`), no I/O except reading the directory passed to
 * `rowsFromCertDir`. kubeadm references are to k8s.io/kubernetes v1.34 `cmd/kubeadm/app/cmd/certs.go` and
 * `phases/certs/renewal/manager.go`, and k8s.io/apimachinery `pkg/util/duration/duration.go`.
 */
export * from "./report/durations";
export * from "./report/rows";
export * from "./report/cert-dir";
export * from "./report/format";
export { pemCerts } from "./pem";
