//! Every setting gonogo reads, in one table: its key in `gonogo.toml`, its
//! flag, its `GONOGO_*` variable (and the older `SMOKE_*` one it still
//! honours), its type, its default and whether it is a secret. The file
//! parser, the environment, the flags, `gonogo config` and the README's
//! table all read this one list, so a setting cannot exist in one and not
//! the others.

/// How a value is written in a flag or variable, and what the file must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Str,
    /// A file or directory.
    Path,
    /// A whole number (at least 1).
    Count,
    /// A number.
    Number,
    /// A list: an array in the file, comma-separated in a flag or variable.
    List,
    /// A duration such as `90s`, `15m`, `2h`.
    Duration,
}

impl Kind {
    /// The flag's value as `--help` names it.
    pub fn value_name(self) -> &'static str {
        match self {
            Kind::Str => "TEXT",
            Kind::Path => "PATH",
            Kind::Count => "N",
            Kind::Number => "NUMBER",
            Kind::List => "LIST",
            Kind::Duration => "DURATION",
        }
    }

    /// What the file must hold for this kind, as a reader would say it.
    pub fn expected(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Path => "a path (string)",
            Kind::Count => "a whole number of at least 1",
            Kind::Number => "a number",
            Kind::List => "an array of strings",
            Kind::Duration => "a duration string such as \"90s\", \"15m\" or \"2h\"",
        }
    }
}

/// Which commands take a setting's flag, and the heading it is listed under in their help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Where a run goes, with what access, and where its report is kept: `run`, `serve`.
    Target,
    /// How one `gonogo run` is carried out and judged: `run` only.
    Run,
    /// `gonogo serve`'s own.
    Serve,
    /// What the Markdown and HTML show: `run`, `serve` and the release commands.
    Documents,
    /// `gonogo canary`'s.
    Canary,
    /// `gonogo attest`'s.
    Attest,
    /// Where decisions and sign-offs are announced: `run`, `serve`, `signoff`.
    Notify,
    /// Where the ledger of decisions is kept and the key that signs it: `run`,
    /// `serve` and the ledger's own commands (the others read the file and variables).
    Ledger,
}

impl Group {
    /// The heading of `--help` the group's flags are listed under.
    pub fn heading(self) -> &'static str {
        match self {
            Group::Target => "Target",
            Group::Run => "Run",
            Group::Serve => "Serve",
            Group::Documents => "Documents",
            Group::Canary => "Canary",
            Group::Attest => "Attest",
            Group::Notify => "Notify",
            Group::Ledger => "Ledger",
        }
    }
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// `section.name` in `gonogo.toml`.
    pub key: &'static str,
    /// The command-line flag, e.g. `--target`.
    pub flag: &'static str,
    /// `GONOGO_*` first; older names after it, still read, shown as legacy.
    pub env: &'static [&'static str],
    pub kind: Kind,
    /// Shown by `gonogo config` when nothing sets it (`None`: unset).
    pub default: Option<&'static str>,
    /// Masked by `gonogo config`, never printed or written.
    pub secret: bool,
    /// One line for `--help`, `gonogo config --help` and the README.
    pub help: &'static str,
    /// The commands whose flag it is (the first names its help heading); `gonogo config` takes every flag.
    pub groups: &'static [Group],
}

impl Setting {
    /// What `--help` says of the flag: the table's line, then its default,
    /// variables and file key, so none of them is written twice.
    pub fn flag_help(&self) -> String {
        let mut out = self.help.to_owned();
        if self.secret {
            out.push_str(". Never printed");
        }
        if let Some(d) = self.default {
            out.push_str(&format!(" [default: {d}]"));
        }
        let list = if self.kind == Kind::List {
            ", comma-separated"
        } else {
            ""
        };
        out.push_str(&format!(" [env: {}{list}]", self.env.join(", ")));
        out.push_str(&format!(" [file: {}]", self.key));
        out
    }

    /// The README's row for this setting.
    fn readme_row(&self) -> String {
        let mut env = format!("`{}`", self.env[0]);
        if self.env.len() > 1 {
            let older: Vec<String> = self.env[1..].iter().map(|e| format!("`{e}`")).collect();
            env.push_str(&format!(" (also {})", older.join(", ")));
        }
        let default = match (self.secret, self.default) {
            (true, _) => "secret".to_owned(),
            (false, Some(d)) => format!("`{d}`"),
            (false, None) => "—".to_owned(),
        };
        format!(
            "| `{}` | `{}` | {env} | {default} | {} |",
            self.key, self.flag, self.help
        )
    }
}

