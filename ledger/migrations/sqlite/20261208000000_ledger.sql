-- The ledger of decisions (gonogo-ledger, issue 23). Rows are never updated
-- or deleted by gonogo; `gonogo ledger verify` detects anyone who does.
CREATE TABLE IF NOT EXISTS ledger_entries (
    seq INTEGER PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    environment TEXT,
    target TEXT,
    git_commit TEXT,
    outcome TEXT,
    run_id TEXT,
    report_sha256 TEXT,
    signer TEXT,
    role TEXT,
    attestation_digest TEXT,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_entries_environment_commit ON ledger_entries (environment, git_commit);
CREATE INDEX IF NOT EXISTS ledger_entries_run ON ledger_entries (run_id);
-- One signed head per append: (count, last hash) signed with the gate's key.
CREATE TABLE IF NOT EXISTS ledger_heads (
    count INTEGER PRIMARY KEY NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
