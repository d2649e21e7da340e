#!/usr/bin/env bash
# Builds gonogo's images with no container registry: debootstrap a minimal
# Debian bookworm with the server package, add an entrypoint, then
# `docker import`. Idempotent: an image that exists is kept.
#
#   containers/offline/build-images.sh                       # PostgreSQL and Redis
#   containers/offline/build-images.sh prometheus chromium   # the images named
#   FORCE=1 containers/offline/build-images.sh               # rebuild them
#
# Images: postgres, redis (the smoke run's stack), prometheus (the canary's
# metrics test), chromium (the HTML report's browser check) and runtime (the
# base of gonogo's own image, harness/build-image.sh: minimal bookworm with
# ca-certificates, where a registry would give debian:bookworm-slim). Without
# arguments only the first two, so the README's first command builds no more
# than it needs; the containers crate and the image script name the others.
#
# Needs root and docker; installs debootstrap from Debian's packages when it
# is missing (running `apt-get update` first when the lists are empty or the
# install fails), and needs Debian's package mirror (MIRROR, default
# http://deb.debian.org/debian).
#
# Progress goes to stderr as it happens, one `build-images: ...` line a step.
#
# One build at a time: the script takes an exclusive lock on
# ${TMPDIR:-/tmp}/gonogo-offline-images.lock. The containers crate takes that
# same lock before it runs this script by itself and then sets
# GONOGO_OFFLINE_LOCK_HELD=1, so the script does not wait for its own parent.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
PG_IMAGE="${OFFLINE_POSTGRES_IMAGE:-gonogo-offline/postgres:15-bookworm}"
REDIS_IMAGE="${OFFLINE_REDIS_IMAGE:-gonogo-offline/redis:7-bookworm}"
RUNTIME_IMAGE="${OFFLINE_RUNTIME_IMAGE:-gonogo-offline/runtime:bookworm}"
PROMETHEUS_IMAGE="${OFFLINE_PROMETHEUS_IMAGE:-gonogo-offline/prometheus:2-bookworm}"
CHROMIUM_IMAGE="${OFFLINE_CHROMIUM_IMAGE:-gonogo-offline/chromium:bookworm}"
WORK="${WORK_DIR:-/var/tmp/gonogo-offline}"
CACHE="$WORK/debs"

say() { echo "build-images: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it); try: sudo $0"
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable"

# apt_lists_empty: true when `apt-get update` has never run (a fresh machine).
apt_lists_empty() {
  ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# need_debootstrap: installs debootstrap when missing; called only when an
# image has to be built, so a machine with both images needs nothing.
need_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get to install it; install debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  if apt_lists_empty; then
    say "apt-get update (the package lists are empty)"
    apt-get update -qq >/dev/null || die "apt-get update failed; check the network to Debian's mirror"
  fi
  say "installing debootstrap"
  if ! apt-get install -y -qq debootstrap >/dev/null 2>&1; then
    say "apt-get install failed; apt-get update, then again"
    apt-get update -qq >/dev/null || die "apt-get update failed; check the network to Debian's mirror"
    apt-get install -y -qq debootstrap >/dev/null \
      || die "debootstrap is missing and could not be installed (apt-get install debootstrap)"
  fi
}

# progress NAME: reads debootstrap's output, keeps it all in the log, and
# passes its phase lines to stderr as they come (per-package lines are
# counted, not printed, so a step shows without a wall of text).
progress() {
  local name="$1" log="$2" line n=0
  : >"$log"
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    if [[ $line =~ ^I:\ Retrieving\ [^\ ]+\ [^\ ]+$ ]]; then
      n=$((n + 1))
      if [ $((n % 50)) = 0 ]; then say "$name: $n packages retrieved"; fi
    elif [[ $line =~ ^I:\ Validating\ [^\ ]+\ [^\ ]+$ || $line =~ ^I:\ (Extracting|Unpacking|Configuring)\ [^\ ]+\.\.\.$ ]]; then
      :
    elif [[ $line == "I: "* || $line == "E: "* || $line == "W: "* ]]; then
      line="${line#I: }"
      say "$name: ${line:0:120}"
    fi
  done
}

exists() { docker image inspect "$1" >/dev/null 2>&1; }

# rootfs NAME PACKAGES: a minbase bookworm with PACKAGES, in $WORK/NAME.
rootfs() {
  local name="$1" pkgs="$2" dir="$WORK/$1"
  rm -rf "$dir"
  mkdir -p "$dir" "$CACHE"
  need_debootstrap
  say "debootstrap $SUITE + $pkgs"
  debootstrap --variant=minbase --include="$pkgs" --cache-dir="$CACHE" \
    "$SUITE" "$dir" "$MIRROR" 2>&1 | progress "$name" "$WORK/$name.log" \
    || { tail -20 "$WORK/$name.log" >&2; die "debootstrap of $name failed (log: $WORK/$name.log)"; }
  # Keep images small: no apt lists, downloaded .debs (debootstrap leaves a
  # copy in the target besides the one in --cache-dir), docs or man pages.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/var/cache/debconf/*-old "$dir"/usr/share/doc/* "$dir"/usr/share/man/* \
    "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
}

import() {
  local name="$1" image="$2"; shift 2
  say "docker import $image"
  tar -C "$WORK/$name" -c . | docker import "$@" - "$image" >/dev/null
  rm -rf "${WORK:?}/$name"
}

build_postgres() {
  rootfs postgres "postgresql-15"
  local dir="$WORK/postgres"
  # The cluster Debian's postinst made is not ours; the entrypoint makes one.
  rm -rf "$dir"/var/lib/postgresql/15 "$dir"/etc/postgresql/15
  install -m 0755 "$HERE/postgres-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"
  mkdir -p "$dir/var/lib/postgresql/data" "$dir/docker-entrypoint-initdb.d" "$dir/var/run/postgresql"
  chroot "$dir" chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
  chmod 0700 "$dir/var/lib/postgresql/data"
  import postgres "$PG_IMAGE" \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'USER postgres' \
    --change 'EXPOSE 5432' \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]'
}

