#!/bin/sh
# RamCoin's CI/CD steps in one POSIX sh script, so that Jenkins (kaniko's busybox sh, the kubectl image's bash),
# GitHub Actions, CloudLab and a shell on a laptop run the same commands. `pipeline.sh help` lists them.
set -eu
# No globbing: names (SERVICES="*") and split lists must never become the files of the current folder.
set -f

ALL_SERVICES="rng hasher worker webui"

usage() {
  cat <<'USAGE'
usage: pipeline.sh COMMAND
  build       build the Dockerfile's target of each service as $REGISTRY/<service>:$TAG
              (BUILDER=docker: docker build; BUILDER=kaniko: kaniko builds and pushes to $PUSH_REGISTRY)
  push        docker push those images (kaniko has pushed them already)
  deploy      run them: TARGET=compose (compose.images.yaml), swarm (the stack, or a service update of
              SERVICES) or kubernetes (a copy of overlays/$OVERLAY with $COMPONENTS and the images, kubectl apply -k)
  render      TARGET=kubernetes: print the manifests deploy would apply, apply nothing
  secret      Kubernetes: the namespace $NAMESPACE and in it the Secret ramcoin-store (the store's password,
              REDIS_PASSWORD: 32 random hex digits), each created only when missing (deploy does this too)
  wait        until the deployment is done: swarm and kubernetes roll a failed update back and exit 1;
              compose waits for every container with a health check to be healthy
  check URL   until URL/json answers 200 with X-RamCoin-Version $VERSION and its hash count rises
  help        this text
Settings (environment variables, with their defaults):
  REGISTRY=127.0.0.1:5000  TAG=<short commit>  SERVICES="rng hasher worker webui"
  TARGET=compose (or swarm, kubernetes)  BUILDER=docker (or kaniko)  PUSH_REGISTRY=$REGISTRY (kaniko)
  STACK=ramcoin  STACK_FILE=deploy/swarm/stack.yaml (from the repository root)
  NAMESPACE=ramcoin  OVERLAY=classic  COMPONENTS=""  KUBECTL=kubectl
  TIMEOUT=180 (seconds, for wait and check)  VERSION=$TAG (check: a shell pattern, * for any)
Progress goes to standard error as "pipeline: ..." lines; render's manifests to standard output.
USAGE
}

say() { echo "pipeline: $*" >&2; }
said=''
die() { say "$*"; said=1; exit 2; }
fail() { say "$*"; said=1; exit 1; }

# The repository root, from where this script lives (deploy/ci), whatever the caller's directory.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

command=${1:-help}
case $command in
  help | -h | --help) usage; exit 0 ;;
  build | push | deploy | render | secret | wait | check) ;;
  *) usage >&2; die "unknown command '$command' (build, push, deploy, render, secret, wait, check or help)" ;;
esac

REGISTRY=${REGISTRY:-127.0.0.1:5000}
PUSH_REGISTRY=${PUSH_REGISTRY:-$REGISTRY}
SERVICES=${SERVICES:-$ALL_SERVICES}
TARGET=${TARGET:-compose}
BUILDER=${BUILDER:-docker}
STACK=${STACK:-ramcoin}
STACK_FILE=${STACK_FILE:-deploy/swarm/stack.yaml}
NAMESPACE=${NAMESPACE:-ramcoin}
OVERLAY=${OVERLAY:-classic}
COMPONENTS=${COMPONENTS:-}
TIMEOUT=${TIMEOUT:-180}
KUBECTL=${KUBECTL:-kubectl}

case $TARGET in compose | swarm | kubernetes) ;; *) die "unknown TARGET '$TARGET' (compose, swarm or kubernetes)" ;; esac
case $BUILDER in docker | kaniko) ;; *) die "unknown BUILDER '$BUILDER' (docker or kaniko)" ;; esac
case $TIMEOUT in '' | *[!0-9]*) die "TIMEOUT '$TIMEOUT' is not a number of seconds" ;; esac
# Names end up in image references and in kustomization.yaml: allow only what those allow.
for value in "$REGISTRY" "$PUSH_REGISTRY"; do
  case $value in '' | *[!A-Za-z0-9._:/-]*) die "bad registry '$value'" ;; esac
done
for name in $SERVICES $COMPONENTS $OVERLAY $STACK; do
  case $name in *[!a-z0-9_-]*) die "bad name '$name' (SERVICES, COMPONENTS, OVERLAY, STACK: lower case, digits, - and _)" ;; esac
