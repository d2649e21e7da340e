//! What one run spends on a target: requests per tenant and anonymous tokens
//! per client IP. A deployed target's limits are real (100 requests per user
//! per hour, 30 anonymous tokens per IP per hour): a run that needed more would
//! starve itself and cry wolf. The figures are printed for the README's budget.

use std::collections::HashMap;
use std::sync::Arc;

use super::FakeApi;
use crate::check::ctx::{Capabilities, Ctx};
use crate::check::tokens::TokenSource;
use crate::check::transport::ApiRequest;

const SECRET: &str = "fake-secret-fake-secret-fake-secret!";

/// Runs every group the way a remote run does (no database) and counts the log.
fn spend(tokens: TokenSource) -> (HashMap<String, usize>, usize, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = Arc::new(FakeApi::new(SECRET, &[]));
        let baseline = crate::check::transport::Transport::send(
            api.as_ref(),
            ApiRequest::get("/openapi.json"),
        )
        .await
        .response
        .unwrap()
        .json()
        .unwrap();
        let ctx = Ctx::new(api, tokens, Ok(baseline), Capabilities::default());
        let groups = crate::cases::registry(false);
        crate::check::registry::run(&ctx, &groups).await;
        let log = ctx.log();
        let mut per_token: HashMap<String, usize> = HashMap::new();
        let mut anon = 0;
        for ex in &log {
            if ex.request.path.starts_with("/api/v1/stream/auth/anon") {
                anon += 1;
            } else if let Some(t) = ex.request.bearer_token() {
                *per_token.entry(t.to_owned()).or_default() += 1;
            }
        }
        (per_token, anon, log.len())
    })
}

#[test]
fn a_run_stays_within_every_tenants_allowance_and_the_ips_anonymous_tokens() {
    for (mode, tokens) in [
        ("with the secret", TokenSource::Secret(SECRET.into())),
        ("anonymous", TokenSource::Anonymous),
    ] {
        let (per_token, anon, total) = spend(tokens);
        let max = per_token.values().copied().max().unwrap_or(0);
        let exhausted = per_token.values().filter(|n| **n > 100).count();
        eprintln!(
            "budget {mode}: {total} requests, {} tokens, at most {max} per token, {exhausted} token(s) past 100, {anon} anonymous-token requests",
            per_token.len()
        );
        // Suites C and D spend one tenant each: the 101st request is the point.
        assert!(max <= 101, "{mode}: a tenant sent {max} requests");
        assert!(exhausted <= 2, "{mode}: {exhausted} tenants were exhausted");
        if matches!(mode, "anonymous") {
            assert!(
                anon <= 30,
                "{mode}: {anon} anonymous tokens exceed one IP's hourly 30"
            );
        }
    }
}
