//! Authentication: HS256 bearer tokens (Supabase style). [`JwtKeys::verify`] applies every
//! claim rule of the contract; [`Claims`] is what handlers take (its extractor lives in
//! [`crate::extract`]), so a handler cannot forget authentication; [`JwtKeys::mint_anonymous`] issues anonymous tokens.

use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::validate::{canonical_sub, map_has_nul};

/// `nbf`/`iat` may be this far in the future (clock skew between issuer and server).
pub const FUTURE_LEEWAY_SECS: i64 = 30;
/// Lifetime of anonymous tokens.
pub const ANON_TOKEN_TTL_SECS: i64 = 3600;

/// The verified claims of the caller. Cloning is cheap: the handlers' extractor clones them
/// from the request.
#[derive(Clone, Debug)]
pub struct Claims {
    /// The caller's user id; every tenant row is owned by it.
    pub sub: Uuid,
    /// The whole verified payload as JSON text, handed to PostgreSQL as `request.jwt.claims`:
    /// written once, when the token is verified.
    json: Arc<str>,
}

impl Claims {
    fn new(sub: Uuid, payload: &Map<String, Value>) -> Claims {
        let json = serde_json::to_string(payload).expect("a JSON map serializes");
        Claims {
            sub,
            json: json.into(),
        }
    }

    /// The claims the server itself acts under for `sub`'s rows (the storage sweeper), with no
    /// token: only `sub`, which is all the row-level security policies read.
    pub fn acting_for(sub: Uuid) -> Claims {
        let mut payload = Map::new();
        payload.insert("sub".into(), Value::String(sub.to_string()));
        Claims::new(sub, &payload)
    }

    /// The payload as JSON text for `set_config`.
    pub fn to_json(&self) -> &str {
        &self.json
    }
}