#[allow(clippy::too_many_arguments)]
const fn s(
    groups: &'static [Group],
    key: &'static str,
    flag: &'static str,
    env: &'static [&'static str],
    kind: Kind,
    default: Option<&'static str>,
    help: &'static str,
) -> Setting {
    Setting {
        key,
        flag,
        env,
        kind,
        default,
        secret: false,
        help,
        groups,
    }
}

const fn secret(mut setting: Setting) -> Setting {
    setting.secret = true;
    setting
}

const TARGET: &[Group] = &[Group::Target];
const TARGET_CANARY: &[Group] = &[Group::Target, Group::Canary];
const RUN: &[Group] = &[Group::Run];
const RUN_ATTEST: &[Group] = &[Group::Run, Group::Attest];
const SERVE: &[Group] = &[Group::Serve];
const DOCUMENTS: &[Group] = &[Group::Documents];
const ATTEST: &[Group] = &[Group::Attest];
const NOTIFY: &[Group] = &[Group::Notify];
const LEDGER: &[Group] = &[Group::Ledger];
const RUN_CANARY: &[Group] = &[Group::Run, Group::Canary];

/// The `[canary]` table: a whole canary plan in the file, or a plan file
/// named by `--canary-plan` / `GONOGO_CANARY_PLAN`.
pub const CANARY_KEY: &str = "canary";

/// The `[[compare.criteria]]` array of `gonogo.toml`: the team's relative
/// criteria (a file-only setting: each is a table, `metric` and `max_growth`).
pub const CRITERIA_KEY: &str = "compare.criteria";

pub const CANARY_FLAG: &str = "--canary-plan";
pub const CANARY_ENV: &str = "GONOGO_CANARY_PLAN";

/// The `[environments.<name>]` tables: what each environment requires before
/// `gonogo can-i-deploy` says yes (`required_roles`, `require_attestation`).
pub const ENVIRONMENTS_KEY: &str = "environments";

/// The configuration file itself: `--config`, else `GONOGO_CONFIG`, else `./gonogo.toml`.
pub const CONFIG_FLAG: &str = "--config";
pub const CONFIG_ENV: &str = "GONOGO_CONFIG";
pub const CONFIG_FILE: &str = "gonogo.toml";

