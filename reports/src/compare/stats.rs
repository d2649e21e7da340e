//! Whether two runs' latencies really differ: a seeded bootstrap interval of
//! the ratio of a percentile (current over previous).
//!
//! Why a bootstrap of the ratio and not Mann–Whitney U: the team's rules speak
//! of a percentile ("search p95 may not grow by more than 50 %"), a tail. The
//! U test asks whether one run's searches are *generally* slower (it weighs
//! the middle of the distributions): a slowdown of one search in ten moves the
//! p95 a lot and U hardly at all, and a slower median under an unchanged p95
//! moves U alone. Resampling each run's own searches answers the rule's own
//! question, assumes no distribution, and gives an interval a reader can weigh
//! next to the growth. It is seeded (from the two run ids), so a report
//! replays: the same two reports always give the same interval.
//!
//! The interval is the percentile bootstrap's: [`RESAMPLES`] times, each run's
//! samples are drawn again with replacement, the percentile of each taken by
//! nearest rank, and their ratio kept; the 2.5th and 97.5th percentiles of the
//! ratios bound a 95 % interval. A difference is significant when that interval
//! leaves out 1. Below [`MIN_SAMPLES`] searches in either run nothing is tested.
//! (At 200 searches a p99 is the second-slowest search: its interval is wide,
//! as it should be.)

/// Fewest samples each run needs before a difference is tested.
pub const MIN_SAMPLES: usize = 200;

/// Bootstrap resamples per comparison.
pub const RESAMPLES: usize = 2_000;

/// Confidence of the interval.
pub const CONFIDENCE: f64 = 0.95;

/// A ratio `current / previous` of one percentile and its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioInterval {
    /// The ratio of the two samples' percentiles themselves.
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
}

impl RatioInterval {
    /// The interval leaves out 1: the percentile really moved.
    pub fn significant(&self) -> bool {
        self.low > 1.0 || self.high < 1.0
    }

    /// The interval lies above 1: the percentile really grew.
    pub fn grew(&self) -> bool {
        self.low > 1.0
    }
}

