#!/usr/bin/env bash
# Builds gonogo's PostgreSQL and Redis images with no container registry:
# debootstrap a minimal Debian bookworm with the server package, add an
# entrypoint, then `docker import`. Idempotent: an image that exists is kept.
#
#   containers/offline/build-images.sh            # build what is missing
#   FORCE=1 containers/offline/build-images.sh    # rebuild both
#
# Needs root, docker and debootstrap, and Debian's package mirror
# (MIRROR, default http://deb.debian.org/debian).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
PG_IMAGE="${OFFLINE_POSTGRES_IMAGE:-gonogo-offline/postgres:15-bookworm}"
REDIS_IMAGE="${OFFLINE_REDIS_IMAGE:-gonogo-offline/redis:7-bookworm}"
WORK="${WORK_DIR:-/var/tmp/gonogo-offline}"
CACHE="$WORK/debs"

die() { echo "build-images: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it); try: sudo $0"
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable"
if ! command -v debootstrap >/dev/null; then
  echo "build-images: installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
    || die "debootstrap is missing and could not be installed (apt-get install debootstrap)"
fi

exists() { docker image inspect "$1" >/dev/null 2>&1; }

# rootfs NAME PACKAGES: a minbase bookworm with PACKAGES, in $WORK/NAME.
rootfs() {
  local name="$1" pkgs="$2" dir="$WORK/$1"
  rm -rf "$dir"
  mkdir -p "$dir" "$CACHE"
  echo "build-images: debootstrap $SUITE + $pkgs" >&2
  debootstrap --variant=minbase --include="$pkgs" --cache-dir="$CACHE" \
    "$SUITE" "$dir" "$MIRROR" >"$WORK/$name.log" 2>&1 \
    || { tail -20 "$WORK/$name.log" >&2; die "debootstrap of $name failed (log: $WORK/$name.log)"; }
  # Keep images small: no apt lists, docs or man pages.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* \
    "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
}

import() {
  local name="$1" image="$2"; shift 2
  echo "build-images: docker import $image" >&2
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

mkdir -p "$WORK"
# One build at a time: the containers crate takes the same lock when it
# builds the images by itself, so `just offline-images` and a test never race.
LOCK="${TMPDIR:-/tmp}/gonogo-offline-images.lock"
exec 9>"$LOCK"
flock 9
start=$(date +%s)
if [ -n "${FORCE:-}" ] || ! exists "$PG_IMAGE"; then build_postgres; else echo "build-images: $PG_IMAGE exists" >&2; fi
if [ -n "${FORCE:-}" ] || ! exists "$REDIS_IMAGE"; then build_redis; else echo "build-images: $REDIS_IMAGE exists" >&2; fi
echo "build-images: ready in $(( $(date +%s) - start ))s: $PG_IMAGE $REDIS_IMAGE" >&2
