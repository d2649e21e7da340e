//! Tenants and their tokens: minted from the shared HS256 secret, or fetched
//! from the anonymous-token endpoint when the secret is unknown (remote mode).
//! Also the deliberately bad tokens Gate 2 presents.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use uuid::Uuid;

use crate::check::transport::{ApiRequest, Transport};

/// One user of the API under test.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Label used in evidence (`suite_b/user_a`).
    pub label: String,
    pub sub: Uuid,
    pub token: String,
}

/// How the run gets tokens.
#[derive(Clone)]
pub enum TokenSource {
    /// The target's JWT secret is known: mint any token, good or bad.
    Secret(String),
    /// Ask `POST /api/v1/stream/auth/anon` for each tenant.
    Anonymous,
}

impl std::fmt::Debug for TokenSource {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("TokenSource::Secret([redacted])"),
            Self::Anonymous => f.write_str("TokenSource::Anonymous"),
        }
    }
}

/// Which way a forged token is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadToken {
    AlgNone,
    Expired,
    /// Expired 60 s ago: past the contract's 30 s leeway, with a margin for clocks.
    ExpiredAMinuteAgo,
    BadSignature,
    WrongAudience,
    /// Signed with the right secret but HS512: only HS256 is accepted.
    OtherAlgorithm,
    /// `role: "service_role"`: only `authenticated` may call the API.
    ServiceRole,
    /// `sub` that is not a UUID.
    NonUuidSubject,
    /// `iat` ten minutes ahead (beyond the 30 s leeway).
    IssuedInFuture,
    /// `nbf` ten minutes ahead.
    NotYetValid,
    Garbage,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Standard claims for `sub`, valid for an hour.
pub fn claims(sub: Uuid) -> serde_json::Value {
    json!({"sub": sub.to_string(), "aud": "authenticated", "role": "authenticated",
           "iat": now(), "exp": now() + 3600})
}

/// HS256-signs `claims` with `secret`.
pub fn sign(claims: &serde_json::Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 encoding of a JSON object cannot fail")
}

/// A token that a correct server must refuse. `secret` is needed for the kinds
/// that are only meaningful when correctly signed (expired, wrong audience).
pub fn bad_token(kind: BadToken, secret: Option<&str>) -> Option<String> {
    let sub = Uuid::new_v4();
    Some(match kind {
        BadToken::AlgNone => {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(claims(sub).to_string());
            format!("{header}.{body}.")
        }
        BadToken::Expired => {
            let mut c = claims(sub);
            c["iat"] = json!(now() - 7200);
            c["exp"] = json!(now() - 3600);
            sign(&c, secret?)
        }
        BadToken::ExpiredAMinuteAgo => {
            let mut c = claims(sub);
            c["iat"] = json!(now() - 120);
            c["exp"] = json!(now() - 60);
            sign(&c, secret?)
        }
        BadToken::WrongAudience => {
            let mut c = claims(sub);
            c["aud"] = json!("anon");
            sign(&c, secret?)
        }
        BadToken::OtherAlgorithm => encode(
            &Header::new(Algorithm::HS512),
            &claims(sub),
            &EncodingKey::from_secret(secret?.as_bytes()),
        )
        .expect("HS512 encoding of a JSON object cannot fail"),
        BadToken::ServiceRole => {
            let mut c = claims(sub);
            c["role"] = json!("service_role");
            sign(&c, secret?)
        }
        BadToken::NonUuidSubject => {
            let mut c = claims(sub);
            c["sub"] = json!("not-a-uuid");
            sign(&c, secret?)
        }
        BadToken::IssuedInFuture => {
            let mut c = claims(sub);
            c["iat"] = json!(now() + 600);
            sign(&c, secret?)
        }
        BadToken::NotYetValid => {
            let mut c = claims(sub);
            c["nbf"] = json!(now() + 600);
            sign(&c, secret?)
        }
        // A random secret: whatever the server's is, this signature is wrong.
        BadToken::BadSignature => sign(&claims(sub), &format!("not-the-secret-{}", Uuid::new_v4())),
        BadToken::Garbage => "not.a.jwt".to_string(),
    })
}

