#!/usr/bin/env bash
# Builds gonogo's container image with no container registry (`just image`):
# gonogo compiled on the host, the offline Debian bookworm base
# (containers/offline/build-images.sh runtime), and the repository's one
# Dockerfile with PREBUILT=gonogo. Where a registry answers,
# `docker build .` builds the same image from the official Rust and Debian
# images instead (see the Dockerfile).
#
#   harness/build-image.sh                      # release build; tags gonogo:<version>, gonogo:local
#   harness/build-image.sh --binary PATH --tag NAME [--tag NAME...]
#                                               # a gonogo built already (the image test's)
#
# The host's binary links the host's glibc dynamically, so the host must be
# Debian bookworm (glibc 2.36) or older; the script runs `gonogo --version`
# in the image at the end, which fails loudly on a mismatch.
#
# Needs docker; root only when the base image has to be built (debootstrap).
# Fast when the base exists: a warm cargo build and a docker build that
# copies one file.
# Progress goes to stderr, one `build-image: ...` line a step; the image's
# tags go to stdout, one a line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${OFFLINE_RUNTIME_IMAGE:-gonogo-offline/runtime:bookworm}"

say() { echo "build-image: $*" >&2; }
die() { say "$*"; exit 1; }

binary=""
tags=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; binary="$2"; shift 2 ;;
    --tag) [ $# -ge 2 ] || die "--tag needs an image name"; tags+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable"
start=$(date +%s)

if [ -z "$binary" ]; then
  # No hermetic mode: the image judges deployed targets (no Docker inside it,
  # no embedded reference server), as the GitHub Action's build does.
  say "cargo build --release -p gonogo-harness --bin gonogo --no-default-features"
  (cd "$ROOT" && cargo build --locked --release -p gonogo-harness --bin gonogo --no-default-features)
  # A relative CARGO_TARGET_DIR is relative to where cargo ran: $ROOT.
  target_dir="${CARGO_TARGET_DIR:-target}"
  case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
  binary="$target_dir/release/gonogo"
fi
[ -x "$binary" ] || die "no gonogo binary at $binary"

# `gonogo 0.1.0 (abc1234)`: the version tags the image, both label it.
line="$("$binary" --version)"
read -r _ version rest <<<"$line"
commit="${rest#(}"
commit="${commit%)}"
commit="${commit:-unknown}"
[ -n "$version" ] || die "$binary --version printed no version: $line"
[ ${#tags[@]} -gt 0 ] || tags=("gonogo:$version" "gonogo:local")

if docker image inspect "$BASE" >/dev/null 2>&1; then
  say "base $BASE exists"
else
  say "base $BASE is missing; building it (debootstrap, needs root)"
  if [ "$(id -u)" = 0 ]; then
    bash "$ROOT/containers/offline/build-images.sh" runtime
  else
    die "the base image $BASE is missing and building it needs root: sudo $ROOT/containers/offline/build-images.sh runtime"
  fi
fi

# The context is the binary alone: the repository (and its target/) need not
# be sent to the daemon when nothing is compiled.
context="$(mktemp -d "${TMPDIR:-/tmp}/gonogo-image.XXXXXX")"
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/gonogo"
# Symbols are for debugging on the host; the image ships without them.
if command -v strip >/dev/null; then strip "$context/gonogo"; fi

tag_args=()
for t in "${tags[@]}"; do tag_args+=(--tag "$t"); done
say "docker build on $BASE with PREBUILT=gonogo: ${tags[*]}"
docker build --force-rm \
  --build-arg "RUNTIME_IMAGE=$BASE" \
  --build-arg "BUILDER_IMAGE=$BASE" \
  --build-arg "PREBUILT=gonogo" \
  --build-arg "GONOGO_VERSION=$version" \
  --build-arg "GONOGO_COMMIT=$commit" \
  "${tag_args[@]}" --file "$ROOT/Dockerfile" "$context" >&2

# The classic builder leaves each build's builder stage behind, untagged
# (the binary twice over), and a rebuild leaves the image its tags moved from;
# earlier ones go. Recent ones stay, in case a build running beside this one
# is about to copy from its own.
for label in gonogo.stage=builder org.opencontainers.image.title=gonogo; do
  docker image prune --force --filter "label=$label" --filter until=10m >/dev/null
done

# The image must run what it was built for (a newer host glibc fails here).
got="$(docker run --rm --network none "${tags[0]}" --version)" \
  || die "${tags[0]} does not run gonogo --version (a host glibc newer than bookworm's?)"
[ "$got" = "$line" ] || die "${tags[0]} says '$got', the binary says '$line'"

size="$(docker image inspect --format '{{.Size}}' "${tags[0]}")"
say "ready in $(( $(date +%s) - start ))s: ${tags[*]} ($(( size / 1000000 )) MB)"
printf '%s\n' "${tags[@]}"
