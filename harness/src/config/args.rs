//! The settings' flags, made from [`super::SETTINGS`]: a command flattens
//! [`Layers`] with the [`Group`]s it takes, and each setting of those groups
//! becomes a flag whose help (default, variables, file key) comes from its
//! row. A new setting is a row in the table; no clap field is written for it.
//!
//! [`Layers`] also carries the configuration file (`--config`) and, for the
//! commands that render documents, the canary plan (`--canary-plan`): the
//! two layers that are not settings themselves.

use std::path::PathBuf;

use clap::builder::ValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::settings::{Group, Setting, CANARY_FLAG, CONFIG_FLAG, SETTINGS};
use super::{file, Config, ConfigError, Flags};

/// The groups of a command, as a bit set (a const parameter of [`Layers`]).
pub const fn bit(group: Group) -> u8 {
    1 << group as u8
}

/// `gonogo run`'s settings.
pub const RUN: u8 = bit(Group::Target)
    | bit(Group::Run)
    | bit(Group::Documents)
    | bit(Group::Notify)
    | bit(Group::Ledger);
/// `gonogo serve`'s settings.
pub const SERVE: u8 = bit(Group::Serve)
    | bit(Group::Target)
    | bit(Group::Documents)
    | bit(Group::Notify)
    | bit(Group::Ledger);
/// `gonogo config` takes every flag, so it shows what any command would use.
pub const ALL: u8 = u8::MAX;
/// `signoff`, `verify`, `github`: what the documents show.
pub const DOCUMENTS: u8 = bit(Group::Documents);
/// `signoff`: what the documents show, and where a sign-off is announced.
pub const SIGNOFF: u8 = bit(Group::Documents) | bit(Group::Notify);
/// `gonogo canary`'s.
pub const CANARY: u8 = bit(Group::Documents) | bit(Group::Canary);
/// `gonogo attest`'s.
pub const ATTEST: u8 = bit(Group::Attest);
/// The ledger's commands (`ledger`, `history`, `can-i-deploy`, `record-deployment`):
/// where it is, and the roles an environment requires by default.
pub const LEDGER: u8 = bit(Group::Ledger) | bit(Group::Documents);

/// The configuration layers a command is given on its command line.
#[derive(Debug, Clone, Default)]
pub struct Layers<const GROUPS: u8> {
    /// The configuration file (default: `$GONOGO_CONFIG`, else `./gonogo.toml` when present).
    pub config: Option<PathBuf>,
    /// A canary plan file, above `[canary]` (only commands that render documents take it).
    pub canary_plan: Option<PathBuf>,
    /// The settings' flags given, as `(key, text)`.
    pub flags: Flags,
}

impl<const GROUPS: u8> Layers<GROUPS> {
    /// The settings whose flag this command takes, in the table's order.
    pub fn settings() -> impl Iterator<Item = &'static Setting> {
        SETTINGS
            .iter()
            .filter(|s| s.groups.iter().any(|g| GROUPS & bit(*g) != 0))
    }

    fn takes_canary_plan() -> bool {
        GROUPS & bit(Group::Documents) != 0
    }

    /// The effective configuration: these flags over the environment, the file and the defaults.
    pub fn load(&self) -> Result<Config, ConfigError> {
        Config::load(
            self.config.as_deref(),
            self.canary_plan.as_deref(),
            &self.flags,
        )
    }

    /// The text given for `key`'s flag, if it was.
    pub fn flag(&self, key: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, text)| text.as_str())
    }

    /// Adds a flag's `text` (as a test or a caller would type it).
    pub fn with(mut self, key: &str, text: &str) -> Self {
        self.flags.push((key.to_owned(), text.to_owned()));
        self
    }
}

/// A flag's text that its setting's kind does not read: clap prints it after the flag.
#[derive(Debug)]
struct NotOfKind(super::Kind);

impl std::fmt::Display for NotOfKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "must be {}", self.0.expected())
    }
}

impl std::error::Error for NotOfKind {}

/// The flag of `setting`, its help and value check made from its row.
fn arg(setting: &'static Setting, heading: &'static str) -> Arg {
    let kind = setting.kind;
    let check = move |text: &str| -> Result<String, NotOfKind> {
        match file::from_text(kind, text) {
            Some(_) => Ok(text.to_owned()),
            None => Err(NotOfKind(kind)),
        }
    };
    let arg = Arg::new(setting.key)
        .long(setting.flag.trim_start_matches("--"))
        .value_name(kind.value_name())
        .help(setting.flag_help())
        .help_heading(heading)
        .value_parser(ValueParser::new(check));
    match kind {
        super::Kind::List => arg.action(ArgAction::Append).value_delimiter(','),
        _ => arg.action(ArgAction::Set),
    }
}

