#!/usr/bin/env bash
# Builds, once per machine, what the tests' one-node Kubernetes needs and apt does not ship: the server binaries of
# Kubernetes 1.20.2 from Debian bookworm's own source package (the newest with its vendor/ folder) and the pod sandbox
# ("pause") image from the same tree. Cached outside the repository, keyed by the source version:
#   bash tests/cluster/build.sh        # prints the cache folder; about 6 minutes and 2.7 GB of disk the first time
# The rest (etcd, containerd, runc, CNI plugins, iptables, conntrack, dnsmasq) comes from apt: .ci/run installs it.
set -euo pipefail
VERSION=1.20.5+really1.20.2
RECIPE=1
cache=${RAMCOIN_K8S_CACHE:-/var/cache/ramcoin-k8s}
out=$cache/$VERSION-$RECIPE
bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
log() { echo "cluster build: $*" >&2; }

if [ -f "$out/done" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/build.lock"
flock 9
[ -f "$out/done" ] && { echo "$out"; exit 0; }

# An interrupted build goes on where it stopped (the tree and Go's build cache stay in $work until the end).
work=$cache/work
tree=$work/kubernetes-$VERSION
mkdir -p "$work/lists/partial" "$work/parts"
# A private deb-src list for apt's source download: /etc/apt stays as it is.
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
echo "deb-src $mirror bookworm main" >"$work/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts" -o "Dir::State::Lists=$work/lists")
if [ ! -f "$tree/debian/rules" ]; then
  log "fetching the kubernetes $VERSION source package"
  apt-get "${apt_private[@]}" update -qq
  (cd "$work" && apt-get "${apt_private[@]}" source -qq kubernetes >/dev/null)
  [ -d "$tree" ] || { log "apt-get source kubernetes did not give version $VERSION (bookworm's): $(ls "$work")"; exit 1; }
fi

# As debian/rules builds the client: GOPATH layout, static binaries.
log "building ${bins[*]} (go $(go env GOVERSION))"
mkdir -p "$tree/.go/src/k8s.io"
ln -sfn ../../.. "$tree/.go/src/k8s.io/kubernetes"
(cd "$tree" && env GOPATH="$tree/.go" CGO_ENABLED=0 HOME="$work" GOFLAGS=-mod=vendor GOCACHE="$work/gocache" \
  make WHAT="$(printf 'cmd/%s ' "${bins[@]}")" >"$work/make.log" 2>&1) || { tail -n 40 "$work/make.log" >&2; exit 1; }

mkdir -p "$out.tmp/bin"
for b in "${bins[@]}"; do cp "$tree/_output/bin/$b" "$out.tmp/bin/"; done

# The sandbox image: upstream's pause.c, static, in a one-file image (an OCI archive that ctr imports).
log "building the pause image"
gcc -Os -static -o "$work/pause" "$tree/build/pause/linux/pause.c"
strip "$work/pause"
img=$work/pause-image
mkdir -p "$img/rootfs"
cp "$work/pause" "$img/rootfs/pause"
tar -C "$img/rootfs" --owner=0 --group=0 --numeric-owner -cf "$img/layer.tar" pause
layer=$(sha256sum "$img/layer.tar" | cut -d' ' -f1)
config='{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:'$layer'"]}}'
echo -n "$config" >"$img/config.json"
cfg=$(sha256sum "$img/config.json" | cut -d' ' -f1)
echo -n '[{"Config":"config.json","RepoTags":["k8s.gcr.io/pause:3.2"],"Layers":["layer.tar"]}]' >"$img/manifest.json"
tar -C "$img" --owner=0 --group=0 -cf "$out.tmp/pause.tar" manifest.json config.json layer.tar
echo "$cfg" >"$out.tmp/pause.id"

rm -rf "$out"
mv "$out.tmp" "$out"
touch "$out/done"
rm -rf "$work"
log "done: $(du -sh "$out" | cut -f1) in $out"
echo "$out"