/// Every setting but the canary plan, in the order `gonogo config` prints them.
pub const SETTINGS: &[Setting] = &[
    s(
        TARGET,
        "run.target",
        "--target",
        &["GONOGO_TARGET", "SMOKE_TARGET_URL"],
        Kind::Str,
        None,
        "Base URL of a deployed server; without it the run is hermetic",
    ),
    secret(s(
        TARGET_CANARY,
        "run.jwt_secret",
        "--jwt-secret",
        &["GONOGO_JWT_SECRET", "SMOKE_JWT_SECRET"],
        Kind::Str,
        None,
        "The target's HS256 secret (16+ characters); without it tokens come from the anonymous endpoint",
    )),
    secret(s(
        TARGET,
        "run.database_url",
        "--database-url",
        &["GONOGO_DATABASE_URL", "SMOKE_DATABASE_URL"],
        Kind::Str,
        None,
        "The target's PostgreSQL URL as its application role: the RLS gate runs, read-only",
    )),
    s(
        TARGET,
        "run.cacert",
        "--cacert",
        &["GONOGO_CACERT"],
        Kind::Path,
        None,
        "A PEM file of the CA that signed the target's certificate, trusted besides the system's",
    ),
    s(
        RUN,
        "run.label",
        "--label",
        &["GONOGO_LABEL"],
        Kind::Str,
        None,
        "Free-form label of the deployment, shown in the report",
    ),
    s(
        RUN,
        "run.target_commit",
        "--target-commit",
        &["GONOGO_TARGET_COMMIT"],
        Kind::Str,
        None,
        "The commit (or version) of the target's build, shown in the report; without it a remote run reads the target's version header or /health",
    ),
    s(
        RUN_ATTEST,
        "run.r1_baseline",
        "--r1-baseline",
        &["GONOGO_R1_BASELINE", "SMOKE_R1_BASELINE"],
        Kind::Path,
        None,
        "The R1 OpenAPI baseline Gate 1 compares against (default: the built-in one)",
    ),
    s(
        RUN,
        "run.latency_samples",
        "--latency-samples",
        &["GONOGO_LATENCY_SAMPLES", "SMOKE_LATENCY_SAMPLES"],
        Kind::Count,
        Some("200"),
        "Searches the latency phase sends",
    ),
    s(
        RUN,
        "run.seed",
        "--seed",
        &["GONOGO_SEED"],
        Kind::Count,
        None,
        "The seed of the generated inputs; a report's case notes name theirs, and the same seed replays the same cases (default: a fresh one each run)",
    ),
    s(
        RUN_CANARY,
        "run.environment",
        "--environment",
        &["GONOGO_ENVIRONMENT"],
        Kind::Str,
        None,
        "The environment a run or canary decides for (e.g. staging, production), recorded in the ledger; `can-i-deploy --to` asks about it",
    ),
    s(
        TARGET,
        "report.dir",
        "--report-dir",
        &["GONOGO_REPORT_DIR"],
        Kind::Path,
        Some("reports/out"),
        "Where reports are written",
    ),
    s(
        RUN,
        "report.formats",
        "--format",
        &["GONOGO_FORMATS"],
        Kind::List,
        Some("json"),
        "Report formats besides JSON: md, junit, html (and github in GitHub Actions)",
    ),
    s(
        RUN,
        "thresholds.p95_ms",
        "--max-p95-ms",
        &["GONOGO_MAX_P95_MS"],
        Kind::Number,
        Some("400"),
        "Search p95 in ms (upper bound of its 95 % CI); at most the contract's 400",
    ),
    s(
        RUN,
        "thresholds.success_rate",
        "--min-success-rate",
        &["GONOGO_MIN_SUCCESS_RATE"],
        Kind::Number,
        Some("0.99"),
        "Share of responses matching their expectation; at least the contract's 0.99",
    ),
    s(
        RUN,
        "thresholds.min_samples",
        "--min-latency-samples",
        &["GONOGO_MIN_LATENCY_SAMPLES"],
        Kind::Count,
        Some("72"),
        "Fewest latency searches the p95 is judged on (fewer: inconclusive); at least 72",
    ),
    s(
        RUN,
        "compare.to",
        "--compare-to",
        &["GONOGO_COMPARE_TO"],
        Kind::Str,
        None,
        "An earlier report to compare the run with: a go-no-go.json, or last-go (the newest GO of the same target kind and contract in the report dir's history/); the team's [[compare.criteria]] are judged on it",
    ),
    s(
        DOCUMENTS,
        "signoff.required_roles",
        "--required-roles",
        &["GONOGO_REQUIRED_ROLES"],
        Kind::List,
        Some("Tech Lead,Security,DevOps/SRE,Product"),
        "Roles that must sign a GO report before it is APPROVED",
    ),
    s(
        TARGET,
        "waivers.api_only_isolation",
        "--accept-api-only-isolation",
        &[
            "GONOGO_ACCEPT_API_ONLY_ISOLATION",
            "SMOKE_ACCEPT_API_ONLY_ISOLATION",
        ],
        Kind::Str,
        None,
        "Remote run without a database URL: accept API-only isolation, for this reason",
    ),
    s(
        SERVE,
        "serve.listen",
        "--listen",
        &["GONOGO_SERVE_LISTEN"],
        Kind::Str,
        Some("127.0.0.1:9090"),
        "Address `gonogo serve` listens on",
    ),
    secret(s(
        SERVE,
        "serve.token",
        "--token",
        &["GONOGO_SERVE_TOKEN"],
        Kind::Str,
        None,
        "Bearer token every `gonogo serve` route but /health requires",
    )),
    s(
        SERVE,
        "serve.allowed_targets",
        "--allow-target",
        &["GONOGO_SERVE_ALLOWED_TARGETS"],
        Kind::List,
        None,
        "Origins `gonogo serve` may send traffic to, e.g. http://app-canary.prod:8080",
    ),
    s(
        SERVE,
        "serve.trust_dir",
        "--trust",
        &["GONOGO_TRUST_DIR"],
        Kind::Path,
        None,
        "Trusted public keys (*.pub.pem) sign-offs are verified against",
    ),
    s(
        SERVE,
        "serve.run_timeout",
        "--run-timeout",
        &["GONOGO_SERVE_RUN_TIMEOUT"],
        Kind::Duration,
        Some("10m"),
        "Longest a run `gonogo serve` starts may take before it is abandoned",
    ),
    s(
        SERVE,
        "serve.rollout_step",
        "--rollout-step",
        &["GONOGO_SERVE_ROLLOUT_STEP"],
        Kind::Duration,
        Some("20s"),
        "Probe traffic one Flagger `rollout` call judges",
    ),
    s(
        ATTEST,
        "attest.contract",
        "--contract",
        &["GONOGO_CONTRACT"],
        Kind::Path,
        None,
        "The contract the run was judged by, named in an attestation (default: the one `gonogo contract` prints)",
    ),
    secret(s(
        NOTIFY,
        "notify.webhook_url",
        "--notify-url",
        &["GONOGO_NOTIFY_URL"],
        Kind::Str,
        None,
        "A webhook posted JSON (with a Slack-compatible `text`) after each decision and sign-off; never given secrets or evidence bodies",
    )),
    s(
        NOTIFY,
        "notify.timeout",
        "--notify-timeout",
        &["GONOGO_NOTIFY_TIMEOUT"],
        Kind::Duration,
        Some("5s"),
        "How long each of the webhook's three attempts may take",
    ),
    s(
        LEDGER,
        "ledger.path",
        "--ledger",
        &["GONOGO_LEDGER"],
        Kind::Path,
        None,
        "The SQLite ledger of decisions (default: ledger.sqlite in the report directory; for a command given a report, the nearest one at or above it)",
    ),
    secret(s(
        LEDGER,
        "ledger.database_url",
        "--ledger-database-url",
        &["GONOGO_LEDGER_DATABASE_URL"],
        Kind::Str,
        None,
        "A PostgreSQL URL to keep the ledger in instead, shared by several `gonogo serve` replicas (needs ledger.key)",
    )),
    s(
        LEDGER,
        "ledger.key",
        "--ledger-key",
        &["GONOGO_LEDGER_KEY"],
        Kind::Path,
        None,
        "The gate's Ed25519 PKCS#8 key (`gonogo keygen`) that signs the ledger's head at each append (default: ledger.key.pem beside an SQLite ledger, made once)",
    ),
];

