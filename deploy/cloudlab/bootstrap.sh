#!/usr/bin/env bash
# Every CloudLab node runs this at boot (profile.py): installs Kubernetes, and on the head node deploys RamCoin and
# Jenkins. Logs to /local/logs/bootstrap-<role>.log; once done, later boots skip it.
#   bootstrap.sh head   HEAD_IP WORKER_COUNT [GIT_URL] [GIT_BRANCH]
#   bootstrap.sh worker HEAD_IP WORKER_COUNT
set -euo pipefail

usage() {
  echo "usage: $0 head|worker HEAD_IP WORKER_COUNT [GIT_URL] [GIT_BRANCH]" >&2
  exit 2
}

[ $# -ge 3 ] || usage
role=$1
head_ip=$2
workers=$3
git_url=${4:-https://github.com/ramcoin/ramcoin.git}
git_branch=${5:-main}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[ "$(id -u)" -eq 0 ] || { echo "run me as root (sudo)" >&2; exit 1; }
[[ $workers =~ ^[0-9]+$ ]] || usage

logs=/local/logs
mkdir -p "$logs"
exec > >(tee -a "$logs/bootstrap-$role.log") 2>&1
echo "=== $(date -Is) bootstrap: $role, head $head_ip, $workers worker(s)"

done_marker="$logs/bootstrap-$role.done"
if [ -f "$done_marker" ]; then
  echo "already set up ($done_marker): nothing to do"
  exit 0
fi

case $role in
  head)
    bash "$here/install-kubernetes.sh" head "$head_ip" "$workers"
    bash "$here/deploy-ramcoin.sh" "$workers" "$git_url" "$git_branch"
    ;;
  worker)
    bash "$here/install-kubernetes.sh" worker "$head_ip" "$workers"
    ;;
  *)
    usage
    ;;
esac

touch "$done_marker"
echo "=== $(date -Is) bootstrap: $role done"