impl<const GROUPS: u8> clap::Args for Layers<GROUPS> {
    fn augment_args(cmd: Command) -> Command {
        let mut cmd = cmd.arg(
            Arg::new("config")
                .long(CONFIG_FLAG.trim_start_matches("--"))
                .value_name("FILE")
                .help("The configuration file (default: ./gonogo.toml when present) [env: GONOGO_CONFIG]")
                .value_parser(clap::value_parser!(PathBuf)),
        );
        for setting in Self::settings() {
            // Listed under the first of its groups this command takes.
            let heading = setting
                .groups
                .iter()
                .find(|g| GROUPS & bit(**g) != 0)
                .map_or("Options", |g| g.heading());
            cmd = cmd.arg(arg(setting, heading));
        }
        if Self::takes_canary_plan() {
            cmd = cmd.arg(
                Arg::new("canary_plan")
                    .long(CANARY_FLAG.trim_start_matches("--"))
                    .value_name("FILE")
                    .help("Canary plan (TOML) whose schedule a report shows before any canary ran [env: GONOGO_CANARY_PLAN] [file: the [canary] table]")
                    .help_heading(Group::Documents.heading())
                    .value_parser(clap::value_parser!(PathBuf)),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<const GROUPS: u8> clap::FromArgMatches for Layers<GROUPS> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let flags = Self::settings()
            .filter_map(|s| {
                let given: Vec<&str> = m.get_many::<String>(s.key)?.map(String::as_str).collect();
                Some((s.key.to_owned(), given.join(",")))
            })
            .collect();
        Ok(Layers {
            config: m.get_one::<PathBuf>("config").cloned(),
            canary_plan: if Self::takes_canary_plan() {
                m.get_one::<PathBuf>("canary_plan").cloned()
            } else {
                None
            },
            flags,
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, FromArgMatches};

    fn parse<const G: u8>(args: &[&str]) -> Result<Layers<G>, clap::Error> {
        let cmd = Layers::<G>::augment_args(Command::new("gonogo").no_binary_name(true));
        let m = cmd.try_get_matches_from(args)?;
        Layers::<G>::from_arg_matches(&m)
    }

    #[test]
    fn every_flag_s_help_is_made_from_its_row_of_the_table() {
        let help = Layers::<ALL>::augment_args(Command::new("gonogo"))
            .render_long_help()
            .to_string();
        for s in SETTINGS {
            let line = help
                .lines()
                .skip_while(|l| !l.contains(&format!("{} <", s.flag)))
                .take(3)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(line.contains(s.help), "{} lacks its help:\n{help}", s.flag);
            assert!(
                line.contains(&format!("[env: {}", s.env.join(", "))),
                "{} lacks its variables:\n{line}",
                s.flag
            );
            assert!(line.contains(&format!("[file: {}]", s.key)), "{line}");
            if let Some(d) = s.default {
                assert!(line.contains(&format!("[default: {d}]")), "{line}");
            }
        }
    }

    #[test]
    fn a_command_takes_only_its_groups_flags_and_gives_them_as_text() {
        let run =
            parse::<RUN>(&["--target", "http://x", "--seed", "7", "--format", "md,html"]).unwrap();
        assert_eq!(
            run.flags,
            [
                ("run.target".to_owned(), "http://x".to_owned()),
                ("run.seed".to_owned(), "7".to_owned()),
                ("report.formats".to_owned(), "md,html".to_owned()),
            ]
        );
        assert!(parse::<RUN>(&["--listen", "0.0.0.0:1"]).is_err());
        assert!(parse::<DOCUMENTS>(&["--target", "http://x"]).is_err());
        let e = parse::<RUN>(&["--seed", "many"]).unwrap_err().to_string();
        assert!(e.contains("must be a whole number"), "{e}");
        let roles =
            parse::<DOCUMENTS>(&["--required-roles", "A,B", "--required-roles", "C"]).unwrap();
        assert_eq!(roles.flags[0].1, "A,B,C");
    }
}
