#!/usr/bin/env bash
# schemathesis against the reference server: every phase (examples, coverage, fuzzing,
# stateful), every check, a fixed seed and a bounded example count. Starts the server with
# `--dev` (its own PostgreSQL and Redis containers) on a fixed loopback port, takes an
# anonymous token, runs schemathesis, then checks that the stateful phase reached real files and
# memories through the spec's links. Exits non-zero on any failure or error.
# Used by `.ci/run` and `just schemathesis`; see server/README.md ("schemathesis").
#
# Environment: SCHEMATHESIS_PORT (18080), SCHEMATHESIS_SEED (13), SCHEMATHESIS_MAX_EXAMPLES (100),
# SERVER_PID_FILE (where the server's pid is written, for a caller's own clean-up trap),
# CARGO_TARGET_DIR (the venv, the build and the report live under it).
set -euo pipefail
cd "$(dirname "$0")/../.."

here="$PWD/server/schemathesis"
target="${CARGO_TARGET_DIR:-$PWD/target}"
work="$target/schemathesis"
venv="$work/venv"
report="$work/report"
port="${SCHEMATHESIS_PORT:-18080}"
seed="${SCHEMATHESIS_SEED:-13}"
examples="${SCHEMATHESIS_MAX_EXAMPLES:-100}"
base="http://127.0.0.1:$port"
pid_file="${SERVER_PID_FILE:-$work/server.pid}"
mkdir -p "$work"
rm -rf "$report"

# A venv per pin: a changed requirements.txt gets a fresh one.
pin="$(sha256sum "$here/requirements.txt" | cut -c1-16)"
if [ "$(cat "$venv/.pin" 2>/dev/null)" != "$pin" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$pin" >"$venv/.pin"
fi
"$venv/bin/st" --version

cargo build --locked --quiet -p knowledge-server
server_pid=""
stop_server() {
  [ -n "$server_pid" ] || return 0
  # SIGTERM: in-flight requests finish, then --dev removes its containers.
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  # Should it have died first, its reaper removes them; wait for that, then make sure.
  local ids=""
  for _ in $(seq 30); do
    ids="$(docker ps -aq --filter "label=gonogo.owner.pid=$server_pid" 2>/dev/null || true)"
    [ -n "$ids" ] || break
    sleep 1
  done
  if [ -n "$ids" ]; then docker rm -f -v $ids >/dev/null 2>&1 || true; fi
  rm -f "$pid_file"
  server_pid=""
}
trap stop_server EXIT

# Limits far above what a run sends: schemathesis judges the API, not one hour's allowance.
BIND_ADDR="127.0.0.1:$port" RATE_LIMIT_PER_HOUR=10000000 ANON_RATE_LIMIT_PER_HOUR=10000000 \
  LOG_FORMAT=json RUST_LOG="${RUST_LOG:-warn}" \
  "$target/debug/knowledge-server" --dev >"$work/server.log" 2>&1 &
server_pid=$!
echo "$server_pid" >"$pid_file"

token="$("$venv/bin/python" - "$base" "$server_pid" <<'PY'
import json, os, sys, time, urllib.request
base, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 300
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("the server exited during start-up")
    try:
        with urllib.request.urlopen(f"{base}/ready", timeout=2) as r:
            if r.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("the server was not ready within 300 s")
    time.sleep(1)
req = urllib.request.Request(f"{base}/api/v1/stream/auth/anon", data=b"{}", method="POST",
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    print(json.load(r)["token"])
PY
)" || { echo "schemathesis: the server did not start; its log:" >&2; tail -n 50 "$work/server.log" >&2; exit 1; }

# In the work dir: schemathesis keeps state (.hypothesis, .schemathesis) in its current directory.
status=0
(
  cd "$work"
  SCHEMATHESIS_HOOKS="$here/hooks.py" "$venv/bin/st" --config-file "$here/schemathesis.toml" \
    run "$base/openapi.json" \
    --phases examples,coverage,fuzzing,stateful --checks all \
    --seed "$seed" --max-examples "$examples" --generation-database none \
    --header "Authorization: Bearer $token" \
    --no-color --report junit,ndjson --report-dir "$report"
) || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis: failures or errors (exit $status); the server's log is $work/server.log" >&2
  exit "$status"
fi
"$venv/bin/python" "$here/stateful_reach.py" "$report"/ndjson-*.ndjson
