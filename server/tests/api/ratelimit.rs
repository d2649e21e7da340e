//! The per-user rate limit: headers and their arithmetic, the 429, exactness under concurrency,
//! sharing between replicas, refill, and isolation between users.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;

use crate::helpers::{Reply, TestApp, User};

/// One counted request: listing files (2xx, one DB transaction).
async fn list(app: &TestApp, user: &User) -> Reply {
    app.list_files(user, "?limit=1").await
}

/// When the server answered, from its `Date` header (so slow test machines don't skew the arithmetic).
#[track_caller]
fn answered_at(reply: &Reply) -> i64 {
    let date = reply.header("date").expect("a Date header");
    chrono::DateTime::parse_from_rfc2822(date)
        .expect("an HTTP date")
        .timestamp()
}

/// Asserts the IETF headers agree with the X-RateLimit ones and returns `t` (seconds to full).
#[track_caller]
fn assert_ietf_headers(reply: &Reply, limit: u64) -> i64 {
    let rate = reply.rate();
    let answered = answered_at(reply);
    assert_eq!(
        reply.header("ratelimit-policy"),
        Some(format!("\"hourly\";q={limit};w=3600").as_str())
    );
    let header = reply.header("ratelimit").expect("RateLimit header");
    let prefix = format!("\"hourly\";r={};t=", rate.remaining);
    let t: i64 = header
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("RateLimit {header:?}"))
        .parse()
        .unwrap();
    assert!(
        (rate.reset - answered - t).abs() <= 1,
        "X-RateLimit-Reset and t disagree: {header} vs {rate:?}"
    );
    t
}

#[tokio::test]
async fn rate_limit_headers_count_down_by_one_on_2xx_and_4xx_alike() {
    let app = TestApp::shared();
    let user = app.new_user();
    let replies = [
        list(&app, &user).await,
        app.get_file(&user, "not-a-uuid").await,
        app.get_file(&user, &uuid::Uuid::new_v4().to_string()).await,
        app.list_memories(&user, "").await,
        app.search(&user, &serde_json::json!({"query": ""})).await,
    ];

    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [200, 400, 404, 200, 400]);
    for (used, reply) in (1..).zip(&replies) {
        let rate = reply.rate();
        assert_eq!(
            (rate.limit, rate.remaining),
            (100, 100 - used),
            "after {used} requests"
        );
        // GCRA refills one request every 36 s, so the bucket is full again `used * 36` s from now.
        let t = assert_ietf_headers(reply, 100);
        // (less the time since the first request: the bucket refills meanwhile).
        let since_first = answered_at(reply) - answered_at(&replies[0]);
        let expected = used as i64 * 36 - since_first;
        assert!(
            (t - expected).abs() <= 1,
            "t={t} after {used} requests, expected {expected}"
        );
        let answered = answered_at(reply);
        assert!(
            rate.reset > answered && rate.reset <= answered + 3600,
            "reset {}",
            rate.reset
        );
    }
}

#[tokio::test]
async fn the_101st_request_is_refused_with_retry_after_and_other_users_are_unaffected() {
    let app = TestApp::shared();
    let (greedy, other) = (app.new_user(), app.new_user());
    for n in 1..=100u64 {
        let reply = list(&app, &greedy).await;
        assert_eq!(reply.status, StatusCode::OK, "request {n}");
        assert_eq!(reply.rate().remaining, 100 - n);
    }

    let refused = list(&app, &greedy).await;

    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    let retry_after = refused.retry_after();
    assert!(
        (1..=36).contains(&retry_after),
        "one request is admitted within 3600/100 s: {retry_after}"
    );
    assert!(
        refused.suggestion().contains(&retry_after.to_string()),
        "suggestion names the wait: {}",
        refused.suggestion()
    );
    assert_eq!(refused.rate().remaining, 0);
    assert_ietf_headers(&refused, 100);

    let unaffected = list(&app, &other).await;
    assert_eq!(unaffected.status, StatusCode::OK);
    assert_eq!(unaffected.rate().remaining, 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_150_concurrent_requests_by_one_user_exactly_100_are_admitted() {
    let app = TestApp::shared();
    let user = app.new_user();

    let replies = join_all((0..150).map(|_| list(&app, &user))).await;

    let admitted = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((admitted, refused), (100, 50));
    let mut remaining: Vec<u64> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| r.rate().remaining)
        .collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        (0..100).collect::<Vec<u64>>(),
        "each admitted request saw its own count"
    );
}

