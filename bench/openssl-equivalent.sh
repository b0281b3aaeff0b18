#!/usr/bin/env bash
# The PKI kube-pki creates for 3 control planes + N workers (default config: stacked etcd, front proxy,
# super-admin, no kubelet serving certs, no kube-proxy, no users), made with the openssl CLI instead: the same
# count of RSA-2048 keys (PKCS#1, like the tls provider), CSRs and signed certificates, with the same subjects,
# SANs and extensions (keyUsage critical, extendedKeyUsage, basicConstraints critical, SKID on CAs only, AKID, SANs),
# plus the kubeconfigs and the service-account key pair. Serial, sequential, one openssl process per step — what a
# hand-written "generate the cluster PKI" script does. bench/live.ts times it against `pulumi up`.
#
#   bench/openssl-equivalent.sh <out-dir> [workers=10] [control-planes=3]
# Prints "keys=<n> csrs=<n> certs=<n> kubeconfigs=<n>" at the end.
set -euo pipefail

OUT="${1:?usage: openssl-equivalent.sh <out-dir> [workers] [control-planes]}"
WORKERS="${2:-10}"
CPS="${3:-3}"
ENDPOINT_HOST="api.bench.example"
ENDPOINT="https://${ENDPOINT_HOST}:6443"
CLUSTER="bench"
DOMAIN="cluster.local"
SERVICE_IP="10.96.0.1"

mkdir -p "$OUT"
cd "$OUT"
keys=0 csrs=0 certs=0 kubeconfigs=0

serial() { echo "0x$(openssl rand -hex 16)"; }

# ca <name> <CN>: self-signed CA, 87600 h, keyUsage digitalSignature, keyEncipherment, keyCertSign; the CN as DNS SAN.
ca() {
  openssl genrsa -traditional -out "$1.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -set_serial "$(serial)" -out "$1.crt" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "subjectAltName=DNS:$2" \
    -addext "subjectKeyIdentifier=hash" -addext "authorityKeyIdentifier=keyid:always" 2>/dev/null
  keys=$((keys + 1)) certs=$((certs + 1))
}

# leaf <name> <ca> <subject> <eku> [<subjectAltName>]: key, CSR, certificate signed by <ca>, 8760 h.
leaf() {
  local name="$1" issuer="$2" subject="$3" eku="$4" san="${5:-}"
  openssl genrsa -traditional -out "$name.key" 2048 2>/dev/null
  if [[ -n "$san" ]]; then
    openssl req -new -key "$name.key" -subj "$subject" -addext "subjectAltName=$san" -out "$name.csr" 2>/dev/null
  else
    openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
  fi
  {
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    echo "basicConstraints=critical,CA:FALSE"
    echo "subjectKeyIdentifier=none"
    echo "authorityKeyIdentifier=keyid"
    [[ -n "$san" ]] && echo "subjectAltName=$san"
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$issuer.crt" -CAkey "$issuer.key" -set_serial "$(serial)" -days 365 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  keys=$((keys + 1)) csrs=$((csrs + 1)) certs=$((certs + 1))
}

# kubeconfig <name> <server> <user>: the client cert <name> embedded, kubeadm's layout.
kubeconfig() {
  local name="$1" server="$2" user="$3"
  cat >"$name.conf" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $CLUSTER
    cluster:
      certificate-authority-data: $(base64 -w0 ca.crt)
      server: $server
contexts:
  - name: $user@$CLUSTER
    context:
      cluster: $CLUSTER
      user: $user
current-context: $user@$CLUSTER
preferences: {}
users:
  - name: $user
    user:
      client-certificate-data: $(base64 -w0 "$name.crt")
      client-key-data: $(base64 -w0 "$name.key")
EOF
  chmod 600 "$name.conf"
  kubeconfigs=$((kubeconfigs + 1))
}

ca ca kubernetes
ca etcd-ca etcd-ca
ca front-proxy-ca front-proxy-ca
openssl genrsa -traditional -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
keys=$((keys + 1))

for i in $(seq 1 "$CPS"); do
  n="cp-$i" ip="10.0.0.$((10 + i))"
  leaf "$n-apiserver" ca "/CN=kube-apiserver" serverAuth \
    "DNS:$n,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$DOMAIN,DNS:$ENDPOINT_HOST,IP:$SERVICE_IP,IP:$ip"
  leaf "$n-apiserver-kubelet-client" ca "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" clientAuth
  leaf "$n-apiserver-etcd-client" etcd-ca "/CN=kube-apiserver-etcd-client" clientAuth
  leaf "$n-front-proxy-client" front-proxy-ca "/CN=front-proxy-client" clientAuth
  leaf "$n-etcd-server" etcd-ca "/CN=$n" serverAuth,clientAuth "DNS:$n,DNS:localhost,IP:$ip,IP:127.0.0.1,IP:::1"
  leaf "$n-etcd-peer" etcd-ca "/CN=$n" serverAuth,clientAuth "DNS:$n,DNS:localhost,IP:$ip,IP:127.0.0.1,IP:::1"
  leaf "$n-etcd-healthcheck-client" etcd-ca "/CN=kube-etcd-healthcheck-client" clientAuth
  leaf "$n-controller-manager" ca "/CN=system:kube-controller-manager" clientAuth
  kubeconfig "$n-controller-manager" "https://$ip:6443" system:kube-controller-manager
  leaf "$n-scheduler" ca "/CN=system:kube-scheduler" clientAuth
  kubeconfig "$n-scheduler" "https://$ip:6443" system:kube-scheduler
  leaf "$n-kubelet" ca "/O=system:nodes/CN=system:node:$n" clientAuth
  kubeconfig "$n-kubelet" "https://$ip:6443" "system:node:$n"   # control planes: the local apiserver
done
leaf admin ca "/O=kubeadm:cluster-admins/CN=kubernetes-admin" clientAuth
kubeconfig admin "$ENDPOINT" kubernetes-admin
leaf super-admin ca "/O=system:masters/CN=kubernetes-super-admin" clientAuth
kubeconfig super-admin "$ENDPOINT" kubernetes-super-admin
for i in $(seq 0 $((WORKERS - 1))); do
  leaf "worker-$i-kubelet" ca "/O=system:nodes/CN=system:node:worker-$i" clientAuth
  kubeconfig "worker-$i-kubelet" "$ENDPOINT" "system:node:worker-$i"
done

echo "keys=$keys csrs=$csrs certs=$certs kubeconfigs=$kubeconfigs"
