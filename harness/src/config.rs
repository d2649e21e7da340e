//! The effective configuration: every setting of [`settings::SETTINGS`] (and
//! the canary plan) from four layers, **flag > env > file > default**.
//!
//! - The file is `--config FILE`, else `$GONOGO_CONFIG`, else `./gonogo.toml`
//!   when there is one ([`file`] reads it; a wrong key or type is one sentence
//!   with the file, line and key).
//! - Each setting's variable is `GONOGO_*`; the older `SMOKE_*` names still
//!   work, below the `GONOGO_*` one, and `gonogo config` says so.
//! - The layers are merged key by key, then deserialised once into the typed
//!   [`sections::Settings`] the commands read; beside them each value keeps
//!   where it came from, which [`Config::table`] prints for `gonogo config`
//!   (secrets masked).

pub mod args;
pub mod file;
pub mod sections;
pub mod settings;

use std::fmt;
use std::path::{Path, PathBuf};

use gonogo_reports::canary_plan::{CanaryPlan, PlanError};
use gonogo_reports::compare::RelativeCriterion;
use gonogo_reports::publication::Publication;
use gonogo_reports::render::{FormatList, RenderOptions};
use gonogo_reports::signoff::{self, ApprovalPolicy};

use crate::decision::Thresholds;
pub use sections::Settings;
pub use settings::{Kind, Setting, SETTINGS};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File {
        path: PathBuf,
        line: usize,
    },
    Env {
        name: &'static str,
        /// The `GONOGO_*` name this older variable stands for.
        legacy_of: Option<&'static str>,
    },
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line } => write!(f, "{} line {line}", path.display()),
            Source::Env {
                name,
                legacy_of: None,
            } => write!(f, "env {name}"),
            Source::Env {
                name,
                legacy_of: Some(new),
            } => write!(f, "env {name} (older name of {new})"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A configuration that cannot be used: one sentence naming the setting and its source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` or `GONOGO_CONFIG` names a file that is not there.
    #[error("the configuration file {} named by {how} does not exist", path.display())]
    Missing { path: PathBuf, how: String },
    #[error("the configuration file {} cannot be read ({source})", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not TOML, or sets something that is not a setting (boxed: the largest case).
    #[error(transparent)]
    File(Box<file::ParseError>),
    /// A flag that is not a setting's (the flags are made from the table, so only a caller passes one).
    #[error("`{key}` is not a setting: the settings are {}", SETTINGS.iter().map(|s| s.key).collect::<Vec<_>>().join(", "))]
    UnknownFlag { key: String },
    /// The merged layers do not fit [`sections::Settings`]: a row of the table without its field.
    #[error(
        "the settings do not fit their sections (a row of the settings table lacks its field): {0}"
    )]
    Sections(#[source] toml::de::Error),
    /// A flag's value is not of its setting's kind.
    #[error("{flag} must be {expected}")]
    Flag {
        flag: &'static str,
        expected: &'static str,
    },
    /// A variable's text is not of its setting's kind (a secret's text is not shown).
    #[error("{name}{} must be {}", shown_text(.text), .expected.replace("an array of strings", "a comma-separated list"))]
    Env {
        name: &'static str,
        text: Option<String>,
        expected: &'static str,
    },
    /// `--canary-plan` or `GONOGO_CANARY_PLAN` names a plan that cannot be used.
    #[error("{source} ({from})")]
    CanaryPlan { source: PlanError, from: Source },
    /// A threshold looser than the contract's.
    #[error("{setting} {why}: a configuration can tighten the gate, never widen it")]
    Looser { setting: Named, why: String },
    /// The required roles are empty or repeat a role.
    #[error("{setting}: {reason}")]
    Roles { setting: Named, reason: String },
    /// An `[environments.<name>]` table's required roles are empty or repeat a role.
    #[error("[environments.{environment}] required_roles: {reason}")]
    EnvironmentRoles { environment: String, reason: String },
    #[error("{setting}: {source}")]
    Formats {
        setting: Named,
        source: gonogo_reports::render::UnknownFormat,
    },
    #[error("{setting} is shorter than {MIN_JWT_SECRET_CHARS} characters: pass the target's real HS256 secret (the reference server requires 32 bytes)")]
    ShortSecret { setting: Named },
    #[error("{setting} is empty: give the reason API-only isolation is acceptable")]
    EmptyWaiver { setting: Named },
    #[error("{setting} is longer than {hours} h: give a duration such as 10m")]
    TooLong { setting: Named, hours: u64 },
    #[error("{setting} is not an address such as 127.0.0.1:9090 or 0.0.0.0:9090")]
    Listen { setting: Named },
}

impl From<file::ParseError> for ConfigError {
    fn from(e: file::ParseError) -> ConfigError {
        ConfigError::File(Box::new(e))
    }
}

/// `="text"` after a variable's name, or nothing for a secret.
fn shown_text(text: &Option<String>) -> String {
    text.as_ref().map(|t| format!("={t:?}")).unwrap_or_default()
}

/// A setting as an error names it: `key = value (source)`, the value left out for a secret.
#[derive(Debug, Clone)]
pub struct Named {
    pub key: &'static str,
    /// As `gonogo config` shows it; `None` for a secret or an unset setting.
    pub value: Option<String>,
    pub source: Option<Source>,
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = self
            .source
            .as_ref()
            .map(Source::to_string)
            .unwrap_or_default();
        match &self.value {
            Some(v) => write!(f, "{} = {v} ({source})", self.key),
            None => write!(f, "{} ({source})", self.key),
        }
    }
}

/// What the command line set: `(key, text)` per flag given, the text as typed
/// (a list's items joined by commas); read by the setting's kind as a variable is.
pub type Flags = Vec<(String, String)>;

/// One effective value.
#[derive(Debug, Clone)]
pub struct Entry {
    pub setting: &'static Setting,
    pub value: toml::Value,
    pub source: Source,
    /// Lower layers that also set it, overridden (defaults left out).
    pub overrides: Vec<Source>,
}

impl Entry {
    /// `flag --target (overrides env GONOGO_TARGET, ./gonogo.toml line 2)`.
    pub fn described_source(&self) -> String {
        if self.overrides.is_empty() {
            return self.source.to_string();
        }
        let lower: Vec<String> = self.overrides.iter().map(Source::to_string).collect();
        format!("{} (overrides {})", self.source, lower.join(", "))
    }
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every setting's value, typed by section: what the commands read.
    pub settings: Settings,
    /// Where each value came from: every setting that has a value (set, or
    /// defaulted), in [`SETTINGS`] order, as `gonogo config` shows it.
    entries: Vec<Entry>,
    canary: (CanaryPlan, Source),
    /// The file's `[environments.<name>]` tables: what each environment requires.
    environments: std::collections::BTreeMap<String, file::EnvironmentTable>,
    /// The team's relative criteria (`[[compare.criteria]]`, file only) and where they came from.
    criteria: (Vec<RelativeCriterion>, Source),
    /// The file read and how it was found.
    file: Option<(PathBuf, String)>,
}

/// The shortest `run.jwt_secret` accepted, in characters.
pub const MIN_JWT_SECRET_CHARS: usize = 16;

/// What [`Config::load_with`] reads besides the flags: the environment and the working directory.
pub struct Surroundings<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: &'a Path,
}

impl Config {
    /// The process's configuration: flags, its environment, and `gonogo.toml`
    /// in the working directory.
    pub fn load(
        config_flag: Option<&Path>,
        canary_flag: Option<&Path>,
        flags: &Flags,
    ) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Self::load_with(
            config_flag,
            canary_flag,
            flags,
            &Surroundings {
                env: &env,
                cwd: &cwd,
            },
        )
    }

    /// [`Config::load`] with the environment and working directory given (tests).
    pub fn load_with(
        config_flag: Option<&Path>,
        canary_flag: Option<&Path>,
        flags: &Flags,
        around: &Surroundings<'_>,
    ) -> Result<Config, ConfigError> {
        let env = |name: &str| (around.env)(name).filter(|v| !v.trim().is_empty());
        let file = locate(config_flag, &env, around.cwd)?;
        let layer = match &file {
            Some((path, _)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
                        path: path.clone(),
                        source,
                    })?;
                file::parse(&text, &path.display().to_string())?
            }
            None => file::FileLayer::default(),
        };
        if let Some((key, _)) = flags.iter().find(|(k, _)| settings::find(k).is_none()) {
            return Err(ConfigError::UnknownFlag { key: key.clone() });
        }
        let mut entries = Vec::new();
        for setting in SETTINGS {
            if let Some(entry) = resolve(setting, flags, &env, &layer, file.as_ref())? {
                entries.push(entry);
            }
        }
        let settings = typed(&entries)?;
        let canary = canary(canary_flag, &env, layer.canary, file.as_ref())?;
        let criteria = match (layer.criteria, file.as_ref()) {
            (Some((criteria, line)), Some((path, _))) => (
                criteria,
                Source::File {
                    path: path.clone(),
                    line,
                },
            ),
            _ => (Vec::new(), Source::Default),
        };
        let config = Config {
            settings,
            entries,
            canary,
            environments: layer.environments,
            criteria,
            file,
        };
        config.validate()?;
        Ok(config)
    }

    /// The effective entry of `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.setting.key == key)
    }

    /// Where reports are written: `report.dir`, which always has a value (its default).
    pub fn report_dir(&self) -> PathBuf {
        self.settings.report.dir.clone()
    }

    /// The thresholds the run is judged by.
    pub fn thresholds(&self) -> Thresholds {
        let t = &self.settings.thresholds;
        Thresholds {
            max_p95_ms: t.p95_ms,
            min_success_rate: t.success_rate,
            min_latency_samples: t.min_samples,
        }
    }

    /// The report formats (JSON is always written besides them) and whether
    /// to publish to GitHub Actions.
    pub fn formats(&self) -> FormatList {
        FormatList::parse(&self.settings.report.formats.join(",")).unwrap_or_default()
    }

    /// The roles that must sign.
    pub fn required_roles(&self) -> Vec<String> {
        self.settings.signoff.required_roles.clone()
    }

    /// Who must sign a GO report before it is APPROVED (no keys: signatures unverified).
    pub fn approval_policy(&self) -> ApprovalPolicy {
        ApprovalPolicy {
            required_roles: self.required_roles(),
            trust: None,
        }
    }

    /// What `environment` requires before a commit may go there: its own
    /// `[environments.<name>]` table, else the global required roles and no attestation.
    pub fn environment_policy(
        &self,
        environment: &str,
    ) -> gonogo_ledger::questions::EnvironmentPolicy {
        let table = self.environments.get(environment);
        gonogo_ledger::questions::EnvironmentPolicy {
            required_roles: table
                .and_then(|t| t.required_roles.clone())
                .unwrap_or_else(|| self.required_roles()),
            require_attestation: table.is_some_and(|t| t.require_attestation),
        }
    }

    /// The canary plan and where it came from.
    pub fn canary_plan(&self) -> &CanaryPlan {
        &self.canary.0
    }

    /// Where the canary plan came from.
    pub fn canary_source(&self) -> &Source {
        &self.canary.1
    }

    /// The earlier report `--compare-to` names, if any.
    pub fn compare_to(&self) -> Option<crate::compare::CompareTo> {
        let to = self.settings.compare.to.as_deref()?;
        Some(crate::compare::CompareTo::parse(to))
    }

    /// The team's relative criteria, judged on a comparison (none unless `gonogo.toml` sets them).
    pub fn compare_criteria(&self) -> &[RelativeCriterion] {
        &self.criteria.0
    }

    /// What the Markdown and HTML show: the approval policy and the canary schedule.
    pub fn render_options(&self) -> RenderOptions {
        RenderOptions {
            policy: self.approval_policy(),
            canary_plan: self.canary_plan().clone(),
            ..RenderOptions::default()
        }
    }

    /// Where and how a report is published: the directory, the formats and the documents' options.
    pub fn publication(&self) -> Publication {
        Publication {
            dir: self.report_dir(),
            formats: self.formats(),
            render: self.render_options(),
        }
    }

    /// Where decisions and sign-offs are announced, when a webhook is set.
    pub fn webhook(&self) -> Result<Option<crate::notify::Webhook>, crate::notify::NotifyError> {
        let notify = &self.settings.notify;
        notify
            .webhook_url
            .as_deref()
            .map(|url| crate::notify::Webhook::new(url, notify.timeout))
            .transpose()
    }

    /// What `gonogo run` does.
    pub fn run_options(&self) -> crate::run::Options {
        let run = &self.settings.run;
        crate::run::Options {
            target: run.target.clone(),
            jwt_secret: run.jwt_secret.clone(),
            label: run.label.clone(),
            target_commit: run.target_commit.clone(),
            r1_baseline: run.r1_baseline.clone(),
            latency_samples: Some(run.latency_samples as usize),
            seed: run.seed,
            database_url: run.database_url.clone(),
            accept_api_only_isolation: self.settings.waivers.api_only_isolation.clone(),
            thresholds: self.thresholds(),
            report_dir: Some(self.report_dir()),
            cacert: run.cacert.clone(),
        }
    }

    /// The file read and how it was found (`None`: no file).
    pub fn file(&self) -> Option<(&Path, &str)> {
        self.file
            .as_ref()
            .map(|(p, how)| (p.as_path(), how.as_str()))
    }

    /// Refuses what would make the gate lie: looser thresholds than the
    /// contract's, an empty role list, an unknown format, a waiver without a reason.
    fn validate(&self) -> Result<(), ConfigError> {
        let named = |key: &'static str| {
            let e = self.entry(key);
            Named {
                key,
                value: e.filter(|e| !e.setting.secret).map(|e| shown(&e.value)),
                source: e.map(|e| e.source.clone()),
            }
        };
        if let Some((key, why)) = self.thresholds().looser_than_contract() {
            return Err(ConfigError::Looser {
                setting: named(key),
                why,
            });
        }
        let s = &self.settings;
        signoff::check_roles(s.signoff.required_roles.clone()).map_err(|reason| {
            ConfigError::Roles {
                setting: named("signoff.required_roles"),
                reason,
            }
        })?;
        for (name, table) in &self.environments {
            if let Some(roles) = &table.required_roles {
                signoff::check_roles(roles.clone()).map_err(|reason| {
                    ConfigError::EnvironmentRoles {
                        environment: name.clone(),
                        reason,
                    }
                })?;
            }
        }
        FormatList::parse(&s.report.formats.join(",")).map_err(|source| ConfigError::Formats {
            setting: named("report.formats"),
            source,
        })?;
        // A short secret is guessable, and the reports mask it by its text: a
        // one-letter one would be masked out of every word. The reference
        // server requires 32 bytes; 16 characters is the floor gonogo accepts.
        if s.run
            .jwt_secret
            .as_ref()
            .is_some_and(|s| s.chars().count() < MIN_JWT_SECRET_CHARS)
        {
            return Err(ConfigError::ShortSecret {
                setting: named("run.jwt_secret"),
            });
        }
        if s.waivers
            .api_only_isolation
            .as_ref()
            .is_some_and(|r| r.trim().is_empty())
        {
            return Err(ConfigError::EmptyWaiver {
                setting: named("waivers.api_only_isolation"),
            });
        }
        for (key, value, most) in [
            ("serve.run_timeout", s.serve.run_timeout, 24 * 3600),
            ("serve.rollout_step", s.serve.rollout_step, 3600),
        ] {
            if value.as_secs() > most {
                return Err(ConfigError::TooLong {
                    setting: named(key),
                    hours: most / 3600,
                });
            }
        }
        s.serve
            .listen
            .parse::<std::net::SocketAddr>()
            .map_err(|_| ConfigError::Listen {
                setting: named("serve.listen"),
            })?;
        Ok(())
    }

    /// `gonogo config`'s table: key, value (secrets masked), source.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 3]> = vec![["key".into(), "value".into(), "source".into()]];
        for setting in SETTINGS {
            rows.push(match self.entry(setting.key) {
                Some(e) => {
                    let value = if e.setting.secret {
                        "******** (set)".to_owned()
                    } else {
                        shown(&e.value)
                    };
                    [setting.key.into(), value, e.described_source()]
                }
                None => [setting.key.into(), "(unset)".into(), "-".into()],
            });
        }
        let (plan, source) = &self.canary;
        rows.push([
            settings::CANARY_KEY.into(),
            format!("{:?}, {} phase(s)", plan.name, plan.phases.len()),
            source.to_string(),
        ]);
        for (name, table) in &self.environments {
            let roles = table
                .required_roles
                .as_ref()
                .map_or("the required roles".to_owned(), |r| r.join(", "));
            let attest = if table.require_attestation {
                ", attested"
            } else {
                ""
            };
            let source = self
                .file()
                .map_or("file".to_owned(), |(p, _)| p.display().to_string());
            rows.push([
                format!("{}.{name}", settings::ENVIRONMENTS_KEY),
                format!("signed by {roles}{attest}"),
                source,
            ]);
        }
        let (criteria, source) = &self.criteria;
        let words: Vec<String> = criteria.iter().map(RelativeCriterion::words).collect();
        rows.push([
            settings::CRITERIA_KEY.into(),
            match words.is_empty() {
                true => "(none)".into(),
                false => words.join("; "),
            },
            source.to_string(),
        ]);
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let (w0, w1) = (width(0), width(1));
        let mut out = match self.file() {
            Some((path, how)) => format!("configuration file: {} ({how})\n", path.display()),
            None => format!(
                "configuration file: none ({} not found, no {} or {})\n",
                settings::CONFIG_FILE,
                settings::CONFIG_FLAG,
                settings::CONFIG_ENV
            ),
        };
        out.push_str("precedence: flag > env > file > default\n\n");
        for [k, v, s] in rows {
            out.push_str(&format!("{k:<w0$}  {v:<w1$}  {s}\n"));
        }
        out
    }
}

