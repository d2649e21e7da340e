//! Generated inputs for the clauses that are properties over inputs, not examples: each case a
//! check draws comes from the run's seed and the check's id, so the report's seed replays
//! exactly the same cases (`--seed`), whatever else the run did.
//!
//! The generator is a small hand-written one over `rand_chacha`'s ChaCha8 rather than
//! `proptest`: a check sends real requests against a per-user budget of 100 an hour, so it can
//! afford a handful of cases, chosen by shape (a separator near the start, in the middle, past
//! the first 64 bytes; a bad character past the 64th of a request id), not hundreds shrunk
//! towards a minimum; and ChaCha8 is value-stable
//! across versions and platforms, so a seed printed today replays on another machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The largest seed: it fits a TOML integer and a JSON number exactly.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// A fresh seed for a run that was given none.
pub fn fresh_seed() -> u64 {
    rand::thread_rng().gen_range(1..=MAX_SEED)
}

/// The generator of the check `case_id` under the run's `seed`.
pub fn rng(seed: u64, case_id: &str) -> ChaCha8Rng {
    // FNV-1a of the id: the cases of one check do not depend on which others ran.
    let id = case_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    ChaCha8Rng::seed_from_u64(seed ^ id)
}

/// What a failure of a generated case says, so that it can be replayed.
pub fn replay(seed: u64) -> String {
    format!("generated from seed {seed}; replay with --seed {seed}")
}

/// Characters a name segment is made of: no separator, control, format or space character,
/// and precomposed (NFC) letters only, so that any correct server keeps them as they are.
const NAME_CHARS: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'k', 'm', 'q', 'x', 'z', 'A', 'Q', 'Z', '0', '1', '7', '9', '_', '-',
    'é', 'ß', 'ж', '日', '本',
];

/// A segment of `lo..=hi` characters.
fn segment(rng: &mut ChaCha8Rng, lo: usize, hi: usize) -> String {
    let len = rng.gen_range(lo..=hi);
    (0..len)
        .map(|_| NAME_CHARS[rng.gen_range(0..NAME_CHARS.len())])
        .collect()
}

fn separator(rng: &mut ChaCha8Rng) -> char {
    if rng.gen_bool(0.5) {
        '/'
    } else {
        '\\'
    }
}

/// One generated filename and the name the contract's reduction gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCase {
    /// Where its separators sit, for the failure message.
    pub shape: &'static str,
    pub sent: String,
    pub reduced: String,
}

/// The contract's reduction: the last segment after `/` or `\`; empty becomes `file`.
pub fn reduce(name: &str) -> String {
    match name.rsplit(['/', '\\']).next().unwrap_or_default() {
        "" => "file".to_owned(),
        last => last.to_owned(),
    }
}

/// Four names with separators near the start, in the middle, only past the first 64 bytes,
/// and at the very end (the reduction is `file`).
pub fn filenames(rng: &mut ChaCha8Rng) -> Vec<NameCase> {
    let last = |rng: &mut ChaCha8Rng| format!("{}.txt", segment(rng, 1, 24));
    let mut out = Vec::new();
    let mut push = |shape, sent: String| {
        let reduced = reduce(&sent);
        out.push(NameCase {
            shape,
            sent,
            reduced,
        });
    };
    // Near the start: one short leading segment.
    let sent = format!("{}{}{}", segment(rng, 1, 3), separator(rng), last(rng));
    push("a separator near the start", sent);
    // In the middle: several segments.
    let mut sent = String::new();
    for _ in 0..rng.gen_range(2..=4) {
        sent.push_str(&segment(rng, 3, 12));
        sent.push(separator(rng));
    }
    sent.push_str(&last(rng));
    push("separators in the middle", sent);
    // Only past the first 64 bytes: a long first segment.
    let sent = format!("{}{}{}", segment(rng, 70, 110), separator(rng), last(rng));
    push("a separator only past byte 64", sent);
    // At the very end: nothing after the last separator. A `/`: a backslash just before the
    // closing quote of `filename="…"` reads as an escaped quote to some multipart parsers
    // (browsers do not escape it), so no name may end with one.
    let sent = format!("{}{}/", segment(rng, 2, 40), separator(rng));
    push("a separator at the very end", sent);
    out
}

