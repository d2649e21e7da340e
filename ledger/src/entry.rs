//! One entry of the ledger and its hash.
//!
//! **Canonical encoding** (what an entry's hash is the SHA-256 of, hex in
//! lower case): the line `gonogo-ledger-entry-v1`, then one line per field in
//! this order — `seq`, `kind`, `recorded_at`, `environment`, `target`,
//! `commit`, `outcome`, `run_id`, `report_sha256`, `signer`, `role`,
//! `attestation_digest`, `previous_hash` — each written `name:LEN:VALUE` where
//! LEN is the value's length in bytes (UTF-8, decimal), or `name:-` for an
//! absent value; every line ends with `\n`. The lengths make the encoding
//! unambiguous (a value holding `\n` or `:` cannot pass for two fields), and
//! absent differs from empty. `recorded_at` is RFC 3339 in UTC with
//! microseconds (`2026-12-08T00:05:26.123456Z`), stored as that text so both
//! backends hash the same bytes. The first entry's previous hash is 64 zeros.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 of `bytes`, hex in lower case (a report's digest in an entry).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A `gonogo run` and its verdict.
    Run,
    /// One sign-off of a run's report: who signed, for which role.
    Signoff,
    /// An attestation of a run's report: the envelope's digest and its result.
    Attestation,
    /// A canary's outcome (PROMOTE, ROLLBACK, INCONCLUSIVE).
    Canary,
    /// A commit deployed to an environment.
    Deployment,
}

impl EntryKind {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Run => "run",
            EntryKind::Signoff => "signoff",
            EntryKind::Attestation => "attestation",
            EntryKind::Canary => "canary",
            EntryKind::Deployment => "deployment",
        }
    }

    /// The kind stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<EntryKind> {
        [
            EntryKind::Run,
            EntryKind::Signoff,
            EntryKind::Attestation,
            EntryKind::Canary,
            EntryKind::Deployment,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a command appends; the ledger adds the sequence number, the time and the hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEntry {
    pub kind: EntryKind,
    /// The environment decided for (`run.environment`, `--to`); sign-offs and
    /// attestations take their run's.
    pub environment: Option<String>,
    /// The target's base URL.
    pub target: Option<String>,
    /// The commit (or version) of the build decided on.
    pub commit: Option<String>,
    /// The verdict (GO, NO-GO, INCONCLUSIVE), the canary's outcome, the
    /// attestation's result (PASSED, FAILED), or `deployed`.
    pub outcome: Option<String>,
    /// The run the entry is about (`run.id` of its report).
    pub run_id: Option<String>,
    /// SHA-256 (hex) of the report file as it was when the entry was made.
    pub report_sha256: Option<String>,
    /// Who signed (sign-offs).
    pub signer: Option<String>,
    /// The role signed for (sign-offs).
    pub role: Option<String>,
    /// `sha256:HEX` of the attestation's envelope.
    pub attestation_digest: Option<String>,
}

impl NewEntry {
    /// An entry of `kind` with every field empty.
    pub fn new(kind: EntryKind) -> NewEntry {
        NewEntry {
            kind,
            environment: None,
            target: None,
            commit: None,
            outcome: None,
            run_id: None,
            report_sha256: None,
            signer: None,
            role: None,
            attestation_digest: None,
        }
    }
}

/// An entry as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, 3, … with no gap.
    pub seq: i64,
    /// RFC 3339, UTC, microseconds: the text that is hashed.
    pub recorded_at: String,
    #[serde(flatten)]
    pub fields: NewEntry,
    /// The hash of the entry before it ([`GENESIS`] for the first).
    pub previous_hash: String,
    /// SHA-256 of the [canonical encoding](self), hex.
    pub hash: String,
}

impl Entry {
    /// The entry that follows `previous_hash` as number `seq`, hashed.
    pub fn chain(seq: i64, at: DateTime<Utc>, fields: NewEntry, previous_hash: &str) -> Entry {
        let mut entry = Entry {
            seq,
            recorded_at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
            fields,
            previous_hash: previous_hash.to_owned(),
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        entry
    }

    /// When it was recorded (`None`: the stored text is not a time).
    pub fn recorded_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.recorded_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The canonical encoding of every field but the hash itself.
    pub fn canonical(&self) -> Vec<u8> {
        let f = &self.fields;
        let seq = self.seq.to_string();
        let fields: [(&str, Option<&str>); 13] = [
            ("seq", Some(&seq)),
            ("kind", Some(f.kind.as_str())),
            ("recorded_at", Some(&self.recorded_at)),
            ("environment", f.environment.as_deref()),
            ("target", f.target.as_deref()),
            ("commit", f.commit.as_deref()),
            ("outcome", f.outcome.as_deref()),
            ("run_id", f.run_id.as_deref()),
            ("report_sha256", f.report_sha256.as_deref()),
            ("signer", f.signer.as_deref()),
            ("role", f.role.as_deref()),
            ("attestation_digest", f.attestation_digest.as_deref()),
            ("previous_hash", Some(&self.previous_hash)),
        ];
        let mut out = b"gonogo-ledger-entry-v1\n".to_vec();
        for (name, value) in fields {
            out.extend_from_slice(name.as_bytes());
            match value {
                Some(v) => {
                    out.extend_from_slice(format!(":{}:", v.len()).as_bytes());
                    out.extend_from_slice(v.as_bytes());
                }
                None => out.extend_from_slice(b":-"),
            }
            out.push(b'\n');
        }
        out
    }

    /// SHA-256 of [`Entry::canonical`], hex: what [`Entry::hash`] must be.
    pub fn computed_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-08T00:05:26.123456789Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_encoding_tells_absent_from_empty_and_cannot_shift_a_field() {
        let mut a = NewEntry::new(EntryKind::Run);
        a.environment = Some(String::new());
        let b = NewEntry::new(EntryKind::Run);
        let (ea, eb) = (
            Entry::chain(1, at(), a, GENESIS),
            Entry::chain(1, at(), b, GENESIS),
        );
        assert_ne!(ea.hash, eb.hash);
        // A value holding what looks like the next field stays one value.
        let mut c = NewEntry::new(EntryKind::Run);
        c.environment = Some("prod\ntarget:4:http".into());
        let mut d = NewEntry::new(EntryKind::Run);
        d.environment = Some("prod".into());
        d.target = Some("http".into());
        let (ec, ed) = (
            Entry::chain(1, at(), c, GENESIS),
            Entry::chain(1, at(), d, GENESIS),
        );
        assert_ne!(ec.hash, ed.hash);
    }

    #[test]
    fn the_encoding_is_the_documented_one() {
        let mut e = NewEntry::new(EntryKind::Deployment);
        e.environment = Some("prod".into());
        e.commit = Some("abc".into());
        let entry = Entry::chain(3, at(), e, GENESIS);
        let text = String::from_utf8(entry.canonical()).unwrap();
        assert_eq!(
            text,
            format!(
                "gonogo-ledger-entry-v1\nseq:1:3\nkind:10:deployment\nrecorded_at:27:2026-12-08T00:05:26.123456Z\n\
                 environment:4:prod\ntarget:-\ncommit:3:abc\noutcome:-\nrun_id:-\nreport_sha256:-\n\
                 signer:-\nrole:-\nattestation_digest:-\nprevious_hash:64:{GENESIS}\n"
            )
        );
        assert_eq!(entry.hash, hex::encode(Sha256::digest(text.as_bytes())));
    }
}