/// Signing and verification keys plus the validation rules.
pub struct JwtKeys {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl JwtKeys {
    /// Keys from the shared secret (checked to be ≥ 32 bytes by `Config::validate`).
    pub fn new(secret: &str) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&["authenticated"]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        // No grace after `exp`; `nbf`/`iat` get the 30 s skew allowance, checked below.
        validation.leeway = 0;
        validation.validate_nbf = false;
        JwtKeys {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Verifies a token; the error is the short reason for `error_description`.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, &'static str> {
        if token.split('.').count() != 3 {
            return Err("malformed token");
        }
        // Read `alg` ourselves so `none`, RS256 and friends get a precise reason.
        let header_b64 = token.split('.').next().unwrap_or_default();
        let header: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header_b64.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("malformed token")?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err("unsupported algorithm");
        }
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &self.validation)
                .map_err(|e| match e.kind() {
                    ErrorKind::InvalidSignature => "invalid signature",
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::InvalidAudience => "invalid audience",
                    ErrorKind::MissingRequiredClaim(c) if c == "sub" => "missing sub claim",
                    ErrorKind::MissingRequiredClaim(c) if c == "exp" => "missing exp claim",
                    ErrorKind::MissingRequiredClaim(_) => "missing aud claim",
                    ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                        "unsupported algorithm"
                    }
                    ErrorKind::ImmatureSignature => "token not yet valid",
                    _ => "malformed token",
                })?;
        let payload = data.claims;
        if !payload.get("exp").is_some_and(Value::is_number) {
            return Err("exp must be a number");
        }
        for (claim, reason) in [
            ("nbf", "token not yet valid"),
            ("iat", "token issued in the future"),
        ] {
            match payload.get(claim) {
                None => {}
                Some(v) => match v.as_f64() {
                    Some(t) if t <= (now + FUTURE_LEEWAY_SECS) as f64 => {}
                    Some(_) => return Err(reason),
                    None => return Err("malformed time claim"),
                },
            }
        }
        // Only the hyphenated spelling: the claims go to PostgreSQL as they are, and its uuid
        // cast must read `sub` as the same user the rate limiter counts (see `validate`).
        let sub = payload
            .get("sub")
            .and_then(Value::as_str)
            .and_then(canonical_sub)
            .ok_or("sub must be a UUID")?;
        // The claims become `request.jwt.claims::jsonb`, which refuses `\u0000` anywhere.
        if map_has_nul(&payload) {
            return Err("claims must not contain NUL");
        }
        if payload.get("role").is_some_and(|r| r != "authenticated") {
            return Err("role must be authenticated");
        }
        Ok(Claims::new(sub, &payload))
    }

    /// Mints a 1-hour token for a fresh anonymous user; returns (token, user id, expiry).
    pub fn mint_anonymous(&self, now: i64) -> (String, Uuid, i64) {
        let sub = Uuid::new_v4();
        let exp = now + ANON_TOKEN_TTL_SECS;
        let claims = json!({
            "sub": sub.to_string(), "role": "authenticated", "aud": "authenticated",
            "is_anonymous": true, "iat": now, "exp": exp, "iss": "knowledge-server",
        });
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with a valid key cannot fail");
        (token, sub, exp)
    }

    /// Signs arbitrary claims (used by `--dev` to print a token).
    pub fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing with a valid key cannot fail")
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

    fn token(claims: Value) -> String {
        JwtKeys::new(SECRET).sign(&claims)
    }

    fn good(now: i64) -> Value {
        json!({"sub": Uuid::new_v4().to_string(), "aud": "authenticated", "exp": now + 60, "role": "authenticated"})
    }

    #[test]
    fn accepts_a_valid_token_with_string_or_array_audience() {
        let keys = JwtKeys::new(SECRET);
        let now = now_secs();
        assert!(keys.verify(&token(good(now)), now).is_ok());
        let mut c = good(now);
        c["aud"] = json!(["other", "authenticated"]);
        assert!(keys.verify(&token(c), now).is_ok());
    }

    #[test]
    fn refuses_each_broken_claim_with_its_reason() {
        let keys = JwtKeys::new(SECRET);
        let now = now_secs();
        let cases: Vec<(&str, Value)> = vec![
            ("token expired", json!({"exp": now - 1})),
            ("invalid audience", json!({"aud": "anon"})),
            ("sub must be a UUID", json!({"sub": "user-1"})),
            (
                "sub must be a UUID",
                json!({"sub": Uuid::new_v4().urn().to_string()}),
            ),
            (
                "sub must be a UUID",
                json!({"sub": Uuid::new_v4().braced().to_string()}),
            ),
            ("claims must not contain NUL", json!({"name": "a\u{0}b"})),
            (
                "claims must not contain NUL",
                json!({"app_metadata": {"k\u{0}": 1}}),
            ),
            ("token not yet valid", json!({"nbf": now + 31})),
            ("token issued in the future", json!({"iat": now + 120})),
            (
                "role must be authenticated",
                json!({"role": "service_role"}),
            ),
        ];
        for (reason, patch) in cases {
            let mut c = good(now);
            for (k, v) in patch.as_object().unwrap() {
                c[k] = v.clone();
            }
            assert_eq!(keys.verify(&token(c), now).unwrap_err(), reason);
        }
        let mut c = good(now);
        c.as_object_mut().unwrap().remove("sub");
        assert_eq!(
            keys.verify(&token(c), now).unwrap_err(),
            "missing sub claim"
        );
        assert!(keys.verify(&token(json!({"sub": Uuid::new_v4().to_string(), "aud": "authenticated", "exp": now + 60, "nbf": now + 29})), now).is_ok());
    }

    #[test]
    fn refuses_other_keys_algorithms_and_shapes() {
        let keys = JwtKeys::new(SECRET);
        let now = now_secs();
        let other = JwtKeys::new("another-secret-another-secret-another-secret").sign(&good(now));
        assert_eq!(keys.verify(&other, now).unwrap_err(), "invalid signature");
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!(
            "{}.{}.",
            b64(json!({"alg": "none", "typ": "JWT"})),
            b64(good(now))
        );
        assert_eq!(
            keys.verify(&none, now).unwrap_err(),
            "unsupported algorithm"
        );
        let rs = format!("{}.{}.c2ln", b64(json!({"alg": "RS256"})), b64(good(now)));
        assert_eq!(keys.verify(&rs, now).unwrap_err(), "unsupported algorithm");
        assert_eq!(keys.verify("a.b", now).unwrap_err(), "malformed token");
        let t = token(good(now));
        let mut parts: Vec<&str> = t.split('.').collect();
        let tampered = b64(
            json!({"sub": Uuid::new_v4().to_string(), "aud": "authenticated", "exp": now + 999}),
        );
        parts[1] = &tampered;
        assert_eq!(
            keys.verify(&parts.join("."), now).unwrap_err(),
            "invalid signature"
        );
    }

    #[test]
    fn anonymous_tokens_verify_and_are_marked() {
        let keys = JwtKeys::new(SECRET);
        let now = now_secs();
        let (t, sub, exp) = keys.mint_anonymous(now);
        let claims = keys.verify(&t, now).unwrap();
        assert_eq!(claims.sub, sub);
        assert_eq!(exp, now + 3600);
        let payload: Value = serde_json::from_str(claims.to_json()).unwrap();
        assert_eq!(payload["is_anonymous"], true);
        assert_eq!(payload["sub"], sub.to_string());
    }

    #[test]
    fn bearer_parsing_distinguishes_missing_from_invalid() {
        use crate::error::AppError;
        use axum::http::{header, HeaderMap};
        let bearer = |h: &HeaderMap| {
            gonogo_plumbing::bearer(h)
                .map_err(AppError::from)
                .map(str::to_owned)
        };
        let mut h = HeaderMap::new();
        assert!(matches!(bearer(&h), Err(AppError::MissingToken)));
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert!(matches!(bearer(&h), Err(AppError::InvalidToken(_))));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(matches!(bearer(&h), Err(AppError::InvalidToken(_))));
        h.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer(&h).unwrap(), "abc");
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(matches!(
            bearer(&h),
            Err(AppError::InvalidToken("expected a Bearer token"))
        ));
    }
}
