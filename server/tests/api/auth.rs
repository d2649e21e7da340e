//! Authentication: the table of JWT attacks, the exact `WWW-Authenticate` headers, and the claims that
//! must still be accepted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{now, TestApp, User};

const FILES: &str = "/api/v1/knowledge/files";

/// Ways to forge or break a token; each must be refused with `invalid_token`.
#[derive(Debug, Clone, Copy)]
enum Attack {
    AlgNone,
    SignedWithAnotherKey,
    TamperedPayload,
    Expired,
    NotBeforeInTheFuture,
    IssuedInTheFuture,
    WrongAudience,
    MissingSub,
    NonUuidSub,
    MissingExp,
    TwoParts,
    EmptyBearer,
    Rs256Header,
    Hs512Header,
    ServiceRole,
    Garbage,
    MissingAud,
    FourParts,
    ExpAsString,
    NulInAClaim,
    SubAsNumber,
    AudAsNumber,
    Oversized,
    AudArrayWithoutAuthenticated,
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A token with any header, signed (HS256 bytes) with the server's real secret, so only the rule
/// under test can make the server refuse it.
fn forge(app: &TestApp, header: Value, claims: Value) -> String {
    let message = format!("{}.{}", b64(&header), b64(&claims));
    let key = EncodingKey::from_secret(app.secret().as_bytes());
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("{message}.{signature}")
}

fn with(claims: Value, patch: Value) -> Value {
    let mut claims = claims;
    for (key, value) in patch.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

impl Attack {
    fn token(self, app: &TestApp) -> String {
        let claims = TestApp::claims_for(Uuid::new_v4());
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        match self {
            Attack::AlgNone => format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims)
            ),
            Attack::SignedWithAnotherKey => jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &claims,
                &EncodingKey::from_secret(b"another-secret-that-is-long-enough-0123456789"),
            )
            .unwrap(),
            Attack::TamperedPayload => {
                let genuine = app.sign(&claims);
                let other = TestApp::claims_for(Uuid::new_v4());
                let parts: Vec<&str> = genuine.split('.').collect();
                format!("{}.{}.{}", parts[0], b64(&other), parts[2])
            }
            Attack::Expired => forge(
                app,
                hs256,
                with(claims, json!({"iat": now() - 7200, "exp": now() - 3600})),
            ),
            Attack::NotBeforeInTheFuture => {
                forge(app, hs256, with(claims, json!({"nbf": now() + 45})))
            }
            Attack::IssuedInTheFuture => {
                forge(app, hs256, with(claims, json!({"iat": now() + 45})))
            }
            Attack::WrongAudience => forge(app, hs256, with(claims, json!({"aud": "service"}))),
            Attack::MissingSub => forge(app, hs256, with(claims, json!({"sub": null}))),
            Attack::NonUuidSub => forge(app, hs256, with(claims, json!({"sub": "admin"}))),
            Attack::MissingExp => forge(app, hs256, with(claims, json!({"exp": null}))),
            Attack::TwoParts => {
                let genuine = app.sign(&claims);
                genuine.rsplit_once('.').unwrap().0.to_owned()
            }
            Attack::EmptyBearer => String::new(),
            Attack::Rs256Header => forge(app, json!({"alg": "RS256", "typ": "JWT"}), claims),
            Attack::Hs512Header => forge(app, json!({"alg": "HS512", "typ": "JWT"}), claims),
            Attack::ServiceRole => forge(app, hs256, with(claims, json!({"role": "service_role"}))),
            Attack::Garbage => "not.a.jwt".to_owned(),
            Attack::ExpAsString => {
                let exp = (now() + 3600).to_string();
                forge(app, hs256, with(claims, json!({ "exp": exp })))
            }
            // Claims become jsonb in PostgreSQL, which cannot hold `\u0000`.
            Attack::NulInAClaim => forge(app, hs256, with(claims, json!({"name": "a\u{0}b"}))),
            Attack::SubAsNumber => forge(app, hs256, with(claims, json!({"sub": 42}))),
            Attack::AudAsNumber => forge(app, hs256, with(claims, json!({"aud": 1}))),
            Attack::FourParts => format!("{}.extra", app.sign(&claims)),
            Attack::Oversized => format!("{}.e30.c2ln", "a".repeat(20_000)),
            Attack::MissingAud => forge(app, hs256, with(claims, json!({"aud": null}))),
            Attack::AudArrayWithoutAuthenticated => forge(
                app,
                hs256,
                with(claims, json!({"aud": ["anon", "service"]})),
            ),
        }
    }
}

