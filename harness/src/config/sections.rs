//! The settings, typed: one struct per section of `gonogo.toml`, deserialised
//! once from the merged layers ([`super::Config::load_with`]). A field here is
//! a row of [`super::SETTINGS`]; the consumers read fields, never keys.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Every setting's effective value, by section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub run: RunSection,
    pub report: ReportSection,
    pub thresholds: ThresholdsSection,
    pub signoff: SignoffSection,
    #[serde(default)]
    pub waivers: WaiversSection,
    pub serve: ServeSection,
    #[serde(default)]
    pub attest: AttestSection,
    pub notify: NotifySection,
    #[serde(default)]
    pub ledger: LedgerSection,
    #[serde(default)]
    pub compare: CompareSection,
}

/// `[run]`: where a run goes and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    pub target: Option<String>,
    pub jwt_secret: Option<String>,
    pub database_url: Option<String>,
    pub cacert: Option<PathBuf>,
    pub label: Option<String>,
    pub target_commit: Option<String>,
    pub r1_baseline: Option<PathBuf>,
    pub latency_samples: u64,
    pub seed: Option<u64>,
    /// The environment recorded in the ledger with each run and canary.
    pub environment: Option<String>,
}

/// `[report]`: where reports are written and in which formats.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    pub dir: PathBuf,
    pub formats: Vec<String>,
}

/// `[thresholds]`: what the criteria are judged by.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsSection {
    pub p95_ms: f64,
    pub success_rate: f64,
    pub min_samples: u64,
}

/// `[signoff]`: who must sign.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignoffSection {
    pub required_roles: Vec<String>,
}

/// `[waivers]`: what a run may accept, each with its reason.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiversSection {
    pub api_only_isolation: Option<String>,
}

/// `[serve]`: `gonogo serve`'s own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    pub listen: String,
    pub token: Option<String>,
    #[serde(default)]
    pub allowed_targets: Vec<String>,
    pub trust_dir: Option<PathBuf>,
    #[serde(deserialize_with = "duration")]
    pub run_timeout: Duration,
    #[serde(deserialize_with = "duration")]
    pub rollout_step: Duration,
}

/// `[attest]`: what an attestation names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestSection {
    pub contract: Option<PathBuf>,
}

/// `[notify]`: where decisions and sign-offs are announced.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    pub webhook_url: Option<String>,
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
}

/// `[ledger]`: where the ledger of decisions is kept and the key that signs its heads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSection {
    pub path: Option<PathBuf>,
    pub database_url: Option<String>,
    pub key: Option<PathBuf>,
}

/// `[compare]`: the earlier report a run is compared with (its
/// `[[compare.criteria]]` are read apart, see [`super::file::FileLayer`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSection {
    pub to: Option<String>,
}

/// `"90s"`, `"15m"`: the layers checked the text already.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    super::file::duration(&text)
        .map(Duration::from_secs)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a duration")))
}
