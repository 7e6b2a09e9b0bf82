#!/usr/bin/env bash
# A one-node Kubernetes 1.20 for the tests, from the binaries tests/cluster/build.sh caches and Debian's etcd,
# containerd, runc, CNI plugins and dnsmasq. Everything it makes lives in one folder; stop undoes all of it.
#   bash tests/cluster/cluster.sh start DIR    # prints DIR/kubeconfig once the node is Ready (about 20 s)
#   bash tests/cluster/cluster.sh stop DIR     # ends the processes it started (by PID), removes its bridge,
#                                              # its iptables rules and its mounts
# The node: 10.244.0.1 on a bridge of its own (ramcoin-k8s0), pods in 10.244.0.0/24, Services in 10.96.0.0/16; the
# API server on https://127.0.0.1:16443; NodePorts answer on 127.0.0.1. Pods resolve Services by name through a
# dnsmasq on the bridge (CoreDNS is not packaged) whose hosts file follows the Services. Images: nothing can be
# pulled from the internet; containerd pulls 127.0.0.1:30000 (the course's in-cluster registry) over plain HTTP, and
# docker.io from a stand-in registry on 127.0.0.1:5001 that the caller fills (the slides' "--image=redis").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: cluster.sh start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
NODE=ramcoin-node
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
BRIDGE=ramcoin-k8s0
API_PORT=16443
HUB_PORT=5001
log() { echo "cluster: $*" >&2; }

# Processes are started with setsid and their PIDs kept in DIR/pids: stop ends exactly those.
run() {
  local name=$1
  shift
  setsid "$@" >"$dir/logs/$name.log" 2>&1 </dev/null &
  echo "$! $name" >>"$dir/pids"
}

# Running: a zombie (an exited daemon whose new parent does not reap it) counts as gone.
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

stop() {
  if [ -f "$dir/pids" ]; then
    # The reverse order: kubelet and kube-proxy before the API server, containerd last but one, etcd last.
    tac "$dir/pids" | while read -r pid name; do
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      [ "$name" != containerd ] || stop_pods
    done
    rm -f "$dir/pids"
  fi
  stop_pods
  # kube-proxy's chains (KUBE-*), the CNI plugins' (CNI-*) and their jumps, nothing else.
  local table rule chain
  for table in nat filter mangle; do
    while read -r rule; do
      eval "iptables -t $table $rule" 2>/dev/null || true
    done < <(iptables-save -t "$table" | sed -n '/^-A.*\(KUBE-\|CNI-\|ramcoin-k8s\)/s/^-A/-D/p')
    for _ in 1 2; do
      while read -r chain; do
        iptables -t "$table" -F "$chain" 2>/dev/null || true
        iptables -t "$table" -X "$chain" 2>/dev/null || true
      done < <(iptables-save -t "$table" | sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\).*/\1/p')
    done
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  # The pods' mounts (secrets, emptyDirs) under the kubelet's folder, and containerd's.
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf "$dir/kubelet/pods" 2>/dev/null || true
}

# Containers that outlive containerd: their shims (runc's processes) keep running after containerd exits.
stop_pods() {
  local shim
  for shim in $(pgrep -f "containerd-shim-runc-v2 .*-address $dir/containerd/containerd.sock" || true); do
    pkill -9 -P "$shim" 2>/dev/null || true
    kill -9 "$shim" 2>/dev/null || true
  done
  # The pods' network namespaces (containerd's CRI names them cni-*; Docker keeps its own elsewhere).
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ { print $1 }'); do
    ip netns delete "$ns" 2>/dev/null || true
  done
}

kubeconfig() {
  local name=$1 user=$2
  cat >"$dir/$name.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ramcoin
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $dir/pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $dir/pki/$name.crt
    client-key: $dir/pki/$name.key
contexts:
- name: ramcoin
  context:
    cluster: ramcoin
    user: $user
current-context: ramcoin
EOF
}

# A key and a certificate signed by the cluster's CA: NAME CN [O] [subjectAltName].
cert() {
  local name=$1 cn=$2 org=${3:-} san=${4:-}
  local subject="/CN=$cn"
  [ -z "$org" ] || subject="/O=$org$subject"
  openssl genrsa -out "$dir/pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$dir/pki/$name.key" -subj "$subject" -out "$dir/pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$dir/pki/$name.ext"
  openssl x509 -req -in "$dir/pki/$name.csr" -CA "$dir/pki/ca.crt" -CAkey "$dir/pki/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/pki/$name.ext" -out "$dir/pki/$name.crt" 2>/dev/null
}