build_redis() {
  rootfs redis "redis-server"
  import redis "$REDIS_IMAGE" \
    --change 'USER redis' \
    --change 'EXPOSE 6379' \
    --change 'ENTRYPOINT ["redis-server"]' \
    --change 'CMD ["--bind","0.0.0.0","--protected-mode","no","--save","","--appendonly","no","--daemonize","no","--dir","/tmp"]'
}

# The base gonogo's image runs on: what debian:bookworm-slim offers that
# gonogo needs (glibc and the CA store its HTTPS client trusts), nothing else.
build_runtime() {
  rootfs runtime "ca-certificates"
  import runtime "$RUNTIME_IMAGE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]'
}

build_prometheus() {
  rootfs prometheus "prometheus"
  local dir="$WORK/prometheus"
  # Laid out like the official prom/prometheus image (user nobody, data in
  # /prometheus), so the crate starts either with the same arguments.
  mkdir -p "$dir/prometheus" "$dir/etc/prometheus"
  chown 65534:65534 "$dir/prometheus"
  import prometheus "$PROMETHEUS_IMAGE" \
    --change 'USER nobody' \
    --change 'WORKDIR /prometheus' \
    --change 'EXPOSE 9090' \
    --change 'ENTRYPOINT ["/usr/bin/prometheus"]' \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml","--storage.tsdb.path=/prometheus"]'
}

build_chromium() {
  # A font, or screenshots render boxes instead of text. dbus-x11: dconf
  # (through GTK) needs "default-dbus-session-bus | dbus-session-bus", and
  # debootstrap resolves neither virtual package; dbus-x11 provides the second.
  rootfs chromium "chromium,fonts-dejavu-core,dbus-x11"
  # The crate runs `chromium --headless ...` through `docker exec`; the
  # container itself only has to stay up meanwhile.
  import chromium "$CHROMIUM_IMAGE" \
    --change 'ENV HOME=/tmp' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /tmp' \
    --change 'CMD ["sleep","infinity"]'
}

# image_of NAME: the image that build_NAME makes.
image_of() {
  case "$1" in
    postgres) echo "$PG_IMAGE" ;;
    redis) echo "$REDIS_IMAGE" ;;
    prometheus) echo "$PROMETHEUS_IMAGE" ;;
    chromium) echo "$CHROMIUM_IMAGE" ;;
    runtime) echo "$RUNTIME_IMAGE" ;;
    *) die "unknown image $1 (known: postgres redis prometheus chromium runtime)" ;;
  esac
}

[ "$#" -gt 0 ] || set -- postgres redis
for name in "$@"; do image_of "$name" >/dev/null; done

mkdir -p "$WORK"
LOCK="${TMPDIR:-/tmp}/gonogo-offline-images.lock"
if [ -z "${GONOGO_OFFLINE_LOCK_HELD:-}" ]; then
  exec 9>"$LOCK"
  if ! flock -n 9; then
    say "another build holds $LOCK; waiting for it"
    flock 9
  fi
fi
start=$(date +%s)
images=()
for name in "$@"; do
  image="$(image_of "$name")"
  if [ -n "${FORCE:-}" ] || ! exists "$image"; then "build_$name"; else say "$image exists"; fi
  images+=("$image")
done
say "ready in $(( $(date +%s) - start ))s: ${images[*]}"
