//! Separation of duties: `trust.toml` in the trust directory binds each key to
//! a person and the roles that person may sign, and lists revoked keys.
//!
//! ```toml
//! [[person]]
//! name = "Alice Martin"
//! keys = ["alice.pub.pem"]          # file names in this directory, or key ids
//! roles = ["Tech Lead"]
//!
//! [[revoked]]
//! key = "mallory.pub.pem"           # a file name here, or a key id
//! reason = "laptop lost on 2026-11-02"
//! ```
//!
//! The rules, applied to signatures that are genuine: a revoked key does not
//! count; a key no person holds does not count; a key counts only for the roles
//! its person holds; and one person satisfies one role only (the first they
//! signed, by time, then by order in the report).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::normalize_role;

/// The file in a trust directory that holds the policy.
pub const POLICY_FILE: &str = "trust.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    person: Vec<PersonEntry>,
    #[serde(default)]
    revoked: Vec<RevokedEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonEntry {
    name: String,
    keys: Vec<String>,
    roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokedEntry {
    key: String,
    reason: Option<String>,
}

/// A person who may sign, and for which roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    /// As written in `trust.toml`, for messages.
    pub roles: Vec<String>,
}

impl Person {
    /// Whether this person may sign `role` (names compared loosely).
    pub fn holds(&self, role: &str) -> bool {
        self.roles
            .iter()
            .any(|r| normalize_role(r) == normalize_role(role))
    }
}

/// The parsed policy, keyed by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    people: Vec<Person>,
    /// Key id → index into `people`.
    holders: BTreeMap<String, usize>,
    /// Key id → the reason given (empty when none).
    revoked: BTreeMap<String, String>,
}

impl TrustPolicy {
    /// Parses `text`; `ids` maps each key file name in the directory to its key
    /// id. A person's key that is not here binds nothing (its signatures stay
    /// unknown); a revoked key that is neither a file here nor a key id is an
    /// error, since a misspelt revocation would leave the key counting.
    pub fn parse(text: &str, ids: &BTreeMap<String, String>) -> Result<TrustPolicy, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let resolve = |key: &str| -> Option<String> {
            ids.get(key).cloned().or_else(|| {
                let hex = key.len() == 16 && key.chars().all(|c| c.is_ascii_hexdigit());
                hex.then(|| key.to_ascii_lowercase())
            })
        };
        let mut policy = TrustPolicy::default();
        for (index, entry) in file.person.into_iter().enumerate() {
            let name = entry.name.trim().to_string();
            if name.is_empty() {
                return Err("a [[person]] has an empty name".into());
            }
            if entry.roles.iter().all(|r| normalize_role(r).is_empty()) {
                return Err(format!("{name} has no roles: list the roles they may sign"));
            }
            for key in &entry.keys {
                let Some(id) = resolve(key) else { continue };
                if let Some(&other) = policy.holders.get(&id) {
                    return Err(format!(
                        "key {key} is bound to both {} and {name}: a key belongs to one person",
                        policy.people[other].name
                    ));
                }
                policy.holders.insert(id, index);
            }
            policy.people.push(Person {
                name,
                roles: entry.roles,
            });
        }
        for entry in file.revoked {
            let id = resolve(&entry.key).ok_or_else(|| {
                format!(
                    "[[revoked]] key `{}` is neither a key file in this directory nor a 16-digit key id",
                    entry.key
                )
            })?;
            policy.revoked.insert(id, entry.reason.unwrap_or_default());
        }
        Ok(policy)
    }

    /// The person holding this key.
    pub fn person(&self, key_id: &str) -> Option<&Person> {
        self.holders.get(key_id).map(|&i| &self.people[i])
    }

    /// `Some(reason)` (possibly empty) when this key is revoked.
    pub fn revoked(&self, key_id: &str) -> Option<&str> {
        self.revoked.get(key_id).map(String::as_str)
    }
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> BTreeMap<String, String> {
        [
            ("alice.pub.pem", "00000000000000aa"),
            ("bob.pub.pem", "00000000000000bb"),
        ]
        .map(|(f, i)| (f.to_string(), i.to_string()))
        .into()
    }

    #[test]
    fn a_key_bound_to_two_people_is_refused() {
        let err = TrustPolicy::parse(
            "[[person]]\nname = \"A\"\nkeys = [\"alice.pub.pem\"]\nroles = [\"Security\"]\n\
             [[person]]\nname = \"B\"\nkeys = [\"00000000000000aa\"]\nroles = [\"Product\"]\n",
            &ids(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "key 00000000000000aa is bound to both A and B: a key belongs to one person"
        );
    }

    #[test]
    fn a_misspelt_revocation_is_refused() {
        let err = TrustPolicy::parse("[[revoked]]\nkey = \"alcie.pub.pem\"\n", &ids()).unwrap_err();
        assert!(
            err.starts_with("[[revoked]] key `alcie.pub.pem` is neither"),
            "{err}"
        );
    }

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
    }
}