done
case $NAMESPACE in '' | [!a-z0-9]* | *[!a-z0-9-]*) die "bad NAMESPACE '$NAMESPACE' (lower case, digits and -)" ;; esac
# secret needs no images: no tag either (a checkout without git works).
if [ -z "${TAG:-}" ] && [ "$command" = secret ]; then
  TAG=none
elif [ -z "${TAG:-}" ]; then
  TAG=$(git -C "$ROOT" rev-parse --short=7 HEAD 2>/dev/null) || die "TAG is not set and git cannot tell the commit of $ROOT"
fi
case $TAG in '' | [.-]* | *[!A-Za-z0-9_.-]*) die "bad TAG '$TAG' (an image tag: letters, digits, _ . -)" ;; esac
VERSION=${VERSION:-$TAG}
export REGISTRY TAG

cd "$ROOT"
work=''
finish() {
  status=$?
  [ -z "$work" ] || rm -rf "$work"
  [ "$status" -eq 0 ] || [ -n "$said" ] || say "$command failed (exit $status)"
}
trap finish EXIT
# A stopped build (Jenkins' abort, Ctrl-C) still removes the temporary copy.
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s; }
# True when SERVICES are the four services, in any order.
all_services() {
  # shellcheck disable=SC2086 # one name per word
  [ "$(printf '%s\n' $SERVICES | sort | tr '\n' ' ')" = "$(printf '%s\n' $ALL_SERVICES | sort | tr '\n' ' ')" ]
}
kubectl_() {
  # KUBECTL may hold options ("kubectl --context kind-ramcoin"): split it on purpose.
  # shellcheck disable=SC2086
  $KUBECTL "$@"
}
compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose -f compose.images.yaml "$@"
  elif command -v docker-compose >/dev/null 2>&1; then
    docker-compose -f compose.images.yaml "$@"
  else
    die "neither 'docker compose' nor 'docker-compose' is installed"
  fi
}

build() {
  if [ "$BUILDER" = kaniko ]; then
    case "$(uname -m)" in aarch64 | arm64) arch=arm64 ;; *) arch=amd64 ;; esac
    for service in $SERVICES; do
      say "build: kaniko $PUSH_REGISTRY/$service:$TAG and :latest ($arch), pushed as it builds"
      /kaniko/executor \
        --context "dir://$ROOT" \
        --dockerfile "$ROOT/Dockerfile" \
        --target "$service" \
        --build-arg "VERSION=$TAG" \
        --build-arg "TARGETARCH=$arch" \
        --destination "$PUSH_REGISTRY/$service:$TAG" \
        --destination "$PUSH_REGISTRY/$service:latest" \
        --cache=true --cache-repo "$PUSH_REGISTRY/cache" \
        --insecure --insecure-registry "$PUSH_REGISTRY" --skip-tls-verify \
        --cleanup
    done
  else
    # The Dockerfile takes the build machine's architecture when TARGETARCH is empty (the classic builder), so this
    # build shares its layers with compose's builds of the same files.
    for service in $SERVICES; do
      say "build: docker build --target $service -t $REGISTRY/$service:$TAG"
      docker build --target "$service" --build-arg "VERSION=$TAG" -t "$REGISTRY/$service:$TAG" .
    done
  fi
}

push() {
  if [ "$BUILDER" = kaniko ]; then
    say "push: nothing to do, kaniko pushed to $PUSH_REGISTRY while building"
    return
  fi
  for service in $SERVICES; do
    say "push: docker push $REGISTRY/$service:$TAG"
    docker push "$REGISTRY/$service:$TAG"
  done
}

