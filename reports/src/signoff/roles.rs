//! Which roles must sign before a GO report is APPROVED.
//!
//! Defaults to the release plan's four roles; a TOML file can replace them:
//!
//! ```toml
//! [signoff]
//! required_roles = ["Tech Lead", "Security", "DevOps/SRE", "Product"]
//! ```

use std::path::Path;

use serde::Deserialize;

use super::SignoffError;

/// The release plan's approvers.
pub fn default_required_roles() -> Vec<String> {
    ["Tech Lead", "Security", "DevOps/SRE", "Product"]
        .map(String::from)
        .to_vec()
}

/// Role names compare without case, spaces or punctuation, so `--role devops-sre`
/// matches `DevOps/SRE` and `tech_lead` matches `Tech Lead`.
pub fn normalize_role(role: &str) -> String {
    role.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The configured spelling of `role`, if it is one of `required`.
pub fn resolve_role<'a>(role: &str, required: &'a [String]) -> Option<&'a str> {
    let wanted = normalize_role(role);
    required
        .iter()
        .find(|r| normalize_role(r) == wanted)
        .map(String::as_str)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    signoff: Option<SignoffSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignoffSection {
    required_roles: Vec<String>,
}

/// Reads `[signoff] required_roles` from a TOML file (defaults when the section
/// is absent). An empty list is refused: it would approve with no signature.
pub fn load_required_roles(path: &Path) -> Result<Vec<String>, SignoffError> {
    let text = std::fs::read_to_string(path).map_err(|e| SignoffError::Config {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse_required_roles(&text).map_err(|reason| SignoffError::Config {
        path: path.to_path_buf(),
        reason,
    })
}

fn parse_required_roles(text: &str) -> Result<Vec<String>, String> {
    let config: ConfigFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let Some(section) = config.signoff else {
        return Ok(default_required_roles());
    };
    check_roles(section.required_roles)
}

/// Refuses an empty list and blank names; keeps the given order.
pub fn check_roles(roles: Vec<String>) -> Result<Vec<String>, String> {
    let roles: Vec<String> = roles.into_iter().map(|r| r.trim().to_string()).collect();
    if roles.is_empty() {
        return Err("required_roles is empty: at least one role must sign".into());
    }
    if roles.iter().any(|r| normalize_role(r).is_empty()) {
        return Err("a required role has no letters or digits".into());
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_match_loosely() {
        let roles = default_required_roles();
        assert_eq!(resolve_role("devops-sre", &roles), Some("DevOps/SRE"));
        assert_eq!(resolve_role("tech_lead", &roles), Some("Tech Lead"));
        assert_eq!(resolve_role("legal", &roles), None);
    }

    #[test]
    fn a_config_file_replaces_the_default_roles() {
        let roles = parse_required_roles("[signoff]\nrequired_roles = [\"Security\", \"QA\"]\n");
        assert_eq!(roles.unwrap(), vec!["Security", "QA"]);
        assert_eq!(parse_required_roles("").unwrap(), default_required_roles());
    }

    #[test]
    fn an_empty_role_list_is_refused() {
        let err = parse_required_roles("[signoff]\nrequired_roles = []\n").unwrap_err();
        assert!(err.contains("empty"), "{err}");
    }
}
