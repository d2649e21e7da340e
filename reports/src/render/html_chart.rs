//! The latency chart of the HTML report: percentile curves as inline SVG.
//!
//! x is the percentile on a "nines" scale (50, 90, 99, 99.9 spread evenly, as
//! HdrHistogram plots do) so the tail is visible; y is milliseconds, linear.

use maud::{html, Markup};

use crate::model::LatencyStats;

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 40.0;
/// The rightmost tick: 99.9th percentile.
const MAX_NINES: f64 = 3.0;

/// Position of a percentile on the nines scale, 0 (p0) .. MAX_NINES (p99.9+).
fn nines(percentile: f64) -> f64 {
    let rest = (100.0 - percentile.clamp(0.0, 100.0)) / 100.0;
    if rest <= 0.0 {
        MAX_NINES
    } else {
        (-rest.log10()).min(MAX_NINES)
    }
}

fn x(percentile: f64) -> f64 {
    LEFT + nines(percentile) / MAX_NINES * (W - LEFT - RIGHT)
}

fn y(ms: f64, max_ms: f64) -> f64 {
    TOP + (1.0 - ms / max_ms) * (H - TOP - BOTTOM)
}

/// A round axis maximum at or above `v`.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Series drawn, with their CSS class and label.
pub(crate) struct Series<'a> {
    pub label: &'a str,
    pub class: &'a str,
    pub stats: &'a LatencyStats,
}

/// The chart, or a sentence saying there were no samples.
pub(crate) fn chart(series: &[Series<'_>], threshold_ms: Option<f64>) -> Markup {
    let max_seen = series
        .iter()
        .flat_map(|s| s.stats.curve.iter().map(|p| p.ms))
        .chain(threshold_ms)
        .fold(0.0_f64, f64::max);
    if series.iter().all(|s| s.stats.curve.is_empty()) {
        return html! { p.empty { "No latency samples: nothing to chart." } };
    }
    let max_ms = nice_max(max_seen);
    let y_ticks: Vec<f64> = (0..=4).map(|i| max_ms * f64::from(i) / 4.0).collect();
    let x_ticks = [
        (0.0, "p0"),
        (50.0, "p50"),
        (90.0, "p90"),
        (99.0, "p99"),
        (99.9, "p99.9"),
    ];
    html! {
        svg.chart viewBox=(format!("0 0 {W} {H}")) role="img"
            aria-label="Latency by percentile" {
            title { "Latency by percentile" }
            @for t in &y_ticks {
                line.grid x1=(LEFT) x2=(W - RIGHT) y1=(y(*t, max_ms)) y2=(y(*t, max_ms)) {}
                text.tick x=(LEFT - 6.0) y=(y(*t, max_ms) + 4.0) text-anchor="end" { (format!("{t:.0}")) }
            }
            @for (p, label) in x_ticks {
                line.grid x1=(x(p)) x2=(x(p)) y1=(TOP) y2=(H - BOTTOM) {}
                text.tick x=(x(p)) y=(H - BOTTOM + 16.0) text-anchor="middle" { (label) }
            }
            text.axis x=(LEFT - 6.0) y=(12) text-anchor="end" { "ms" }
            @if let Some(t) = threshold_ms {
                line.threshold x1=(LEFT) x2=(W - RIGHT) y1=(y(t, max_ms)) y2=(y(t, max_ms)) {}
                text.threshold-label x=(W - RIGHT) y=(y(t, max_ms) - 4.0) text-anchor="end" {
                    (format!("search p95 threshold {t:.0} ms"))
                }
            }
            @for s in series {
                @if !s.stats.curve.is_empty() {
                    polyline class=(format!("series {}", s.class)) points=(points(s.stats, max_ms)) {}
                }
            }
            @for (i, s) in series.iter().enumerate() {
                rect class=(format!("swatch {}", s.class)) x=(LEFT + 8.0 + 150.0 * i as f64) y=(H - 14.0) width="10" height="10" {}
                text.legend x=(LEFT + 22.0 + 150.0 * i as f64) y=(H - 5.0) {
                    (format!("{} (n={})", s.label, s.stats.count))
                }
            }
        }
    }
}

fn points(stats: &LatencyStats, max_ms: f64) -> String {
    stats
        .curve
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.percentile), y(p.ms, max_ms)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nines_scale_spreads_the_tail() {
        assert_eq!(nines(0.0), 0.0);
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.0) - 2.0).abs() < 1e-9);
        assert_eq!(nines(100.0), MAX_NINES);
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(33.0), 50.0);
        assert_eq!(nice_max(912.0), 1000.0);
        assert_eq!(nice_max(0.0), 1.0);
    }
}