# Rewrites an overlay's kustomization.yaml: COMPONENTS added to its components, SERVICES' images set to
# $REGISTRY/<service>:$TAG. What `kustomize edit` does, without the kustomize binary (the kubectl images lack it):
# the components: and images: lists are read and taken out, then written again at the end of the file.
edit_overlay() {
  file=$1 nl='
'
  block='' listed='' kept='' entry='' name=''
  keep_entry() {
    # The overlay's entry for one of SERVICES (or of a service kept as it runs) goes: the new one is written at the end.
    for service in $SERVICES $(printf '%s\n' "$LIVE_IMAGES" | sed -n 's/=.*//p'); do [ "$name" != "ramcoin/$service" ] || entry=''; done
    [ -z "$entry" ] || kept="$kept$entry$nl"
    entry='' name=''
  }
  while IFS= read -r line || [ -n "$line" ]; do
    text=${line#"${line%%[! ]*}"}
    case $line in
      components:* | images:*)
        keep_entry
        block=${line%%:*}
        # A flow list on the key's line, as the overlays' "components: []".
        if [ "$block" = components ]; then
          for item in $(printf '%s\n' "${line#*:}" | sed 's/#.*//' | tr -d "[]\"'" | tr ',' ' '); do listed="$listed $item"; done
        fi
        continue
        ;;
      [A-Za-z]*) keep_entry; block='' ;;
    esac
    case $block:$text in
      :*) printf '%s\n' "$line" ;;
      *:'#'* | *:) ;;
      components:-*) listed="$listed $(printf '%s\n' "${text#-}" | sed 's/#.*//' | tr -d "\"' ")" ;;
      images:-*) keep_entry; entry=$line ;;
      images:*) entry="$entry$nl$line" ;;
    esac
    case $block:$text in
      images:*newName:*) ;;
      images:*name:*) name=$(printf '%s\n' "${text#*name:}" | tr -d "\"' ") ;;
    esac
  done <"$file" >"$file.new"
  keep_entry
  for component in $COMPONENTS; do
    [ -d "$work/kubernetes/components/$component" ] || die "unknown component '$component' (not in deploy/kubernetes/components)"
    case " $listed " in *" ../../components/$component "*) ;; *) listed="$listed ../../components/$component" ;; esac
  done
  {
    printf '\n# Set by deploy/ci/pipeline.sh.\n'
    if [ -n "$listed" ]; then
      echo "components:"
      for item in $listed; do echo "  - $item"; done
    fi
    echo "images:"
    printf '%s' "$kept"
    # Quoted: a short commit can be all digits, which YAML would read as a number.
    for service in $SERVICES; do
      printf '  - name: ramcoin/%s\n    newName: "%s/%s"\n    newTag: "%s"\n' "$service" "$REGISTRY" "$service" "$TAG"
    done
    # The services left out of SERVICES keep the image they run (a digest, or a tag after the last path part).
    printf '%s\n' "$LIVE_IMAGES" | while IFS='=' read -r service image; do
      [ -n "$service" ] || continue
      case $image in
        *@*) printf '  - name: ramcoin/%s\n    newName: "%s"\n    digest: "%s"\n' "$service" "${image%%@*}" "${image#*@}" ;;
        */*:* | [!/]*:*) printf '  - name: ramcoin/%s\n    newName: "%s"\n    newTag: "%s"\n' "$service" "${image%:*}" "${image##*:}" ;;
        *) printf '  - name: ramcoin/%s\n    newName: "%s"\n' "$service" "$image" ;;
      esac
    done
  } >>"$file.new"
  mv "$file.new" "$file"
}

# For a deploy of some services only: "service=image" of each other service that runs in the cluster, so that a
# release of the web UI never moves rng or the workers to the overlay's default images.
LIVE_IMAGES=''
live_images() {
  all_services && return 0
  for service in $ALL_SERVICES; do
    case " $SERVICES " in *" $service "*) continue ;; esac
    image=$(kubectl_ -n "$NAMESPACE" get deployments,daemonsets -l "app=$service" \
      -o jsonpath='{.items[0].spec.template.spec.containers[0].image}' 2>/dev/null) || image=''
    case $image in
      '') say "deploy: $service does not run in $NAMESPACE yet: the overlay's image" ;;
      *[!A-Za-z0-9._:/@-]*) die "deploy: $service runs an image named '$image', which is not an image reference" ;;
      *) LIVE_IMAGES="$LIVE_IMAGES$service=$image
"
        say "deploy: $service keeps the image it runs ($image)" ;;
    esac
  done
}

# Rendered manifests on standard input, written with each existing Deployment's replicas as the cluster has them: a
# release keeps the count that a person (kubectl scale) or an HPA set. A Deployment without replicas stays without.
keep_replicas() {
  live=$(kubectl_ -n "$NAMESPACE" get deployments -o jsonpath='{range .items[*]}{.metadata.name}={.spec.replicas}{" "}{end}' 2>/dev/null) || live=''
  awk -v live="$live" '
    BEGIN { n = split(live, pairs, " "); for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); if (kv[2] ~ /^[0-9]+$/) count[kv[1]] = kv[2] } }
    /^---$/ { kind = ""; name = ""; section = ""; print; next }
    /^kind: / { kind = $2 }
    /^[a-z]/ { section = $1 }
    section == "metadata:" && /^  name: / && name == "" { name = $2 }
    kind == "Deployment" && section == "spec:" && /^  replicas: [0-9]+$/ && (name in count) {
      if (count[name] != $2) printf "pipeline: deploy: %s keeps its %s replicas (the overlay says %s)\n", name, count[name], $2 > "/dev/stderr"
      print "  replicas: " count[name]; next }
    { print }'
}

# A copy of deploy/kubernetes in a temporary folder ($work, removed on exit) with the overlay edited.
overlay_copy() {
  [ -f "deploy/kubernetes/overlays/$OVERLAY/kustomization.yaml" ] || die "unknown OVERLAY '$OVERLAY' (not in deploy/kubernetes/overlays)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/ramcoin-pipeline.XXXXXX")
  cp -R deploy/kubernetes "$work/kubernetes"
  edit_overlay "$work/kubernetes/overlays/$OVERLAY/kustomization.yaml"
}

# The store's password (deploy/kubernetes/base/redis.yaml): a Secret created here, never a file in the repository. Made
# only when missing, never replaced: redis and its clients read it at start, so a new one would lock the running pods
# out (to change it: delete the Secret, run this again, kubectl -n ramcoin rollout restart deployment).
STORE_SECRET=ramcoin-store
secret() {
  if ! kubectl_ get namespace "$NAMESPACE" >/dev/null 2>&1; then
    # With its labels (Pod Security) when deploy has rendered it; --save-config: a later apply patches it quietly.
    if [ -n "$work" ] && [ -s "$work/manifests.yaml" ]; then
      say "secret: creating the namespace $NAMESPACE as the overlay declares it"
      manifests namespace <"$work/manifests.yaml" | kubectl_ create --save-config -f - >/dev/null
    else
      say "secret: creating the namespace $NAMESPACE (kubectl apply -k of an overlay then labels it)"
      kubectl_ create namespace "$NAMESPACE" --save-config >/dev/null
    fi
  fi
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  case $password in *[!0-9a-f]* | '') die "secret: could not read 16 random bytes from /dev/urandom" ;; esac
  [ ${#password} -eq 32 ] || die "secret: could not read 16 random bytes from /dev/urandom"
  # printf is a shell builtin: the password is in no process' arguments.
  if out=$(printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n    app.kubernetes.io/part-of: ramcoin\ntype: Opaque\nstringData:\n  REDIS_PASSWORD: "%s"\n' \
    "$STORE_SECRET" "$NAMESPACE" "$password" | kubectl_ create -f - 2>&1); then
    say "secret: created the Secret $STORE_SECRET in $NAMESPACE (REDIS_PASSWORD, 32 random hex digits)"
  else
    case $out in
      *AlreadyExists* | *'already exists'*) say "secret: the Secret $STORE_SECRET exists in $NAMESPACE: kept" ;;
      # Jenkins' agents may not touch Secrets: an administrator created it (this command, or the first deploy).
      *Forbidden* | *forbidden*) say "secret: may not create Secrets in $NAMESPACE: taking $STORE_SECRET as there (else: sh deploy/ci/pipeline.sh secret, as an administrator)" ;;
      *) fail "secret: could not create the Secret $STORE_SECRET in $NAMESPACE: $out" ;;
    esac
  fi
  unset password
}

# Rendered manifests on standard input; prints the Namespace documents (want=namespace) or all the others (want=rest).
manifests() {
  awk -v want="$1" '
    function flush() { if (n > 0 && (want == "namespace") == namespace) { print "---"; for (i = 1; i <= n; i++) print lines[i] } n = 0; namespace = 0 }
    /^---$/ { flush(); next }
    { lines[++n] = $0; if ($0 == "kind: Namespace") namespace = 1 }
    END { flush() }'
}

deploy() {
  case $TARGET in
    compose)
      # Every service of the file for the default SERVICES (the store too), else only those named.
      names=''
      all_services || names=$SERVICES
      # Pulled first: for a service with a build section, up alone would build a missing image instead.
      say "deploy: compose -f compose.images.yaml pull $SERVICES, then up -d${names:+ $names} ($REGISTRY/<service>:$TAG)"
      # shellcheck disable=SC2086 # one name per word
      compose pull $SERVICES
      # shellcheck disable=SC2086 # one name per word
      compose up -d $names
      ;;
    swarm)
      if all_services || [ -z "$(docker stack services -q "$STACK" 2>/dev/null)" ]; then
        # The image names are resolved to digests (the default, --resolve-image always): every node runs the same
        # image even if the tag moves later, and a rebuilt tag is an update. A registry that cannot be asked only
        # costs a warning (the nodes then pull the tag); --resolve-image never would pin nothing.
        say "deploy: docker stack deploy -c $STACK_FILE $STACK ($REGISTRY/<service>:$TAG)"
        # Newer CLIs say that they do not wait unless told; wait does the waiting.
        detach=''
        if docker stack deploy --help 2>/dev/null | grep -q -- --detach; then detach=--detach=true; fi
        docker stack deploy $detach -c "$STACK_FILE" "$STACK"
      else
        for service in $SERVICES; do
          say "deploy: docker service update --image $REGISTRY/$service:$TAG ${STACK}_$service"
          docker service update --detach --quiet --image "$REGISTRY/$service:$TAG" "${STACK}_$service" >/dev/null
        done
      fi
      ;;
    kubernetes)
      live_images
      overlay_copy
      kubectl_ kustomize "$work/kubernetes/overlays/$OVERLAY" >"$work/rendered.yaml"
      keep_replicas <"$work/rendered.yaml" >"$work/manifests.yaml"
      secret
      # Whoever may patch the Namespace may relax its Pod Security labels: Jenkins' agents may not, and apply the rest.
      if kubectl_ auth can-i patch "namespace/$NAMESPACE" >/dev/null 2>&1; then
        say "deploy: kubectl apply -k overlays/$OVERLAY${COMPONENTS:+ + $COMPONENTS}, images $REGISTRY/<service>:$TAG"
        kubectl_ apply -f "$work/manifests.yaml"
      else
        say "deploy: kubectl apply -k overlays/$OVERLAY${COMPONENTS:+ + $COMPONENTS} but the Namespace (may not patch it), images $REGISTRY/<service>:$TAG"
        manifests rest <"$work/manifests.yaml" | kubectl_ apply -f -
      fi
      ;;
  esac
}

render() {
  [ "$TARGET" = kubernetes ] || die "render is for TARGET=kubernetes (TARGET is '$TARGET')"
  overlay_copy
  say "render: kubectl kustomize overlays/$OVERLAY${COMPONENTS:+ + $COMPONENTS}, images $REGISTRY/<service>:$TAG"
  kubectl_ kustomize "$work/kubernetes/overlays/$OVERLAY"
}

# One Swarm service: done when its update has completed (or it never had one) and as many tasks of its current
# spec run as it wants; a rolled-back or paused update fails at once.
wait_swarm_service() {
  service=$1 deadline=$2 last=''
  tasks='table {{.Name}}\t{{.Image}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}'
  docker service inspect "$service" >/dev/null || die "no Swarm service $service (deploy first)"
  while :; do
    state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$service")
    image=$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$service")
    # Replicas "n/m", or "n/m (max 1 per node)"; for a global service m is the number of eligible nodes.
    wanted=$(docker service ls --filter "name=$service" --format '{{.Name}} {{.Replicas}}' |
      sed -n "s|^$service [0-9]*/\([0-9]*\).*|\1|p")
    # Tasks of the current spec only: right after an update the old tasks still run before the update starts.
    running=0
    for task in $(docker service ps -q --no-trunc --filter desired-state=running "$service"); do
      [ "$(docker inspect --format '{{.Status.State}} {{.Spec.ContainerSpec.Image}}' "$task")" != "running $image" ] ||
        running=$((running + 1))
    done
    seen="update ${state:-none}, $running/${wanted:-?} running ${image%@*}"
    [ "$seen" = "$last" ] || say "wait: $service: $seen"
    last=$seen
    case $state in
      paused | rollback_paused | rollback_completed)
        case $state in paused) what='paused' ;; rollback_paused) what='rolled back (rollback paused)' ;; *) what='rolled back' ;; esac
        docker service ps --no-trunc --format "$tasks" "$service" | head -n 11 >&2
        fail "wait: the update of $service failed and was $what: $(docker service inspect --format '{{.UpdateStatus.Message}}' "$service")"
        ;;
      '' | completed) [ "$running" != "${wanted:-}" ] || return 0 ;;
    esac
    if [ "$(now)" -ge "$deadline" ]; then
      docker service ps --no-trunc --format "$tasks" "$service" | head -n 11 >&2
      fail "wait: $service not done after $TIMEOUT s: $seen"
    fi
    sleep 2
  done
}

