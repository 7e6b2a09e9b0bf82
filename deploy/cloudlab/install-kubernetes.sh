#!/usr/bin/env bash
# Kubernetes (kubeadm, v1.31 from pkgs.k8s.io) on one CloudLab node, over the experiment LAN:
#   install-kubernetes.sh head   HEAD_IP [WORKER_COUNT]   kubeadm init, flannel, then serves the join command
#   install-kubernetes.sh worker HEAD_IP                  waits for the join command, joins
# containerd pulls from the in-cluster registry (components/registry, NodePort 30000) over plain HTTP, at
# 127.0.0.1:30000 and HEAD_IP:30000. Safe to run again: every step checks what is already there.
set -euo pipefail

role=${1:?usage: install-kubernetes.sh head|worker HEAD_IP [WORKER_COUNT]}
head_ip=${2:?usage: install-kubernetes.sh head|worker HEAD_IP [WORKER_COUNT]}
workers=${3:-0}

K8S_MINOR=${K8S_MINOR:-v1.31}
POD_CIDR=${POD_CIDR:-10.244.0.0/16}
# Flannel's manifest at a release tag, with its SHA-256 (the file's bytes at that tag): another version needs both.
# Flannel does not enforce NetworkPolicies (components/network-policies): for that, install Calico instead.
FLANNEL_VERSION=${FLANNEL_VERSION:-v0.28.9}
FLANNEL_URL=${FLANNEL_URL:-https://raw.githubusercontent.com/flannel-io/flannel/$FLANNEL_VERSION/Documentation/kube-flannel.yml}
FLANNEL_SHA256=${FLANNEL_SHA256:-e875824be2f552b45711dbda91af81b17eb961d00025d914d9fef18fad8f09c0}
REGISTRY_PORT=30000
# The join command goes from the head to the workers over the LAN: a one-file web server on the head.
JOIN_PORT=8099
JOIN_DIR=/var/lib/ramcoin-join
export DEBIAN_FRONTEND=noninteractive
# shellcheck source=deploy/cloudlab/download.sh
. "$(dirname "${BASH_SOURCE[0]}")/download.sh"

log() { echo "--- $(date -Is) $*"; }

# This node's address on the experiment LAN (the head's /24), where Kubernetes talks; the control network stays out.
lan_prefix=${head_ip%.*}
node_ip=$(ip -4 -o addr show | awk '{ split($4, a, "/"); print a[1] }' | grep -m 1 -F "$lan_prefix." || true)
[ -n "$node_ip" ] || { echo "no address in $lan_prefix.0/24 on this node" >&2; exit 1; }
log "node $(hostname) at $node_ip ($role)"

log "extra disk space"
# CloudLab nodes have a small root file system and unused disk space: put images and volumes there when possible.
if ! mountpoint -q /mydata && [ -x /usr/local/etc/emulab/mkextrafs.pl ]; then
  mkdir -p /mydata
  /usr/local/etc/emulab/mkextrafs.pl -f /mydata || echo "no extra file system: staying on the root disk"
fi
if mountpoint -q /mydata; then
  for dir in kubelet:/var/lib/kubelet local-path:/opt/local-path-provisioner; do
    src="/mydata/${dir%%:*}" dst="${dir#*:}"
    mkdir -p "$src" "$dst"
    grep -q " $dst " /etc/fstab || echo "$src $dst none bind 0 0" >> /etc/fstab
    mountpoint -q "$dst" || mount "$dst"
  done
fi

log "swap off, kernel modules, sysctls"
swapoff -a
sed -ri '/\sswap\s/ s/^([^#])/#\1/' /etc/fstab
printf 'overlay\nbr_netfilter\n' > /etc/modules-load.d/kubernetes.conf
modprobe overlay
modprobe br_netfilter
cat > /etc/sysctl.d/99-kubernetes.conf <<SYSCTL
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
SYSCTL
sysctl --system >/dev/null

log "containerd"
apt-get update -q
apt-get install -y -q containerd apt-transport-https ca-certificates curl gpg
mkdir -p /etc/containerd
containerd config default > /etc/containerd/config.toml
sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml
sed -i 's#sandbox_image = ".*"#sandbox_image = "registry.k8s.io/pause:3.10"#' /etc/containerd/config.toml
sed -i '/\[plugins."io.containerd.grpc.v1.cri".registry\]/,/config_path/ s#config_path = ""#config_path = "/etc/containerd/certs.d"#' \
  /etc/containerd/config.toml
if mountpoint -q /mydata; then
  mkdir -p /mydata/containerd
  sed -i 's#^root = .*#root = "/mydata/containerd"#' /etc/containerd/config.toml
fi
for registry in "127.0.0.1:$REGISTRY_PORT" "$head_ip:$REGISTRY_PORT"; do
  mkdir -p "/etc/containerd/certs.d/$registry"
  cat > "/etc/containerd/certs.d/$registry/hosts.toml" <<HOSTS
# The in-cluster registry (deploy/kubernetes/components/registry): plain HTTP.
server = "http://$registry"

[host."http://$registry"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
HOSTS
done
systemctl enable containerd
systemctl restart containerd

log "kubeadm, kubelet, kubectl $K8S_MINOR"
install -d -m 755 /etc/apt/keyrings
curl -fsSL "https://pkgs.k8s.io/core:/stable:/$K8S_MINOR/deb/Release.key" \
  | gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/$K8S_MINOR/deb/ /" \
  > /etc/apt/sources.list.d/kubernetes.list
apt-get update -q
apt-get install -y -q kubelet kubeadm kubectl
apt-mark hold kubelet kubeadm kubectl
echo "KUBELET_EXTRA_ARGS=--node-ip=$node_ip" > /etc/default/kubelet
systemctl enable kubelet
systemctl restart kubelet

case $role in
  head)
    if [ ! -f /etc/kubernetes/admin.conf ]; then
      log "kubeadm init"
      kubeadm init \
        --apiserver-advertise-address "$head_ip" \
        --apiserver-cert-extra-sans "$(hostname -f),$head_ip" \
        --pod-network-cidr "$POD_CIDR"
    fi
    export KUBECONFIG=/etc/kubernetes/admin.conf

    log "kubectl for root and the experiment's users"
    mkdir -p /root/.kube
    install -m 600 /etc/kubernetes/admin.conf /root/.kube/config
    for home in /users/*; do
      [ -d "$home" ] || continue
      owner=$(stat -c %U "$home")
      install -d -o "$owner" -m 700 "$home/.kube"
      install -o "$owner" -m 600 /etc/kubernetes/admin.conf "$home/.kube/config"
    done

    log "flannel $FLANNEL_VERSION (pod network $POD_CIDR, over the LAN)"
    flannel=$(mktemp)
    download "$FLANNEL_URL" "$FLANNEL_SHA256" "$flannel"
    # Flannel would pick the interface of the default route (CloudLab's control network): use the LAN's.
    # ^10\.10\.1\. for a 10.10.1.x LAN (each backslash doubled for the shell, then again for sed's replacement).
    iface_regex="^${lan_prefix//./\\\\.}\\\\."
    sed -i "s|^\( *\)- --kube-subnet-mgr\$|&\n\1- --iface-regex=$iface_regex|" "$flannel"
    grep -q -- "--iface-regex" "$flannel" || { echo "could not set flannel's interface" >&2; exit 1; }
    kubectl apply -f "$flannel"
    rm -f "$flannel"

    if [ "$workers" -eq 0 ]; then
      log "no workers: pods may run on the head node"
      kubectl taint nodes --all node-role.kubernetes.io/control-plane- || true
    fi

    log "serving the join command on $head_ip:$JOIN_PORT"
    mkdir -p "$JOIN_DIR"
    kubeadm token create --print-join-command --ttl 24h > "$JOIN_DIR/join.tmp"
    mv "$JOIN_DIR/join.tmp" "$JOIN_DIR/join.sh"
    systemctl stop ramcoin-join-server 2>/dev/null || true
    systemctl reset-failed ramcoin-join-server 2>/dev/null || true
    # deploy-ramcoin.sh stops it once every node has joined.
    systemd-run --unit ramcoin-join-server \
      python3 -m http.server "$JOIN_PORT" --bind "$head_ip" --directory "$JOIN_DIR"
    ;;
  worker)
    if [ -f /etc/kubernetes/kubelet.conf ]; then
      log "already joined"
      exit 0
    fi
    log "waiting for the join command from http://$head_ip:$JOIN_PORT/join.sh"
    join=$(mktemp)
    for attempt in $(seq 1 360); do
      if curl -fsS --max-time 5 "http://$head_ip:$JOIN_PORT/join.sh" -o "$join" && grep -q '^kubeadm join' "$join"; then
        break
      fi
      [ "$attempt" -lt 360 ] || { echo "no join command after an hour" >&2; exit 1; }
      sleep 10
    done
    log "kubeadm join"
    bash "$join"
    rm -f "$join"
    ;;
  *)
    echo "role must be head or worker, not $role" >&2
    exit 2
    ;;
esac
log "Kubernetes ready on $(hostname)"