#[rstest]
#[case::alg_none(Attack::AlgNone)]
#[case::signed_with_another_key(Attack::SignedWithAnotherKey)]
#[case::tampered_payload(Attack::TamperedPayload)]
#[case::expired(Attack::Expired)]
// 45 s: beyond the contract's 30 s leeway, inside jsonwebtoken's 60 s default.
#[case::nbf_beyond_the_leeway(Attack::NotBeforeInTheFuture)]
#[case::iat_beyond_the_leeway(Attack::IssuedInTheFuture)]
#[case::wrong_audience(Attack::WrongAudience)]
#[case::missing_sub(Attack::MissingSub)]
#[case::non_uuid_sub(Attack::NonUuidSub)]
#[case::missing_exp(Attack::MissingExp)]
#[case::two_part_token(Attack::TwoParts)]
#[case::empty_bearer(Attack::EmptyBearer)]
#[case::rs256_header(Attack::Rs256Header)]
#[case::hs512_header(Attack::Hs512Header)]
#[case::role_other_than_authenticated(Attack::ServiceRole)]
#[case::missing_aud(Attack::MissingAud)]
#[case::four_part_token(Attack::FourParts)]
#[case::exp_as_a_string(Attack::ExpAsString)]
#[case::nul_in_a_claim(Attack::NulInAClaim)]
#[case::sub_as_a_number(Attack::SubAsNumber)]
#[case::aud_as_a_number(Attack::AudAsNumber)]
#[case::a_20_kb_header_segment(Attack::Oversized)]
#[case::aud_array_without_authenticated(Attack::AudArrayWithoutAuthenticated)]
#[case::garbage(Attack::Garbage)]
#[tokio::test]
async fn a_bad_token_is_refused_with_invalid_token(#[case] attack: Attack) {
    let app = TestApp::shared();
    let token = attack.token(&app);
    let reply = app
        .request(Method::GET, FILES, Some(&token), &[], None)
        .await;

    reply.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    let prefix = r#"Bearer realm="knowledge", error="invalid_token", error_description=""#;
    assert!(
        challenge.starts_with(prefix) && challenge.len() > prefix.len() + 1,
        "{attack:?}: {challenge:?}"
    );
    assert!(challenge.ends_with('"'), "{attack:?}: {challenge:?}");
    crate::reply::assert_no_leak(&reply.text(), Some(app.secret()));
}

#[tokio::test]
async fn a_request_without_authorization_gets_the_bare_bearer_challenge() {
    let app = TestApp::shared();
    let reply = app.request(Method::GET, FILES, None, &[], None).await;

    reply.assert_problem(StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(r#"Bearer realm="knowledge""#)
    );
}

#[rstest]
#[case::audience_as_an_array(json!({"aud": ["authenticated", "other"]}))]
#[case::nbf_within_the_leeway(json!({"nbf": now() + 20}))]
#[case::no_role_claim(json!({"role": null}))]
#[case::anonymous_user(json!({"is_anonymous": true}))]
#[case::iat_within_the_leeway(json!({"iat": now() + 20}))]
#[tokio::test]
async fn a_valid_token_variant_is_accepted(#[case] patch: Value) {
    let app = TestApp::shared();
    let id = Uuid::new_v4();
    let token = app.sign(&with(TestApp::claims_for(id), patch));
    let user = User { id, token };

    let reply = app.list_files(&user, "").await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["items"], json!([]));
}

const SOME_ID: &str = "3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f";

#[rstest]
#[case::upload(Method::POST, "/api/v1/knowledge/files".to_owned())]
#[case::list(Method::GET, "/api/v1/knowledge/files".to_owned())]
#[case::get(Method::GET, format!("/api/v1/knowledge/files/{SOME_ID}"))]
#[case::delete(Method::DELETE, format!("/api/v1/knowledge/files/{SOME_ID}"))]
#[case::content(Method::GET, format!("/api/v1/knowledge/files/{SOME_ID}/content"))]
#[case::search(Method::POST, "/api/v1/knowledge/search".to_owned())]
#[case::memory_create(Method::POST, "/api/v1/memory".to_owned())]
#[case::memory_list(Method::GET, "/api/v1/memory".to_owned())]
#[case::memory_get(Method::GET, format!("/api/v1/memory/{SOME_ID}"))]
#[case::memory_delete(Method::DELETE, format!("/api/v1/memory/{SOME_ID}"))]
#[tokio::test]
async fn every_tenant_route_requires_a_token(#[case] method: Method, #[case] path: String) {
    let app = TestApp::shared();

    let missing = app.request(method.clone(), &path, None, &[], None).await;
    let forged = app
        .request(method, &path, Some(&Attack::AlgNone.token(&app)), &[], None)
        .await;

    missing.assert_problem(StatusCode::UNAUTHORIZED, "missing_token");
    forged.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[rstest]
#[case::basic_scheme("Basic dXNlcjpwYXNzd29yZA==")]
#[case::bearer_without_space("Bearer")]
#[case::token_without_scheme("eyJhbGciOiJIUzI1NiJ9.e30.sig")]
#[tokio::test]
async fn an_authorization_header_that_is_not_a_bearer_token_is_invalid_token(#[case] value: &str) {
    let app = TestApp::shared();

    let reply = app
        .request(Method::GET, FILES, None, &[("authorization", value)], None)
        .await;

    reply.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(reply
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="invalid_token""#));
}

#[rstest]
#[case::lower_case("bearer")]
#[case::upper_case("BEARER")]
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive(#[case] scheme: &str) {
    let app = TestApp::shared();
    let user = app.new_user();
    let value = format!("{scheme} {}", user.token);

    let reply = app
        .request(Method::GET, FILES, None, &[("authorization", &value)], None)
        .await;

    assert_eq!(
        reply.status,
        StatusCode::OK,
        "RFC 9110 §11.1: {}",
        reply.text()
    );
}