/// SplitMix64: a tiny generator whose stream is fixed by its seed forever (a
/// library generator may change its stream between versions; a report must
/// replay).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-50 for our `n`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The seed of a comparison: FNV-1a of the two run ids, so the same two
/// reports always draw the same resamples.
pub fn seed_of(previous_id: &str, current_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in previous_id.bytes().chain([b'|']).chain(current_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The nearest-rank percentile `p` (0..1] of ascending `sorted` (non-empty).
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Bootstrap intervals of `current / previous` for each percentile of
/// `percentiles` (each in 0..1], or `None` when either run has fewer than
/// [`MIN_SAMPLES`] samples or a percentile of `previous` is not above 0.
pub fn ratio_intervals(
    previous: &[f64],
    current: &[f64],
    percentiles: &[f64],
    seed: u64,
) -> Option<Vec<RatioInterval>> {
    if previous.len() < MIN_SAMPLES || current.len() < MIN_SAMPLES {
        return None;
    }
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (prev, cur) = (sorted(previous), sorted(current));
    if percentiles.iter().any(|p| nearest_rank(&prev, *p) <= 0.0) {
        return None;
    }
    let mut rng = SplitMix::new(seed);
    let mut ratios: Vec<Vec<f64>> = vec![Vec::with_capacity(RESAMPLES); percentiles.len()];
    let (mut counts, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RESAMPLES {
        resample(&prev, percentiles, &mut rng, &mut counts, &mut a);
        resample(&cur, percentiles, &mut rng, &mut counts, &mut b);
        for (i, (before, now)) in a.iter().zip(&b).enumerate() {
            // A resample whose percentile is 0 ms has no ratio; it counts as no change.
            ratios[i].push(if *before > 0.0 { now / before } else { 1.0 });
        }
    }
    let tail = (1.0 - CONFIDENCE) / 2.0;
    Some(
        percentiles
            .iter()
            .zip(ratios)
            .map(|(p, mut r)| {
                r.sort_by(f64::total_cmp);
                RatioInterval {
                    ratio: nearest_rank(&cur, *p) / nearest_rank(&prev, *p),
                    low: nearest_rank(&r, tail),
                    high: nearest_rank(&r, 1.0 - tail),
                }
            })
            .collect(),
    )
}

/// Draws `sorted.len()` samples of `sorted` with replacement and puts each
/// percentile of the draw into `out` (nearest rank). The draw is kept as how
/// many times each sample was drawn, so no resample is ever sorted.
fn resample(
    sorted: &[f64],
    percentiles: &[f64],
    rng: &mut SplitMix,
    counts: &mut Vec<u32>,
    out: &mut Vec<f64>,
) {
    let n = sorted.len();
    counts.clear();
    counts.resize(n, 0);
    for _ in 0..n {
        counts[rng.below(n)] += 1;
    }
    out.clear();
    out.extend(percentiles.iter().map(|p| {
        let rank = (p * n as f64).ceil().max(1.0) as u32;
        let mut seen = 0;
        let at = counts.iter().position(|c| {
            seen += c;
            seen >= rank
        });
        sorted[at.unwrap_or(n - 1)]
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    const P95: [f64; 1] = [0.95];

    /// `n` draws of a known distribution: log-normal latencies around `median`
    /// ms (Box–Muller), as searches are, with `spread` its log-sd.
    fn lognormal(n: usize, median: f64, spread: f64, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix::new(seed);
        (0..n)
            .map(|_| {
                let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                median * (spread * z).exp()
            })
            .collect()
    }

    /// `n` draws uniform in `[low, high)`.
    fn uniform(n: usize, low: f64, high: f64, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix::new(seed);
        (0..n).map(|_| low + (high - low) * rng.unit()).collect()
    }

    fn p95_interval(previous: &[f64], current: &[f64], seed: u64) -> RatioInterval {
        ratio_intervals(previous, current, &P95, seed).expect("enough samples")[0]
    }

    #[test]
    fn nearest_rank_is_the_ceiling_rank() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.95), 190.0);
        assert_eq!(nearest_rank(&v, 0.5), 100.0);
        assert_eq!(nearest_rank(&v, 0.99), 198.0);
        assert_eq!(nearest_rank(&v, 1.0), 200.0);
        assert_eq!(nearest_rank(&[7.0], 0.95), 7.0);
    }

    #[test]
    fn identical_samples_are_never_significant() {
        for seed in 0..12 {
            for sample in [
                lognormal(200, 5.0, 0.4, seed),
                lognormal(400, 30.0, 1.0, seed),
                uniform(250, 1.0, 50.0, seed),
                vec![4.0; 200],
            ] {
                let i = p95_interval(&sample, &sample, seed_of("a", &seed.to_string()));
                assert_eq!(i.ratio, 1.0);
                assert!(!i.significant(), "seed {seed}: {i:?}");
                assert!(i.low <= 1.0 && 1.0 <= i.high, "{i:?}");
            }
        }
    }

    #[test]
    fn two_draws_of_one_distribution_are_rarely_significant() {
        // Independent draws: at 95 % about one pair in twenty may differ by chance;
        // far more would mean the interval is too narrow.
        let significant = (0..40)
            .filter(|seed| {
                let a = lognormal(200, 5.0, 0.4, 2 * seed);
                let b = lognormal(200, 5.0, 0.4, 2 * seed + 1);
                p95_interval(&a, &b, *seed).significant()
            })
            .count();
        assert!(significant <= 6, "{significant} of 40 pairs significant");
    }

    #[test]
    fn a_clear_1_7_fold_shift_is_always_significant_at_200_samples() {
        for seed in 0..25 {
            let before = lognormal(200, 5.0, 0.4, 2 * seed);
            // Another draw of the same distribution, every search 1.7 times as slow.
            let after: Vec<f64> = lognormal(200, 5.0, 0.4, 2 * seed + 1)
                .into_iter()
                .map(|ms| ms * 1.7)
                .collect();
            let i = p95_interval(&before, &after, seed);
            assert!(i.grew(), "seed {seed}: {i:?}");
            assert!((1.2..2.4).contains(&i.ratio), "seed {seed}: {i:?}");
            let back = p95_interval(&after, &before, seed);
            assert!(back.significant() && !back.grew(), "seed {seed}: {back:?}");
        }
    }

    #[test]
    fn the_interval_holds_the_true_ratio_of_a_known_shift() {
        // Uniform [1, 11) against uniform [2, 22): the true p95 ratio is exactly 2.
        let mut covered = 0;
        for seed in 0..25 {
            let a = uniform(400, 1.0, 11.0, 2 * seed);
            let b = uniform(400, 2.0, 22.0, 2 * seed + 1);
            let i = p95_interval(&a, &b, seed);
            covered += usize::from(i.low <= 2.0 && 2.0 <= i.high);
        }
        assert!(covered >= 21, "the 95 % interval held 2 in {covered} of 25");
    }

    #[test]
    fn too_few_samples_are_not_tested_and_a_seed_replays() {
        let a = lognormal(199, 5.0, 0.4, 1);
        let b = lognormal(400, 5.0, 0.4, 2);
        assert_eq!(ratio_intervals(&a, &b, &P95, 7), None);
        assert_eq!(ratio_intervals(&b, &a, &P95, 7), None);
        let c = lognormal(200, 5.0, 0.4, 3);
        assert_eq!(p95_interval(&b, &c, 9), p95_interval(&b, &c, 9));
        assert_ne!(seed_of("a", "b"), seed_of("b", "a"));
    }
}