/// The setting named `key`.
pub fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// The README's settings table: one row per setting, then the canary plan's.
pub fn readme_table() -> String {
    let mut out =
        String::from("| key | flag | variable | default | what |\n|---|---|---|---|---|\n");
    for s in SETTINGS {
        out.push_str(&s.readme_row());
        out.push('\n');
    }
    out.push_str(&format!(
        "| `[{CANARY_KEY}]` | `{CANARY_FLAG} FILE` | `{CANARY_ENV}` | the release plan | The canary plan: a table in the file, or a plan file |\n"
    ));
    out.push_str(&format!(
        "| `[[{CRITERIA_KEY}]]` | — | — | none | The team's relative criteria (file only): `metric` (`search_p50`, `search_p90`, `search_p95`, `search_p99`) may not grow by more than `max_growth` (0.5 = 50 %) over the run compared with, when the growth is significant |\n"
    ));
    out
}

/// The sections `gonogo.toml` may have.
pub fn sections() -> Vec<&'static str> {
    let mut v: Vec<&str> = SETTINGS
        .iter()
        .map(|s| s.key.split_once('.').map_or(s.key, |(section, _)| section))
        .collect();
    v.push(CANARY_KEY);
    v.push(ENVIRONMENTS_KEY);
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_one_key_one_flag_and_a_gonogo_variable_first() {
        let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        let mut flags: Vec<&str> = SETTINGS.iter().map(|s| s.flag).collect();
        let mut envs: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|s| s.env.iter().copied())
            .collect();
        for v in [&mut keys, &mut flags, &mut envs] {
            let n = v.len();
            v.sort();
            v.dedup();
            assert_eq!(v.len(), n, "a duplicate in {v:?}");
        }
        for s in SETTINGS {
            assert!(s.key.contains('.'), "{} is not section.name", s.key);
            assert!(s.flag.starts_with("--"), "{}", s.flag);
            assert!(s.env[0].starts_with("GONOGO_"), "{}", s.key);
            assert!(
                s.env[1..].iter().all(|e| e.starts_with("SMOKE_")),
                "{}",
                s.key
            );
            assert!(!(s.secret && s.default.is_some()), "a default secret");
        }
    }
}