pki() {
  mkdir -p "$dir/pki"
  [ -f "$dir/pki/admin.crt" ] && return
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/pki/ca.key" -out "$dir/pki/ca.crt" -days 30 \
    -subj "/CN=ramcoin-test-ca" 2>/dev/null
  cert apiserver kube-apiserver "" "IP:127.0.0.1,IP:$NODE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin kubernetes-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert kubelet "system:node:$NODE" system:nodes
  cert kube-proxy system:kube-proxy
  openssl genrsa -out "$dir/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/pki/sa.key" -pubout -out "$dir/pki/sa.pub" 2>/dev/null
  for n in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$n" "$n"; done
}

configs() {
  mkdir -p "$dir/cni" "$dir/certs.d/127.0.0.1:30000" "$dir/certs.d/docker.io" "$dir/dns" "$dir/logs" \
    "$dir/containerd" "$dir/kubelet" "$dir/etcd" "$dir/hub"
  cat >"$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$dir/containerd/containerd.sock"
[ttrpc]
  address = "$dir/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "k8s.gcr.io/pause:3.2"
  # root here lacks CAP_SYS_RESOURCE: every sandbox failed without this.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
EOF
  cat >"$dir/certs.d/127.0.0.1:30000/hosts.toml" <<EOF
server = "http://127.0.0.1:30000"
[host."http://127.0.0.1:30000"]
  capabilities = ["pull", "resolve"]
EOF
  cat >"$dir/certs.d/docker.io/hosts.toml" <<EOF
server = "http://127.0.0.1:$HUB_PORT"
[host."http://127.0.0.1:$HUB_PORT"]
  capabilities = ["pull", "resolve"]
EOF
  cat >"$dir/cni/10-ramcoin.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "ramcoin-k8s",
  "plugins": [
    { "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$NODE_IP" }]],
                "routes": [{ "dst": "0.0.0.0/0" }], "dataDir": "$dir/cni-ipam" } },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" }
  ]
}
EOF
  cat >"$dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $dir/pki/ca.crt
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
resolvConf: $dir/dns/resolv.conf
failSwapOn: false
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
serializeImagePulls: false
# The disk is shared with the rest of the machine: evict only when it is really full.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
# Kubernetes 1.22 made this sysctl safe; RamCoin's restricted pods set it to bind port 80 without root.
allowedUnsafeSysctls: [net.ipv4.ip_unprivileged_port_start]
EOF
  echo "nameserver $NODE_IP" >"$dir/dns/resolv.conf"
  : >"$dir/dns/hosts"
  cat >"$dir/hub/config.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/hub/data
http:
  addr: 127.0.0.1:$HUB_PORT
EOF
}

wait_for() {
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "$what did not come up in $seconds s; its log:"
  return 1
}

# Once a second: the Services' names for dnsmasq (<name>.<namespace>.svc.cluster.local), rewritten when they
# change; and a volume for each PersistentVolumeClaim still pending: a hostPath folder open to every user, bound to
# that claim alone (what the local-path provisioner does; there is no default StorageClass here).
sync() {
  local kubectl=$1 current ns name uid size
  local k=("$kubectl" --kubeconfig "$dir/admin.kubeconfig")
  while :; do
    if current=$("${k[@]}" get services -A -o \
      jsonpath='{range .items[*]}{.spec.clusterIP} {.metadata.name}.{.metadata.namespace}.svc.cluster.local{"\n"}{end}' 2>/dev/null); then
      current=$(printf '%s\n' "$current" | grep -E '^[0-9]' | sort || true)
      if [ "$current" != "$(cat "$dir/dns/hosts")" ]; then
        printf '%s\n' "$current" >"$dir/dns/hosts.new"
        mv "$dir/dns/hosts.new" "$dir/dns/hosts"
        kill -HUP "$(cat "$dir/dns/dnsmasq.pid")" 2>/dev/null || true
      fi
    fi
    "${k[@]}" get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace} {.metadata.name} {.metadata.uid} {.spec.resources.requests.storage}{"\n"}{end}' 2>/dev/null |
      while read -r ns name uid size; do
        [ -n "$size" ] || continue
        mkdir -p "$dir/volumes/$uid"
        chmod 0777 "$dir/volumes/$uid"
        printf 'apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: pv-%s\nspec:\n  capacity:\n    storage: %s\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Retain\n  hostPath:\n    path: %s\n    type: Directory\n  claimRef:\n    namespace: %s\n    name: %s\n    uid: %s\n' \
          "$uid" "$size" "$dir/volumes/$uid" "$ns" "$name" "$uid" | "${k[@]}" apply -f - >/dev/null 2>&1 || true
      done
    sleep 1
  done
}

