# gonogo's container image: `gonogo` as the entrypoint, run as uid 10001 on a
# small Debian bookworm. One file for both ways of getting the binary:
#
#   docker build -t gonogo .      where a registry answers: compiles gonogo in
#                                 BUILDER_IMAGE, runs it on RUNTIME_IMAGE
#                                 (context: this repository)
#   just image                    no registry: harness/build-image.sh builds
#                                 gonogo on the host and the offline Debian
#                                 base, then this file with PREBUILT=gonogo and
#                                 both images set to that base (context: a
#                                 directory holding the binary `gonogo`)
#
# Build arguments:
#   RUNTIME_IMAGE   debian:bookworm-slim   what gonogo runs on. The binary links
#                   glibc dynamically, so this must be bookworm (glibc 2.36) or
#                   newer; without a CA store, ca-certificates is installed.
#   BUILDER_IMAGE   rust:1-bookworm        what compiles gonogo; the same Debian
#                   release as RUNTIME_IMAGE, so the glibc it links against is
#                   the one it runs on. With PREBUILT, any image with sh.
#   PREBUILT        (empty)                a gonogo binary's path in the context,
#                   used instead of compiling.
#   GONOGO_COMMIT   unknown                the commit `gonogo --version` shows
#                   (the build context has no .git to ask).
#   GONOGO_VERSION  unknown                the image's version label.
#
# The binary's source is an argument rather than a --target: the classic
# builder (Docker without buildx) runs every stage before the target, so a
# second final stage would run on both paths and fail on one of them.
#
# At run time gonogo writes only its reports, under /var/lib/gonogo/reports
# (its working directory is /var/lib/gonogo, so the default `reports/out`
# lands there too): mount a volume there and the root filesystem can be
# read-only. `gonogo serve` listens on 127.0.0.1:9090 unless told otherwise;
# in a container give it `--listen 0.0.0.0:9090` (or serve.listen).

ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG BUILDER_IMAGE=rust:1-bookworm

FROM ${RUNTIME_IMAGE} AS base
# debian:bookworm-slim has no CA store and gonogo's HTTPS client trusts the
# platform's; the offline base has it already, so nothing is fetched there.
RUN set -eu; \
    if [ ! -s /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --gid 10001 gonogo; \
    useradd --uid 10001 --gid 10001 --home-dir /var/lib/gonogo --no-create-home \
      --no-log-init --shell /usr/sbin/nologin gonogo; \
    install -d -o 10001 -g 10001 -m 0755 /var/lib/gonogo /var/lib/gonogo/reports
WORKDIR /var/lib/gonogo
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
EXPOSE 9090
ENTRYPOINT ["gonogo"]
CMD ["--help"]

FROM ${BUILDER_IMAGE} AS builder
# The classic builder keeps this stage as an untagged image; the label lets
# `docker image prune --filter label=gonogo.stage=builder` find it.
LABEL gonogo.stage=builder
# Empty: compile. A path in the context: that binary, built elsewhere (the
# offline path, whose BUILDER_IMAGE is then the runtime base itself).
ARG PREBUILT=
ARG GONOGO_COMMIT=unknown
WORKDIR /src
COPY . .
# Without hermetic mode (no Docker, no embedded server): the image judges
# deployed targets, as the GitHub Action's build does. GONOGO_COMMIT reaches
# harness/build.rs through the environment.
RUN set -eu; \
    if [ -n "${PREBUILT}" ]; then \
      [ -f "${PREBUILT}" ] || { echo "PREBUILT=${PREBUILT} is not in the build context" >&2; exit 1; }; \
      install -m 0755 "${PREBUILT}" /usr/local/bin/gonogo; \
    else \
      GONOGO_COMMIT="${GONOGO_COMMIT}" \
        cargo build --locked --release -p gonogo-harness --bin gonogo --no-default-features; \
      install -m 0755 target/release/gonogo /usr/local/bin/gonogo; \
    fi

FROM base AS runtime
ARG GONOGO_VERSION=unknown
ARG GONOGO_COMMIT=unknown
LABEL org.opencontainers.image.title="gonogo" \
      org.opencontainers.image.description="Release gate for the Knowledge API" \
      org.opencontainers.image.version="${GONOGO_VERSION}" \
      org.opencontainers.image.revision="${GONOGO_COMMIT}"
COPY --from=builder /usr/local/bin/gonogo /usr/local/bin/gonogo