wait_() {
  deadline=$(($(now) + TIMEOUT))
  case $TARGET in
    swarm)
      for service in $SERVICES; do wait_swarm_service "${STACK}_$service" "$deadline"; done
      say "wait: ${STACK}: $SERVICES updated and running"
      ;;
    kubernetes)
      workloads=$(kubectl_ -n "$NAMESPACE" get deployments,daemonsets -o name)
      [ -n "$workloads" ] || die "no Deployments or DaemonSets in the namespace $NAMESPACE (deploy first)"
      failed=''
      for workload in $workloads; do
        say "wait: rollout status $workload"
        if ! kubectl_ -n "$NAMESPACE" rollout status "$workload" --timeout="${TIMEOUT}s"; then
          say "wait: $workload did not roll out within $TIMEOUT s: undoing it"
          kubectl_ -n "$NAMESPACE" rollout undo "$workload" || true
          failed="$failed $workload"
        fi
      done
      kubectl_ -n "$NAMESPACE" get pods -o wide >&2
      [ -z "$failed" ] || fail "wait: rolled back:$failed"
      say "wait: every rollout in $NAMESPACE finished"
      ;;
    compose)
      say "wait: every container of compose.images.yaml that has a health check, until healthy"
      while :; do
        containers=$(compose ps -q)
        [ -n "$containers" ] || die "no containers of compose.images.yaml (deploy first)"
        # shellcheck disable=SC2086 # one id per word
        states=$(docker inspect --format '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}' $containers)
        waiting=$(printf '%s\n' "$states" | grep -v ' -$' | grep -v ' healthy$' || true)
        [ -n "$waiting" ] || { say "wait: every container with a health check is healthy"; return 0; }
        [ "$(now)" -lt "$deadline" ] || fail "wait: not healthy after $TIMEOUT s: $(printf '%s\n' "$waiting" | tr '\n' ' ')"
        sleep 2
      done
      ;;
  esac
}

