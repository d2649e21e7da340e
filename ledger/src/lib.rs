//! gonogo-ledger: every decision gonogo takes, kept as a hash chain whose heads
//! are signed, in an embedded SQLite file or a shared PostgreSQL database.
//!
//! - [`entry`]: one entry (a run, a sign-off, an attestation, a canary outcome, a
//!   deployment), its canonical encoding and its hash.
//! - [`head`]: the signed head (entry count and last hash), and the file `gonogo
//!   ledger head` prints so CI can keep it elsewhere.
//! - [`store`]: the two backends, migrations, and the serialised append.
//! - [`verify`]: walks the chain and its heads and names the first bad entry.
//! - [`questions`]: history and "may commit C go to environment E?".
//!
//! What local verification cannot catch: someone who deletes the last entries
//! *and* their heads together leaves a shorter ledger that is still a valid
//! one. A head kept outside the ledger (`gonogo ledger head` saved by CI,
//! checked with `gonogo ledger verify --head FILE`) catches that too.

pub mod entry;
pub mod head;
pub mod questions;
pub mod store;
pub mod verify;

pub use entry::{Entry, EntryKind, NewEntry};
pub use head::SignedHead;
pub use store::{Ledger, LedgerError, Location};
pub use verify::{verify, Problem, Verified};