/// A value as `gonogo config` and errors print it: a password inside a URL
/// (`http://user:pw@host`) is masked even in settings that are not secrets.
fn shown(v: &toml::Value) -> String {
    fn mask(v: &toml::Value) -> toml::Value {
        match v {
            toml::Value::String(s) => toml::Value::String(match url::Url::parse(s) {
                Ok(mut u) if u.password().is_some() => {
                    let _ = u.set_password(Some("********"));
                    u.to_string()
                }
                _ => s.clone(),
            }),
            toml::Value::Array(items) => toml::Value::Array(items.iter().map(mask).collect()),
            other => other.clone(),
        }
    }
    mask(v).to_string()
}

/// The file to read: `--config`, else `$GONOGO_CONFIG` (both must exist), else `./gonogo.toml` if present.
fn locate(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Option<(PathBuf, String)>, ConfigError> {
    let named = flag
        .map(|p| (p.to_path_buf(), format!("flag {}", settings::CONFIG_FLAG)))
        .or_else(|| {
            env(settings::CONFIG_ENV)
                .map(|p| (PathBuf::from(p), format!("env {}", settings::CONFIG_ENV)))
        });
    if let Some((path, how)) = named {
        let path = if path.is_relative() {
            cwd.join(&path)
        } else {
            path
        };
        if !path.is_file() {
            return Err(ConfigError::Missing { path, how });
        }
        return Ok(Some((path, how)));
    }
    let found = cwd.join(settings::CONFIG_FILE);
    Ok(found
        .is_file()
        .then(|| (found, "found in the working directory".to_owned())))
}

/// One setting's effective value: the first layer that sets it, with the
/// lower layers it overrides.
fn resolve(
    setting: &'static Setting,
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    layer: &file::FileLayer,
    file: Option<&(PathBuf, String)>,
) -> Result<Option<Entry>, ConfigError> {
    let mut found: Vec<(toml::Value, Source)> = Vec::new();
    if let Some((_, text)) = flags.iter().find(|(k, _)| k == setting.key) {
        let value = file::from_text(setting.kind, text).ok_or(ConfigError::Flag {
            flag: setting.flag,
            expected: setting.kind.expected(),
        })?;
        found.push((value, Source::Flag(setting.flag)));
    }
    for (i, name) in setting.env.iter().enumerate() {
        let Some(text) = env(name) else { continue };
        let value = file::from_text(setting.kind, &text).ok_or_else(|| ConfigError::Env {
            name,
            text: (!setting.secret).then(|| text.clone()),
            expected: setting.kind.expected(),
        })?;
        let legacy_of = (i > 0).then_some(setting.env[0]);
        found.push((value, Source::Env { name, legacy_of }));
    }
    if let Some((_, v, line)) = layer.values.iter().find(|(s, _, _)| s.key == setting.key) {
        let path = file.map(|(p, _)| p.clone()).unwrap_or_default();
        found.push((v.clone(), Source::File { path, line: *line }));
    }
    if let Some(text) = setting.default {
        let value = file::from_text(setting.kind, text).expect("defaults are valid");
        found.push((value, Source::Default));
    }
    let mut layers = found.into_iter();
    Ok(layers.next().map(|(value, source)| Entry {
        setting,
        value,
        source,
        overrides: layers
            .map(|(_, s)| s)
            .filter(|s| *s != Source::Default)
            .collect(),
    }))
}

/// The entries as the typed sections: each `section.name` put in its table, then deserialised once.
fn typed(entries: &[Entry]) -> Result<Settings, ConfigError> {
    let mut root = toml::Table::new();
    for e in entries {
        let (section, name) = e
            .setting
            .key
            .split_once('.')
            .expect("keys are section.name");
        root.entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a section is a table")
            .insert(name.to_owned(), e.value.clone());
    }
    toml::Value::Table(root)
        .try_into()
        .map_err(ConfigError::Sections)
}

/// The canary plan: `--canary-plan`, else `$GONOGO_CANARY_PLAN`, else `[canary]`, else the release plan's.
fn canary(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    in_file: Option<(CanaryPlan, usize)>,
    file: Option<&(PathBuf, String)>,
) -> Result<(CanaryPlan, Source), ConfigError> {
    let named = flag
        .map(|p| (p.to_path_buf(), Source::Flag(settings::CANARY_FLAG)))
        .or_else(|| {
            env(settings::CANARY_ENV).map(|p| {
                (
                    PathBuf::from(p),
                    Source::Env {
                        name: settings::CANARY_ENV,
                        legacy_of: None,
                    },
                )
            })
        });
    if let Some((path, source)) = named {
        let plan = CanaryPlan::load(&path).map_err(|e| ConfigError::CanaryPlan {
            source: e,
            from: source.clone(),
        })?;
        return Ok((plan, source));
    }
    Ok(match (in_file, file) {
        (Some((plan, line)), Some((path, _))) => (
            plan,
            Source::File {
                path: path.clone(),
                line,
            },
        ),
        _ => (CanaryPlan::default(), Source::Default),
    })
}

#[cfg(test)]
mod tests;
