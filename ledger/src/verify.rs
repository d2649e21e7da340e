//! Walks the chain and its signed heads; the first thing that does not hold is
//! the answer, named by the entry it concerns.
//!
//! For each entry in `seq` order: its number must follow the one before (a gap
//! is a removed entry), its fields must hash to its recorded hash (an edited
//! byte), its previous hash must be the entry before's hash (a removed or
//! reordered entry whose hashes were patched up), and a signed head stored for
//! that count must verify with a trusted key and name that very hash (a tail
//! rewritten with recomputed hashes: the heads were signed over the old
//! hashes, and new ones cannot be signed without the key). After the walk,
//! no stored head may vouch for more entries than there are (a removed last
//! entry), and the newest head must cover the last entry (an entry appended
//! or rewritten without the key). A head given from outside (`--head FILE`)
//! is checked the same way.

use gonogo_reports::signoff::TrustStore;
use serde::Serialize;

use crate::entry::{Entry, GENESIS};
use crate::head::SignedHead;

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The entry it concerns (its `seq`, or the number an entry should have had).
    pub entry: i64,
    /// One sentence.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.entry, self.reason)
    }
}

/// A ledger that verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// How many entries.
    pub entries: i64,
    /// The newest head's hash (`None`: an empty ledger).
    pub head_hash: Option<String>,
    /// How many signed heads were checked.
    pub heads: usize,
    /// Whether a head from outside the ledger was also checked.
    pub external_head: bool,
}

/// Verifies `entries` (in `seq` order) against `heads`, trusting `trust`'s
/// keys; `external` is a head kept outside the ledger, if one was given.
pub fn verify(
    entries: &[Entry],
    heads: &[SignedHead],
    trust: &TrustStore,
    external: Option<&SignedHead>,
) -> Result<Verified, Problem> {
    let bad = |entry: i64, reason: String| Err(Problem { entry, reason });
    let mut previous = GENESIS;
    for (i, entry) in entries.iter().enumerate() {
        let expected = i as i64 + 1;
        if entry.seq != expected {
            return bad(
                expected,
                format!(
                    "missing: entry {} is followed by entry {} (an entry was removed or renumbered)",
                    expected - 1,
                    entry.seq
                ),
            );
        }
        let computed = entry.computed_hash();
        if computed != entry.hash {
            return bad(
                entry.seq,
                "altered: its fields no longer hash to its recorded hash".to_owned(),
            );
        }
        if entry.previous_hash != previous {
            return bad(
                entry.seq,
                format!(
                    "does not follow entry {}: its previous hash is not that entry's hash (an entry was removed, reordered or rewritten)",
                    entry.seq - 1
                ),
            );
        }
        for head in heads.iter().filter(|h| h.count == entry.seq) {
            check_head(head, entry, trust, "a signed head")?;
        }
        previous = &entry.hash;
    }
    let count = entries.len() as i64;
    let vouched = heads
        .iter()
        .chain(external)
        .map(|h| h.count)
        .max()
        .unwrap_or(0);
    if vouched > count {
        return bad(
            count + 1,
            format!(
                "missing: a signed head vouches for {vouched} entries but the ledger ends at entry {count} (its last entries were removed)"
            ),
        );
    }
    if let Some(head) = external {
        if let Some(entry) = entries.get((head.count - 1).max(0) as usize) {
            check_head(head, entry, trust, "the head given")?;
        }
    }
    let newest = heads.iter().map(|h| h.count).max().unwrap_or(0);
    if newest < count {
        return bad(
            newest + 1,
            format!(
                "not vouched for: the newest signed head covers {newest} entries of {count} (entries were added or rewritten without the ledger's key)"
            ),
        );
    }
    Ok(Verified {
        entries: count,
        head_hash: entries.last().map(|e| e.hash.clone()),
        heads: heads.len(),
        external_head: external.is_some(),
    })
}

/// `head` must verify with a trusted key and name `entry`'s hash.
fn check_head(
    head: &SignedHead,
    entry: &Entry,
    trust: &TrustStore,
    which: &str,
) -> Result<(), Problem> {
    if let Err(e) = head.check(trust) {
        return Err(Problem {
            entry: entry.seq,
            reason: format!("{which} for {} entries is not genuine: {e}", head.count),
        });
    }
    if head.hash != entry.hash {
        return Err(Problem {
            entry: entry.seq,
            reason: format!(
                "rewritten: {which} signed for {} entries names another hash than this entry's (the tail was rewritten)",
                head.count
            ),
        });
    }
    Ok(())
}
