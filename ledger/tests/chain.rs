//! The ledger against tampering and concurrent appenders, on SQLite and on a
//! real PostgreSQL container: each case builds a fresh ledger, tampers with its
//! tables as an intruder with database access would, and checks that
//! verification fails naming the first bad entry.

use ed25519_dalek::SigningKey;
use gonogo_ledger::entry::Entry;
use gonogo_ledger::{verify, EntryKind, Ledger, Location, NewEntry, SignedHead};
use gonogo_reports::signoff::TrustStore;

fn gate_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn trust() -> TrustStore {
    let mut t = TrustStore::default();
    t.insert(gate_key().verifying_key(), "gate");
    t
}

fn run_entry(i: usize) -> NewEntry {
    let mut e = NewEntry::new(EntryKind::Run);
    e.environment = Some("production".into());
    e.target = Some("https://api.example".into());
    e.commit = Some(format!("commit{i}"));
    e.outcome = Some("GO".into());
    e.run_id = Some(format!("run-{i}"));
    e
}

/// Makes fresh, empty ledgers of one backend.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String },
}

impl Backend {
    async fn fresh(&self, name: &str) -> Location {
        match self {
            Backend::Sqlite(dir) => Location::Sqlite(dir.path().join(format!("{name}.sqlite"))),
            Backend::Postgres { admin_url } => {
                let admin = Ledger::open(&Location::Postgres(admin_url.clone()))
                    .await
                    .expect("the admin database opens");
                admin
                    .execute_raw(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("a fresh database");
                admin.close().await;
                let (base, _) = admin_url.rsplit_once('/').unwrap();
                Location::Postgres(format!("{base}/{name}"))
            }
        }
    }
}

/// A ledger of `n` run entries.
async fn ledger_of(backend: &Backend, name: &str, n: usize) -> Ledger {
    let ledger = Ledger::open(&backend.fresh(name).await).await.unwrap();
    for i in 1..=n {
        ledger.append(&gate_key(), run_entry(i)).await.unwrap();
    }
    ledger
}

async fn check(ledger: &Ledger, external: Option<&SignedHead>) -> Result<i64, (i64, String)> {
    let entries = ledger.entries().await.unwrap();
    let heads = ledger.heads().await.unwrap();
    verify(&entries, &heads, &trust(), external)
        .map(|v| v.entries)
        .map_err(|p| (p.entry, p.reason))
}

/// Rewrites entries `from..` as an intruder without the key would: the first
/// one's commit changed, every hash from there on recomputed and relinked.
async fn rewrite_tail(ledger: &Ledger, from: i64) {
    let entries = ledger.entries().await.unwrap();
    let mut previous = entries[(from - 2) as usize].hash.clone();
    for e in entries.iter().filter(|e| e.seq >= from) {
        let mut forged: Entry = e.clone();
        if e.seq == from {
            forged.fields.commit = Some("evil".into());
        }
        forged.previous_hash = previous.clone();
        forged.hash = forged.computed_hash();
        ledger
            .execute_raw(&format!(
                "UPDATE ledger_entries SET git_commit = '{}', previous_hash = '{}', hash = '{}' WHERE seq = {}",
                forged.fields.commit.as_deref().unwrap(),
                forged.previous_hash,
                forged.hash,
                e.seq
            ))
            .await
            .unwrap();
        previous = forged.hash;
    }
}

async fn assert_fails_at(ledger: &Ledger, case: &str, entry: i64, words: &str) {
    match check(ledger, None).await {
        Ok(n) => panic!("{case}: the ledger of {n} entries still verified"),
        Err((at, reason)) => {
            assert_eq!(at, entry, "{case}: named entry {at}: {reason}");
            assert!(reason.contains(words), "{case}: {reason}");
        }
    }
}

/// Every case on `backend`.
async fn tampering_is_named(backend: &Backend) {
    let clean = ledger_of(backend, "clean", 6).await;
    assert_eq!(check(&clean, None).await, Ok(6));
    let head = clean.head().await.unwrap().unwrap();
    assert_eq!(head.count, 6);
    assert_eq!(check(&clean, Some(&head)).await, Ok(6));

    let edited = ledger_of(backend, "edited", 6).await;
    edited
        .execute_raw("UPDATE ledger_entries SET git_commit = 'commiT2' WHERE seq = 2")
        .await
        .unwrap();
    assert_fails_at(&edited, "one byte of entry 2 changed", 2, "altered").await;

    let middle = ledger_of(backend, "middle", 6).await;
    middle
        .execute_raw("DELETE FROM ledger_entries WHERE seq = 3")
        .await
        .unwrap();
    assert_fails_at(&middle, "entry 3 deleted", 3, "missing").await;

    let last = ledger_of(backend, "last", 6).await;
    last.execute_raw("DELETE FROM ledger_entries WHERE seq = 6")
        .await
        .unwrap();
    assert_fails_at(&last, "the last entry deleted", 6, "missing").await;

    let swapped = ledger_of(backend, "swapped", 6).await;
    for sql in [
        "UPDATE ledger_entries SET seq = -3 WHERE seq = 3",
        "UPDATE ledger_entries SET seq = 3 WHERE seq = 4",
        "UPDATE ledger_entries SET seq = 4 WHERE seq = -3",
    ] {
        swapped.execute_raw(sql).await.unwrap();
    }
    assert_fails_at(&swapped, "entries 3 and 4 swapped", 3, "altered").await;

    let rewritten = ledger_of(backend, "rewritten", 6).await;
    rewrite_tail(&rewritten, 4).await;
    assert_fails_at(&rewritten, "tail rewritten from 4", 4, "rewritten").await;
    // Re-signing the heads with another key does not help without the gate's.
    let intruder = SigningKey::from_bytes(&[7; 32]);
    for e in rewritten
        .entries()
        .await
        .unwrap()
        .iter()
        .filter(|e| e.seq >= 4)
    {
        let forged = SignedHead::sign(&intruder, e.seq, &e.hash);
        rewritten
            .execute_raw(&format!(
                "UPDATE ledger_heads SET hash = '{}', key_id = '{}', signature = '{}' WHERE count = {}",
                forged.hash, forged.key_id, forged.signature, e.seq
            ))
            .await
            .unwrap();
    }
    assert_fails_at(&rewritten, "tail rewritten and re-signed", 4, "not genuine").await;
    // Nor does deleting the heads that no longer match.
    rewritten
        .execute_raw("DELETE FROM ledger_heads WHERE count >= 4")
        .await
        .unwrap();
    assert_fails_at(
        &rewritten,
        "tail rewritten, heads removed",
        4,
        "not vouched for",
    )
    .await;

    // What local verification cannot see: the last entries and their heads
    // removed together. A head kept elsewhere sees it.
    let truncated = ledger_of(backend, "truncated", 6).await;
    let kept = truncated.head().await.unwrap().unwrap();
    truncated
        .execute_raw("DELETE FROM ledger_entries WHERE seq >= 5")
        .await
        .unwrap();
    truncated
        .execute_raw("DELETE FROM ledger_heads WHERE count >= 5")
        .await
        .unwrap();
    assert_eq!(check(&truncated, None).await, Ok(4));
    let (at, reason) = check(&truncated, Some(&kept)).await.unwrap_err();
    assert_eq!(at, 5, "{reason}");
    assert!(reason.contains("vouches for 6 entries"), "{reason}");
}

/// Two appenders with their own pools, 20 appends each, at once.
async fn concurrent_appenders_leave_one_chain(backend: &Backend) {
    let location = backend.fresh("concurrent").await;
    let first = Ledger::open(&location).await.unwrap();
    let second = Ledger::open(&location).await.unwrap();
    let appender = |ledger: Ledger, who: usize| {
        tokio::spawn(async move {
            for i in 0..20 {
                ledger
                    .append(&gate_key(), run_entry(who * 100 + i))
                    .await
                    .unwrap();
            }
        })
    };
    let (a, b) = tokio::join!(appender(first.clone(), 1), appender(second, 2));
    a.unwrap();
    b.unwrap();
    let entries = first.entries().await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    assert_eq!(first.heads().await.unwrap().len(), 40);
    assert_eq!(check(&first, None).await, Ok(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_names_every_tampering() {
    tampering_is_named(&Backend::Sqlite(tempfile::tempdir().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ledger_keeps_one_chain_under_two_appenders() {
    concurrent_appenders_leave_one_chain(&Backend::Sqlite(tempfile::tempdir().unwrap())).await;
}

/// One PostgreSQL container for both scenarios, each in its own databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ledger_names_every_tampering_and_keeps_one_chain() {
    let stack = gonogo_containers::Stack::start()
        .await
        .expect("the PostgreSQL container starts");
    let backend = Backend::Postgres {
        admin_url: stack.postgres().url().to_owned(),
    };
    tampering_is_named(&backend).await;
    concurrent_appenders_leave_one_chain(&backend).await;
}