start() {
  local bin kubectl
  bin=$(bash "$here/build.sh")/bin
  kubectl=$(command -v kubectl) || { log "kubectl is needed"; exit 1; }
  if [ -f "$dir/pids" ]; then
    log "a cluster of $dir runs already (stop it first)"
    exit 1
  fi
  configs
  pki
  # The node's address, on a bridge of its own (the CNI bridge plugin takes it over).
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -qw net.ipv4.ip_forward=1
  modprobe br_netfilter 2>/dev/null || true
  [ ! -f /proc/sys/net/bridge/bridge-nf-call-iptables ] || sysctl -qw net.bridge.bridge-nf-call-iptables=1

  run etcd etcd --name default --data-dir "$dir/etcd" \
    --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster default=http://127.0.0.1:12380 --listen-metrics-urls '' --log-level warn
  run containerd containerd --config "$dir/containerd/config.toml"
  run hub docker-registry serve "$dir/hub/config.yml"
  run dnsmasq dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces --listen-address="$NODE_IP" \
    --addn-hosts="$dir/dns/hosts" --local=/cluster.local/ --pid-file="$dir/dns/dnsmasq.pid" --user=root
  wait_for etcd 30 curl -sf http://127.0.0.1:12379/health || { tail "$dir/logs/etcd.log" >&2; exit 1; }

  run kube-apiserver "$bin/kube-apiserver" --etcd-servers=http://127.0.0.1:12379 \
    --bind-address=0.0.0.0 --secure-port="$API_PORT" --insecure-port=0 --advertise-address="$NODE_IP" \
    --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
    --client-ca-file="$dir/pki/ca.crt" --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --kubelet-client-certificate="$dir/pki/apiserver-kubelet-client.crt" --kubelet-client-key="$dir/pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-key-file="$dir/pki/sa.pub" --service-account-signing-key-file="$dir/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true
  wait_for kube-apiserver 60 "$kubectl" --kubeconfig "$dir/admin.kubeconfig" get --raw /readyz ||
    { tail -n 30 "$dir/logs/kube-apiserver.log" >&2; exit 1; }

  run kube-controller-manager "$bin/kube-controller-manager" --kubeconfig="$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$dir/controller-manager.kubeconfig" --authorization-kubeconfig="$dir/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --port=0 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$dir/pki/sa.key" --root-ca-file="$dir/pki/ca.crt" \
    --cluster-signing-cert-file="$dir/pki/ca.crt" --cluster-signing-key-file="$dir/pki/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --allocate-node-cidrs=false
  run kube-scheduler "$bin/kube-scheduler" --kubeconfig="$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig="$dir/scheduler.kubeconfig" --authorization-kubeconfig="$dir/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --port=0 --leader-elect=false
  wait_for containerd 30 ctr --address "$dir/containerd/containerd.sock" version || { tail "$dir/logs/containerd.log" >&2; exit 1; }
  ctr --address "$dir/containerd/containerd.sock" -n k8s.io images import "$(dirname "$bin")/pause.tar" >/dev/null
  run kubelet "$bin/kubelet" --config="$dir/kubelet/config.yaml" --kubeconfig="$dir/kubelet.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://$dir/containerd/containerd.sock" \
    --node-ip="$NODE_IP" --hostname-override="$NODE" --root-dir="$dir/kubelet" --cert-dir="$dir/kubelet/pki" \
    --pod-infra-container-image=k8s.gcr.io/pause:3.2 --runtime-request-timeout=5m
  run kube-proxy "$bin/kube-proxy" --kubeconfig="$dir/kube-proxy.kubeconfig" --hostname-override="$NODE" \
    --cluster-cidr="$POD_CIDR" --proxy-mode=iptables --conntrack-max-per-core=0 \
    --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256
  run sync bash -c "$(declare -f sync); dir='$dir'; sync '$kubectl'"

  wait_for "the node" 90 sh -c "'$kubectl' --kubeconfig '$dir/admin.kubeconfig' get node $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" ||
    { tail -n 30 "$dir/logs/kubelet.log" >&2; exit 1; }
  # The default ServiceAccount, which every pod needs, comes from the controller manager a moment later.
  wait_for "the default ServiceAccount" 30 "$kubectl" --kubeconfig "$dir/admin.kubeconfig" get serviceaccount default
  cp "$dir/admin.kubeconfig" "$dir/kubeconfig"
  echo "$dir/kubeconfig"
}

case $command in
  start) start ;;
  stop) stop ;;
  *) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
