#!/usr/bin/env bash
# Local stand-ins for the base images that the Dockerfile and the compose and stack files name, for a machine that
# reaches no image registry: they are built under exactly those names, so that those files build and run unchanged.
#   bash tests/engine/stand-ins.sh            # each image that is missing: pulled if a registry answers, else built
# The stand-ins are Debian bookworm (debootstrap from this machine's own apt source), not Microsoft's Ubuntu chiseled
# images nor the official redis and registry images: they test our files and binaries, not those bases.
# An image that exists and is not one of ours (a real pull) is left alone; ours are rebuilt when this script or the
# machine's .NET SDK changes (label ramcoin.stand-in). Raise RECIPE when a recipe below changes: a new stamp rebuilds
# them, and a new SDK image also rebuilds every image layer after it (about 4 minutes of Native AOT compiles).
set -euo pipefail
RECIPE=2

SDK_AOT=mcr.microsoft.com/dotnet/sdk:10.0-noble-aot
SDK=mcr.microsoft.com/dotnet/sdk:10.0-noble
RUNTIME_DEPS=mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled
ASPNET=mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled
REDIS=redis:7
REGISTRY=registry:2
TOOLS=ramcoin-test/tools:1

dotnet_root=${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}
stamp=$(echo "$RECIPE $("$dotnet_root/dotnet" --version)" | sha256sum | cut -c1-16)
base=ramcoin-stand-in/bookworm:$stamp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DOCKER_BUILDKIT=0

log() { echo "stand-ins: $*" >&2; }

# Whether an image must be made: absent (and not pullable), or a stand-in of an older stamp.
needed() {
  local label
  if label=$(docker image inspect --format '{{ index .Config.Labels "ramcoin.stand-in" }}' "$1" 2>/dev/null); then
    [ "$label" != "$stamp" ] && [ "$label" != "<no value>" ] && [ -n "$label" ]
    return
  fi
  if docker pull -q "$1" >/dev/null 2>&1; then
    log "$1 pulled from its registry"
    return 1
  fi
  return 0
}

# A Dockerfile from standard input, built with no context.
build() {
  local name=$1
  log "building $name"
  docker build -q --label "ramcoin.stand-in=$stamp" -t "$name" - >/dev/null 2>"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
}

make_base() {
  docker image inspect "$base" >/dev/null 2>&1 && return
  local source
  # The machine's own Debian mirror, as its apt uses it (never a host name written here).
  source=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$source" ] || source=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
  log "debootstrap bookworm (minbase) from the machine's apt source"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$source" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | docker import --change "LABEL ramcoin.stand-in=$stamp" - "$base" >/dev/null
  rm -rf "$work/rootfs"
}

apt_install() { echo "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $* >/dev/null && rm -rf /var/lib/apt/lists/*"; }

# Copies folders of this machine into an image (bind-mounted, then committed): the .NET SDK is too large to send
# as a build context every time.
commit_with() {
  local from=$1 name=$2 script=$3
  shift 3
  local id
  id=$(docker create --user 0 -v "$dotnet_root:/mnt/dotnet:ro" -v /etc/ssl/certs:/mnt/certs:ro \
    -v "$work:/mnt/work:ro" --entrypoint /bin/sh "$from" -c "$script")
  docker start -a "$id" >/dev/null
  docker commit "$@" --change "LABEL ramcoin.stand-in=$stamp" "$id" "$name" >/dev/null
  docker rm "$id" >/dev/null
}

if needed "$SDK_AOT" || needed "$SDK"; then
  make_base
  log "building $SDK_AOT and $SDK (clang, zlib1g-dev and this machine's .NET SDK)"
  build "ramcoin-stand-in/sdk-deps:$stamp" <<EOF
FROM $base
$(apt_install ca-certificates clang zlib1g-dev libc6-dev git libcap2-bin)
EOF
  # NuGet inside a build container trusts what this machine trusts, and reads its NuGet.Config.
  mkdir -p "$work/nuget"
  [ -f "$HOME/.nuget/NuGet/NuGet.Config" ] && cp "$HOME/.nuget/NuGet/NuGet.Config" "$work/nuget/"
  commit_with "ramcoin-stand-in/sdk-deps:$stamp" "$SDK_AOT" '
    set -e
    mkdir -p /usr/share/dotnet /root/.nuget/NuGet
    cp -a /mnt/dotnet/. /usr/share/dotnet/
    ln -sf /usr/share/dotnet/dotnet /usr/bin/dotnet
    cp /mnt/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
    if [ -f /mnt/work/nuget/NuGet.Config ]; then cp /mnt/work/nuget/NuGet.Config /root/.nuget/NuGet/; fi' \
    --change 'ENV DOTNET_ROOT=/usr/share/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NUGET_CERT_REVOCATION_MODE=offline DOTNET_RUNNING_IN_CONTAINER=true' \
    --change 'ENTRYPOINT []' --change 'CMD ["/bin/bash"]'
  docker tag "$SDK_AOT" "$SDK"
fi

if needed "$RUNTIME_DEPS"; then
  make_base
  # As the chiseled image: a non-root user app (UID 1654), APP_UID, port 8080 by default.
  build "$RUNTIME_DEPS" <<EOF
FROM $base
$(apt_install ca-certificates libssl3)
RUN groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --create-home app
ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true
USER 1654
EOF
fi

if needed "$ASPNET"; then
  needed "$RUNTIME_DEPS" && { echo "stand-ins: $RUNTIME_DEPS is missing" >&2; exit 1; }
  log "building $ASPNET (the runtime-deps stand-in and this machine's shared .NET runtimes)"
  commit_with "$RUNTIME_DEPS" "$ASPNET" '
    set -e
    mkdir -p /usr/share/dotnet
    cp -a /mnt/dotnet/dotnet /mnt/dotnet/host /mnt/dotnet/shared /usr/share/dotnet/
    ln -sf /usr/share/dotnet/dotnet /usr/bin/dotnet' \
    --change 'USER 1654' --change 'ENTRYPOINT []' --change 'CMD []'
fi

if needed "$REDIS"; then
  make_base
  # As the official image: protected mode off (else other containers cannot connect), /data, user redis.
  cat >"$work/redis-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ]; then
  shift
  set -- redis-server "$@" --protected-mode no
  if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
EOF
  log "building $REDIS (Debian's redis-server)"
  docker build -q --label "ramcoin.stand-in=$stamp" -t "$REDIS" -f - "$work" >/dev/null 2>"$work/build.log" <<EOF
FROM $base
$(apt_install redis-server)
RUN mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
EOF
fi

if needed "$REGISTRY"; then
  make_base
  cat >"$work/config.yml" <<'EOF'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
EOF
  log "building $REGISTRY (Debian's docker-registry)"
  docker build -q --label "ramcoin.stand-in=$stamp" -t "$REGISTRY" -f - "$work" >/dev/null 2>"$work/build.log" <<EOF
FROM $base
$(apt_install docker-registry)
COPY config.yml /etc/docker/registry/config.yml
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
EOF
fi

# Not a stand-in: the tests' probe on a container network (socat forwards a loopback port to a service there; curl).
# From redis:7, which is Debian in both worlds (stand-in or the official image), so it builds wherever the tests run.
if needed "$TOOLS"; then
  log "building $TOOLS (socat, curl)"
  build "$TOOLS" <<EOF
FROM $REDIS
USER 0
$(apt_install socat curl)
ENTRYPOINT []
CMD ["sleep", "infinity"]
EOF
fi

log "ready: $TOOLS, $SDK_AOT, $SDK, $RUNTIME_DEPS, $ASPNET, $REDIS, $REGISTRY"