# GET URL/json once: sets status, version (X-RamCoin-Version) and hashes, empty when absent.
read_json() {
  response=$(curl -sS -i --max-time 5 "$1" 2>&1 | tr -d '\r') || true
  status=$(printf '%s\n' "$response" | sed -n '1s|^HTTP/[0-9.]* \([0-9]*\).*|\1|p')
  version=$(printf '%s\n' "$response" | grep -i '^x-ramcoin-version:' | sed 's/^[^:]*:[[:space:]]*//' | head -n 1)
  hashes=$(printf '%s\n' "$response" | sed -n 's/.*"hashes"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | head -n 1)
}

check() {
  url=${1:-}
  [ -n "$url" ] || die "check needs the web UI's URL, e.g. pipeline.sh check http://127.0.0.1:8000/"
  command -v curl >/dev/null 2>&1 || die "check needs curl, which is not installed here"
  url="${url%/}/json"
  deadline=$(($(now) + TIMEOUT))
  say "check: $url until it answers version $VERSION and its hash count rises"
  while :; do
    read_json "$url"
    first=$hashes
    seen="HTTP ${status:-none}, version ${version:-none}, hashes ${hashes:-none}"
    # VERSION is a pattern on purpose (* accepts any version).
    # shellcheck disable=SC2254
    case $version in $VERSION) version_ok=yes ;; *) version_ok='' ;; esac
    if [ "$status" = 200 ] && [ -n "$version_ok" ] && [ -n "$first" ]; then
      sleep 5
      read_json "$url"
      seen="$seen, then HTTP ${status:-none}, version ${version:-none}, hashes ${hashes:-none} 5 s later"
      if [ "$status" = 200 ] && [ -n "$hashes" ] && [ "$hashes" -gt "$first" ]; then
        say "check: version $version, hashes $first then $hashes: mining"
        return 0
      fi
    fi
    [ "$(now)" -lt "$deadline" ] ||
      fail "check: $url not right after $TIMEOUT s: last $seen${response:+ ($(printf '%s\n' "$response" | tail -n 1 | cut -c 1-200))}"
    sleep 2
  done
}

case $command in
  wait) wait_ ;;
  secret) secret ;;
  check) check "${2:-}" ;;
  *) "$command" ;;
esac