impl TokenSource {
    /// Minted tokens when a (non-empty) secret is known, else anonymous ones.
    pub fn from_secret(secret: Option<&str>) -> TokenSource {
        match secret {
            Some(s) if !s.is_empty() => Self::Secret(s.to_owned()),
            _ => Self::Anonymous,
        }
    }

    pub fn secret(&self) -> Option<&str> {
        match self {
            Self::Secret(s) => Some(s),
            Self::Anonymous => None,
        }
    }

    /// A fresh tenant (new `sub`, so a fresh rate-limit bucket).
    pub async fn tenant(&self, label: &str, transport: &dyn Transport) -> Result<Tenant, String> {
        match self {
            Self::Secret(secret) => {
                let sub = Uuid::new_v4();
                Ok(Tenant {
                    label: label.into(),
                    sub,
                    token: sign(&claims(sub), secret),
                })
            }
            Self::Anonymous => {
                let ex = transport
                    .send(ApiRequest::post("/api/v1/stream/auth/anon").json(json!({})))
                    .await;
                let r = ex
                    .response
                    .map_err(|e| format!("anonymous token request failed: {e}"))?;
                if r.status == 429 {
                    return Err(format!(
                        "the anonymous-token endpoint refused (429): this address's hourly allowance is spent; {}, or pass the target's JWT secret so tenants are minted locally",
                        wait_for(r.header_u64("retry-after"))
                    ));
                }
                if r.status != 200 {
                    return Err(format!("anonymous token endpoint answered {}", r.status));
                }
                let body = r.json().ok_or("anonymous token response is not JSON")?;
                let token = body["token"]
                    .as_str()
                    .ok_or("anonymous token response has no token")?;
                let sub = body["user_id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or("anonymous token response has no user_id")?;
                Ok(Tenant {
                    label: label.into(),
                    sub,
                    token: token.into(),
                })
            }
        }
    }
}

/// When to run again, from a 429's `Retry-After` in seconds, in whole
/// minutes (rounded up: a release manager plans in minutes, and a rerun a
/// second early is refused again).
pub fn wait_for(retry_after: Option<u64>) -> String {
    match retry_after {
        Some(secs) => {
            let minutes = secs.div_ceil(60).max(1);
            let unit = if minutes == 1 { "minute" } else { "minutes" };
            format!("run again in {minutes} {unit} (Retry-After: {secs} s)")
        }
        None => "run again within the hour (the 429 gave no Retry-After)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[test]
    fn minted_tokens_verify_with_the_secret_and_audience() {
        let secret = "s".repeat(32);
        let sub = Uuid::new_v4();
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&["authenticated"]);
        let data = decode::<serde_json::Value>(
            &sign(&claims(sub), &secret),
            &DecodingKey::from_secret(secret.as_bytes()),
            &v,
        )
        .unwrap();
        assert_eq!(data.claims["sub"], sub.to_string());
    }

    #[test]
    fn the_wait_is_given_in_whole_minutes_rounded_up() {
        assert_eq!(
            wait_for(Some(1250)),
            "run again in 21 minutes (Retry-After: 1250 s)"
        );
        assert_eq!(
            wait_for(Some(1)),
            "run again in 1 minute (Retry-After: 1 s)"
        );
        assert!(wait_for(None).contains("within the hour"));
    }

    #[test]
    fn expired_and_wrong_audience_need_the_secret() {
        assert!(bad_token(BadToken::Expired, None).is_none());
        assert!(bad_token(BadToken::WrongAudience, None).is_none());
        assert!(bad_token(BadToken::OtherAlgorithm, None).is_none());
        assert!(bad_token(BadToken::ServiceRole, None).is_none());
        let none = bad_token(BadToken::AlgNone, None).unwrap();
        assert!(none.ends_with('.') && none.split('.').count() == 3);
    }
}
