//! The anonymous-token endpoint: its shape, that its token works, and its per-IP limit.
//! This is the only test that calls the endpoint on the shared server (the limit is per client IP,
//! and every test connects from 127.0.0.1).

use jsonwebtoken::{DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{now, TestApp, User};

#[tokio::test]
async fn the_anonymous_token_endpoint_issues_working_tokens_and_limits_each_ip_to_30_an_hour() {
    let app = TestApp::shared();
    assert_eq!(
        app.config.anon_rate_limit_per_hour, 30,
        "this test proves the default"
    );

    let reply = app.anon_token().await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.assert_conventions();
    let body = reply.json();
    assert_eq!(body["token_type"], "bearer");
    let expires_in = body["expires_in"]
        .as_i64()
        .expect("expires_in is an integer");
    assert!(
        (3590..=3600).contains(&expires_in),
        "expires_in {expires_in}"
    );
    assert!(!body["expires_at"].is_null(), "expires_at in {body}");
    let user_id: Uuid = body["user_id"]
        .as_str()
        .unwrap()
        .parse()
        .expect("user_id is a UUID");

    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["authenticated"]);
    let token = body["token"].as_str().unwrap();
    let claims: Value = jsonwebtoken::decode(
        token,
        &DecodingKey::from_secret(app.secret().as_bytes()),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], user_id.to_string());
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["aud"], "authenticated");
    assert_eq!(claims["is_anonymous"], true);
    let lifetime = claims["exp"].as_i64().unwrap() - now();
    assert!(
        (3590..=3600).contains(&lifetime),
        "token lifetime {lifetime} s"
    );

    let user = User {
        id: user_id,
        token: token.to_owned(),
    };
    let listed = app.list_files(&user, "").await;
    assert_eq!(
        listed.status,
        StatusCode::OK,
        "the anonymous token works: {}",
        listed.text()
    );

    // An empty body is accepted too; two fresh tokens are two different users.
    let second = app
        .request(Method::POST, "/api/v1/stream/auth/anon", None, &[], None)
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_ne!(second.json()["user_id"], body["user_id"]);

    // Not an object, and not empty either: refused, as the spec's `{"type": "object"}` says
    // (refusals count against the limit too).
    for not_an_object in ["null", " \n", "[]"] {
        app.request(
            Method::POST,
            "/api/v1/stream/auth/anon",
            None,
            &[("content-type", "application/json")],
            Some(not_an_object.into()),
        )
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_json");
    }

    for n in 6..=30 {
        let reply = app.anon_token().await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "anonymous token {n} of 30: {}",
            reply.text()
        );
    }
    let refused = app.anon_token().await;
    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after = refused.retry_after();
    assert!(retry_after >= 1, "Retry-After {retry_after}");

    // The limit is on the peer address: a client cannot claim another IP to mint more tokens.
    for spoof in [
        ("x-forwarded-for", "203.0.113.7"),
        ("x-real-ip", "203.0.113.8"),
        ("forwarded", "for=203.0.113.9"),
    ] {
        let headers = [("content-type", "application/json"), spoof];
        let reply = app
            .request(
                Method::POST,
                "/api/v1/stream/auth/anon",
                None,
                &headers,
                Some("{}".into()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{spoof:?} bypassed the per-IP limit"
        );
    }
}