/// The characters an echoed X-Request-ID may hold.
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

/// Request ids around the contract's rule (1–128 of `[A-Za-z0-9._-]` is echoed, anything
/// else replaced): valid ones of exactly 128 and of 65–127 characters, and invalid ones of
/// 66–128 whose one bad character sits past the 64th (never last). `(id, echoed)`.
pub fn request_ids(rng: &mut ChaCha8Rng) -> Vec<(String, bool)> {
    let valid = |rng: &mut ChaCha8Rng, len: usize| -> String {
        (0..len)
            .map(|_| ID_CHARS[rng.gen_range(0..ID_CHARS.len())] as char)
            .collect()
    };
    let mut out = vec![(valid(rng, 128), true)];
    let len = rng.gen_range(65..=127);
    out.push((valid(rng, len), true));
    for bad in [' ', '/'] {
        // Never last: HTTP trims a header value's trailing space, so the server would see
        // (and rightly echo) a valid id.
        let len = rng.gen_range(66..=128);
        let mut id = valid(rng, len);
        let at = rng.gen_range(64..len - 1);
        id.replace_range(at..at + 1, &bad.to_string());
        out.push((id, false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_replays_the_same_cases_and_another_draws_others() {
        let a = filenames(&mut rng(42, "uploads::x"));
        assert_eq!(a, filenames(&mut rng(42, "uploads::x")));
        assert_ne!(a, filenames(&mut rng(43, "uploads::x")));
        assert_ne!(a, filenames(&mut rng(42, "uploads::y")));
    }

    #[test]
    fn seeds_are_value_stable() {
        // ChaCha8 from a seed gives the same values everywhere: a report's seed replays.
        let mut r = rng(1, "uploads::filenames_are_reduced_to_a_safe_last_segment");
        let drawn: Vec<u32> = (0..3).map(|_| r.gen()).collect();
        let mut again = rng(1, "uploads::filenames_are_reduced_to_a_safe_last_segment");
        assert_eq!(drawn, (0..3).map(|_| again.gen()).collect::<Vec<u32>>());
    }

    #[test]
    fn generated_names_have_their_separators_where_their_shape_says() {
        for seed in 1..200 {
            let cases = filenames(&mut rng(seed, "t"));
            assert_eq!(cases.len(), 4);
            for c in &cases {
                assert!(!c.reduced.contains(['/', '\\']), "{c:?}");
                assert!(c.sent.contains(['/', '\\']), "{c:?}");
            }
            let past_64 = &cases[2].sent;
            let first = past_64.find(['/', '\\']).unwrap();
            assert!(first >= 64, "{past_64:?}");
            assert_eq!(cases[3].reduced, "file");
            assert!(cases.iter().all(|c| !c.sent.ends_with('\\')), "{cases:?}");
            assert!(cases[0].sent.find(['/', '\\']).unwrap() < 16);
        }
    }

    #[test]
    fn generated_request_ids_sit_at_the_rules_edges() {
        for seed in 1..200 {
            let ids = request_ids(&mut rng(seed, "t"));
            let ok = |id: &str| {
                (1..=128).contains(&id.len()) && id.bytes().all(|b| ID_CHARS.contains(&b))
            };
            assert_eq!(ids[0].0.len(), 128);
            for (id, echoed) in &ids {
                assert_eq!(ok(id), *echoed, "{id:?}");
                assert!(id.len() > 64, "{id:?}");
                if !echoed {
                    assert!(id[..64].bytes().all(|b| ID_CHARS.contains(&b)), "{id:?}");
                }
                assert_eq!(id.trim(), id, "HTTP would trim {id:?}");
            }
        }
    }

    #[test]
    fn fresh_seeds_fit_a_toml_integer() {
        for _ in 0..100 {
            let s = fresh_seed();
            assert!((1..=MAX_SEED).contains(&s));
        }
    }
}
