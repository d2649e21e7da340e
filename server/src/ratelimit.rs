//! Rate limiting in Redis: one GCRA Lua script using Redis' own clock (exact under any
//! concurrency, shared by every replica), called with EVALSHA over one shared auto-reconnecting
//! connection, bounded by a short timeout. Also the rate-limit response headers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::StartupError;
use crate::metrics::Metrics;

/// GCRA: KEYS[1] bucket; ARGV[1] burst (= limit), ARGV[2] emission interval in µs.
/// Stores the theoretical arrival time (µs). Returns {allowed, remaining, reset_after_us,
/// retry_after_us}. Times come from `TIME`, so replicas' clocks do not matter.
const GCRA_LUA: &str = r#"
local burst = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, math.floor((now - allow_at) / interval), new_tat - now, 0}
"#;

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is admitted.
    pub allowed: bool,
    /// The configured hourly limit.
    pub limit: u32,
    /// Requests still admissible right now, after this one.
    pub remaining: u64,
    /// Seconds until the bucket is full again (`remaining == limit`).
    pub reset_after_secs: u64,
    /// Seconds until one more request is admitted (≥ 1 when refused).
    pub retry_after_secs: u64,
}

/// Redis could not answer within the timeout.
#[derive(Debug)]
pub struct Unavailable;

/// The shared limiter.
pub struct RateLimiter {
    conn: ConnectionManager,
    script: redis::Script,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

fn ceil_secs(us: i64) -> u64 {
    (us.max(0) as u64).div_ceil(1_000_000)
}

impl RateLimiter {
    /// Connects (fails if Redis is unreachable now) and preloads the script.
    pub async fn connect(
        url: &str,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<RateLimiter, StartupError> {
        let unreachable = |e: redis::RedisError| {
            tracing::error!(error = %e, "redis connection failed");
            StartupError::Redis("Cannot reach Redis at REDIS_URL: check that Redis is running and the URL is right.".into())
        };
        let client = redis::Client::open(url).map_err(|_| {
            StartupError::Config("REDIS_URL is malformed: use redis://host:port.".into())
        })?;
        // Short connect/response timeouts and few retries: a stopped Redis must give a fast 503
        // while the manager keeps reconnecting in the background.
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(timeout.max(Duration::from_millis(50)) * 4)
            .set_number_of_retries(1)
            .set_max_delay(500);
        let mut conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, cfg),
        )
        .await
        .map_err(|_| {
            StartupError::Redis(
                "Redis did not answer within 5 s: check REDIS_URL and that Redis is up.".into(),
            )
        })?
        .map_err(unreachable)?;
        let script = redis::Script::new(GCRA_LUA);
        script
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .map_err(unreachable)?;
        Ok(RateLimiter {
            conn,
            script,
            timeout,
            metrics,
        })
    }

    /// Counts one request against `key` with an hourly `limit` (one EVALSHA round trip).
    pub async fn check(&self, key: &str, limit: u32) -> Result<Decision, Unavailable> {
        let interval_us = 3_600_000_000i64 / i64::from(limit.max(1));
        let conn = self.conn.clone();
        let started = Instant::now();
        let mut invocation = self.script.key(key);
        invocation.arg(limit).arg(interval_us);
        // `invoke_async` uses EVALSHA and reloads the script on NOSCRIPT (after a Redis restart).
        let res = tokio::time::timeout(
            self.timeout,
            once_more_if_dropped(|| {
                let mut conn = conn.clone();
                let invocation = &invocation;
                async move {
                    invocation
                        .invoke_async::<(i64, i64, i64, i64)>(&mut conn)
                        .await
                }
            }),
        )
        .await;
        let (outcome, result) = match res {
            Ok(Ok(v)) => ("ok", Ok(v)),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "rate limiter: redis error");
                ("error", Err(Unavailable))
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis() as u64,
                    "rate limiter: redis timed out"
                );
                ("timeout", Err(Unavailable))
            }
        };
        self.metrics
            .redis("evalsha_gcra", outcome, started.elapsed());
        let (allowed, remaining, reset_us, retry_us) = result?;
        Ok(Decision {
            allowed: allowed == 1,
            limit,
            remaining: remaining.clamp(0, i64::from(limit)) as u64,
            reset_after_secs: ceil_secs(reset_us),
            retry_after_secs: ceil_secs(retry_us).max(u64::from(allowed != 1)),
        })
    }

    /// `PING` within the timeout, for readiness.
    pub async fn ping(&self) -> bool {
        let conn = self.conn.clone();
        let started = Instant::now();
        let ping = once_more_if_dropped(|| {
            let mut conn = conn.clone();
            async move { redis::cmd("PING").query_async::<String>(&mut conn).await }
        });
        let ok = matches!(tokio::time::timeout(self.timeout, ping).await, Ok(Ok(_)));
        self.metrics
            .redis("ping", if ok { "ok" } else { "error" }, started.elapsed());
        ok
    }
}

/// Runs `op`, and once more when it failed because the connection had dropped (Redis restarted
/// or killed while the server idled): the manager is then already reconnecting, and the second
/// call waits for the new connection instead of costing the client a 503. Both calls share the
/// caller's timeout. Should the connection drop after Redis ran the script but before it
/// answered, the request counts twice: the limit errs towards refusing, never admitting more.
async fn once_more_if_dropped<T, F, Fut>(mut op: F) -> redis::RedisResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = redis::RedisResult<T>>,
{
    match op().await {
        Err(e) if e.is_unrecoverable_error() => {
            tracing::warn!(error = %e, "rate limiter: the redis connection had dropped; retrying");
            op().await
        }
        other => other,
    }
}

/// Adds X-RateLimit-*, RateLimit-Policy and RateLimit headers for a decision.
pub fn apply_headers(h: &mut HeaderMap, d: &Decision, now_epoch: i64) {
    let set = |h: &mut HeaderMap, name: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    set(h, "x-ratelimit-limit", d.limit.to_string());
    set(h, "x-ratelimit-remaining", d.remaining.to_string());
    set(
        h,
        "x-ratelimit-reset",
        (now_epoch + d.reset_after_secs as i64).to_string(),
    );
    set(
        h,
        "ratelimit-policy",
        format!("\"hourly\";q={};w=3600", d.limit),
    );
    set(
        h,
        "ratelimit",
        format!("\"hourly\";r={};t={}", d.remaining, d.reset_after_secs),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_the_contract() {
        let d = Decision {
            allowed: true,
            limit: 100,
            remaining: 99,
            reset_after_secs: 36,
            retry_after_secs: 0,
        };
        let mut h = HeaderMap::new();
        apply_headers(&mut h, &d, 1_000);
        assert_eq!(h["x-ratelimit-limit"], "100");
        assert_eq!(h["x-ratelimit-remaining"], "99");
        assert_eq!(h["x-ratelimit-reset"], "1036");
        assert_eq!(h["ratelimit-policy"], "\"hourly\";q=100;w=3600");
        assert_eq!(h["ratelimit"], "\"hourly\";r=99;t=36");
    }

    #[test]
    fn microseconds_round_up_to_whole_seconds() {
        assert_eq!(ceil_secs(1), 1);
        assert_eq!(ceil_secs(36_000_000), 36);
        assert_eq!(ceil_secs(36_000_001), 37);
        assert_eq!(ceil_secs(-5), 0);
    }
}
