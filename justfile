# gonogo — everyday recipes. `just` lists them.

# List the recipes.
default:
    @just --list

# The smoke harness: containers, in-process server, suites A–D, gates, go/no-go report.
smoke *ARGS:
    cargo test --test smoke {{ARGS}}

# The whole test suite.
test:
    cargo test --workspace

# Run the release gate against a deployed server (needs SMOKE_JWT_SECRET or the anonymous endpoint).
remote URL *ARGS:
    cargo run -q -p gonogo-harness --bin gonogo -- run --target {{URL}} {{ARGS}}

# Build the offline images (no registry needed; root and Debian's mirror): Postgres and Redis, or those named (postgres redis prometheus chromium).
offline-images *IMAGES:
    bash containers/offline/build-images.sh {{IMAGES}}

# Build the image gonogo:<version> and gonogo:local, no registry: host release build, offline Debian base.
image:
    bash harness/build-image.sh

# Start the reference server on 127.0.0.1:8080 with throwaway Postgres and Redis.
serve:
    cargo run -p knowledge-server -- --dev

# schemathesis against the reference server (every phase and check, fixed seed), as CI runs it.
# SCHEMATHESIS_SEED, SCHEMATHESIS_MAX_EXAMPLES and SCHEMATHESIS_PORT override the defaults.
schemathesis:
    bash server/schemathesis/run.sh

# Format, lint and test as CI does.
check:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
    bash server/schemathesis/run.sh

# The server's throughput, CPU per request and search growth beside its database's and a Python peer's (release build; needs wrk and pgbench; sizes via BENCH_*).
bench:
    cargo bench -p knowledge-server --bench knowledge

# Instructions per authenticated list request, counted by callgrind (steady under load; needs valgrind; BENCH_DATABASE_URL/BENCH_REDIS_URL or containers).
bench-instructions:
    cargo bench -p knowledge-server --bench list_instructions

# What CI runs, on this machine.
ci:
    bash .ci/run
