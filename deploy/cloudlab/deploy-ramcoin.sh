#!/usr/bin/env bash
# On the head node, once Kubernetes runs: storage for the PVCs (local-path provisioner), RamCoin (an overlay plus the
# in-cluster registry component) from prebuilt images, and Jenkins (deploy/jenkins), which builds the next ones.
#   deploy-ramcoin.sh WORKER_COUNT [GIT_URL] [GIT_BRANCH]
# Environment: REGISTRY (ghcr.io/ramcoin/ramcoin), TAG (latest), OVERLAY (classic), KUBECONFIG (the admin's).
set -euo pipefail

workers=${1:?usage: deploy-ramcoin.sh WORKER_COUNT [GIT_URL] [GIT_BRANCH]}
git_url=${2:-https://github.com/ramcoin/ramcoin.git}
git_branch=${3:-main}

REGISTRY=${REGISTRY:-ghcr.io/ramcoin/ramcoin}
TAG=${TAG:-latest}
OVERLAY=${OVERLAY:-classic}
# The provisioner's manifest at a release tag, with its SHA-256 (the file's bytes at that tag): another version needs both.
LOCAL_PATH_URL=${LOCAL_PATH_URL:-https://raw.githubusercontent.com/rancher/local-path-provisioner/v0.0.30/deploy/local-path-storage.yaml}
LOCAL_PATH_SHA256=${LOCAL_PATH_SHA256:-fe682186b00400fe7e2b72bae16f63e47a56a6dcc677938c6642139ef670045e}
export KUBECONFIG=${KUBECONFIG:-/etc/kubernetes/admin.conf}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
log() { echo "--- $(date -Is) $*"; }
# shellcheck source=deploy/cloudlab/download.sh
. "$here/download.sh"

log "waiting for $((workers + 1)) nodes"
for attempt in $(seq 1 360); do
  nodes=$({ kubectl get nodes --no-headers 2>/dev/null || true; } | wc -l)
  [ "$nodes" -ge $((workers + 1)) ] && break
  [ "$attempt" -lt 360 ] || { echo "only $nodes node(s) after an hour" >&2; exit 1; }
  sleep 10
done
kubectl wait --for=condition=Ready nodes --all --timeout=20m
kubectl get nodes -o wide
# Every node has joined: stop serving the join command.
systemctl stop ramcoin-join-server 2>/dev/null || true

log "storage: local-path provisioner as the default StorageClass"
local_path=$(mktemp)
download "$LOCAL_PATH_URL" "$LOCAL_PATH_SHA256" "$local_path"
kubectl apply -f "$local_path"
rm -f "$local_path"
kubectl patch storageclass local-path \
  -p '{"metadata": {"annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$repo/deploy/jenkins" "$work/"

# deploy/ci/pipeline.sh: the same steps as Jenkins' Deploy stage (a copy of the overlay with the component and
# the images, kubectl apply -k; later every rollout).
export TARGET=kubernetes REGISTRY TAG OVERLAY COMPONENTS=registry NAMESPACE=ramcoin
log "RamCoin: overlays/$OVERLAY + components/registry, images $REGISTRY/<service>:$TAG"
sh "$repo/deploy/ci/pipeline.sh" deploy

log "Jenkins, building $git_url ($git_branch)"
escape() { printf '%s' "$1" | sed 's/[&|\\]/\\&/g'; }
sed -i -e "s|RAMCOIN_GIT_URL=.*|RAMCOIN_GIT_URL=$(escape "$git_url")|" \
       -e "s|RAMCOIN_GIT_BRANCH=.*|RAMCOIN_GIT_BRANCH=$(escape "$git_branch")|" \
       "$work/jenkins/kustomization.yaml"
kubectl apply -k "$work/jenkins"

log "waiting for the rollouts"
TIMEOUT=600 sh "$repo/deploy/ci/pipeline.sh" wait
kubectl -n jenkins rollout status deployment/jenkins --timeout=15m || echo "Jenkins is still starting: kubectl -n jenkins get pods"

host=$(hostname -f)
cat <<DONE

RamCoin is running.
  web UI     http://$host:30080/   (port 30080 of any node)
  Jenkins    http://$host:30088/   first password:
             kubectl -n jenkins exec deploy/jenkins -- cat /var/jenkins_home/secrets/initialAdminPassword
  registry   $host:30000 (the nodes pull from 127.0.0.1:30000)
DONE