#[tokio::test]
async fn two_replicas_on_one_redis_share_one_limit() {
    let first = TestApp::variant(|config| config.rate_limit_per_hour = 10).await;
    let second = TestApp::variant(|config| config.rate_limit_per_hour = 10).await;
    let user = first.new_user();

    let mut statuses = Vec::new();
    for n in 0..16 {
        let replica = if n % 2 == 0 { &first } else { &second };
        let reply = list(replica, &user).await;
        if n < 10 {
            let rate = reply.rate();
            assert_eq!(
                (rate.limit, rate.remaining),
                (10, 9 - n),
                "request {n} counts on both replicas"
            );
        }
        statuses.push(reply.status.as_u16());
    }

    let expected: Vec<u16> = [200; 10].into_iter().chain([429; 6]).collect();
    assert_eq!(statuses, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_admitted_again_after_3600_over_limit_seconds() {
    // 360/hour refills one request every 10 s: small enough to exhaust quickly, long enough to measure.
    let app = TestApp::variant(|config| config.rate_limit_per_hour = 360).await;
    let user = app.new_user();
    let started = Instant::now();
    let replies = join_all((0..360).map(|_| list(&app, &user))).await;
    assert!(
        replies.iter().all(|r| r.status == StatusCode::OK),
        "the burst is the whole limit"
    );
    let elapsed = started.elapsed();

    // A slow machine may refill one request per 10 s of burst; those extra admissions are exact too.
    let mut refused = list(&app, &user).await;
    let mut extra = 0;
    while refused.status == StatusCode::OK {
        extra += 1;
        assert!(
            extra <= elapsed.as_secs() / 10 + 1,
            "{extra} admitted beyond the burst of {elapsed:?}"
        );
        refused = list(&app, &user).await;
    }
    refused.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after = refused.retry_after();
    assert!(
        (1..=10).contains(&retry_after),
        "Retry-After {retry_after} after a burst of {elapsed:?}"
    );

    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(100)).await;
    assert_eq!(
        list(&app, &user).await.status,
        StatusCode::OK,
        "admitted after Retry-After"
    );
    assert_eq!(
        list(&app, &user).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "but only one"
    );
}

/// A 4xx that an authenticated tenant request can end in; each still counts and says so.
async fn four_xx(app: &TestApp, user: &User, case: &str) -> Reply {
    use crate::helpers::Multipart;
    let over = vec![b'x'; 1025];
    match case {
        "invalid_id" => app.get_file(user, "nope").await,
        "not_found" => app.get_file(user, &uuid::Uuid::new_v4().to_string()).await,
        "unknown_route" => app.get("/api/v1/knowledge/nothing-here", user).await,
        "method_not_allowed" => {
            app.request(
                reqwest::Method::PATCH,
                "/api/v1/knowledge/search",
                Some(&user.token),
                &[],
                None,
            )
            .await
        }
        "payload_too_large" => {
            app.upload(user, Multipart::new().file("big.txt", "text/plain", &over))
                .await
        }
        "unsupported_media_type" => {
            app.post_raw("/api/v1/knowledge/files", user, "text/plain", "x")
                .await
        }
        "content_mismatch" => {
            app.upload(
                user,
                Multipart::new().file("a.json", "application/json", b"{"),
            )
            .await
        }
        "validation_failed" => {
            app.search(user, &serde_json::json!({"query": "", "limit": 5}))
                .await
        }
        "invalid_json" => {
            app.create_memory(user, &serde_json::json!({"content": 5}))
                .await
        }
        other => panic!("no case {other}"),
    }
}

#[tokio::test]
async fn every_authenticated_4xx_on_a_tenant_route_counts_and_carries_the_rate_limit_headers() {
    let app = TestApp::variant(|config| config.max_upload_bytes = 1024).await;
    let user = app.new_user();
    let cases = [
        ("invalid_id", "invalid_id"),
        ("not_found", "not_found"),
        ("unknown_route", "not_found"),
        ("method_not_allowed", "method_not_allowed"),
        ("payload_too_large", "payload_too_large"),
        ("unsupported_media_type", "unsupported_media_type"),
        ("content_mismatch", "content_mismatch"),
        ("validation_failed", "validation_failed"),
        ("invalid_json", "invalid_json"),
    ];

    for (used, (case, code)) in (1..).zip(cases) {
        let reply = four_xx(&app, &user, case).await;
        assert!(reply.status.is_client_error(), "{case}: {}", reply.status);
        assert_eq!(reply.json()["code"], code, "{case}");
        assert_eq!(
            (reply.rate().limit, reply.rate().remaining),
            (100, 100 - used),
            "{case}"
        );
        assert_ietf_headers(&reply, 100);
    }
}

#[tokio::test]
async fn spellings_of_one_sub_share_one_bucket() {
    let app = TestApp::shared();
    let id = uuid::Uuid::new_v4();
    let spellings = [
        id.hyphenated().to_string(),
        id.hyphenated().to_string().to_uppercase(),
        id.simple().to_string(),
        id.braced().to_string(),
        id.urn().to_string(),
    ];

    let mut used = 0;
    for sub in spellings {
        let mut claims = TestApp::claims_for(id);
        claims["sub"] = sub.clone().into();
        let user = User {
            id,
            token: app.sign(&claims),
        };
        let reply = list(&app, &user).await;
        // Refusing a non-canonical spelling is fine; counting it in another bucket is not.
        if reply.status == StatusCode::OK {
            used += 1;
            assert_eq!(
                reply.rate().remaining,
                100 - used,
                "sub {sub:?} got a bucket of its own"
            );
        } else {
            reply.assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
        }
    }
}
