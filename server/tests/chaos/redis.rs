//! Redis paused (connections hang) and killed (connections drop) under traffic, then idle: only
//! 200 or 503 with `Retry-After` while it is out, and the first request once it is back is a 200.

use std::time::Duration;

use crate::support::{assert_only_200_or_503, list, ready, serial, under_traffic, Chaos};

/// `docker kill`: SIGKILL, no shutdown, every connection dropped.
fn docker_kill(container: &str) {
    let status = std::process::Command::new("docker")
        .args(["kill", container])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("the docker CLI runs");
    assert!(status.success(), "docker kill {container}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_paused_and_killed_costs_only_503s_with_retry_after_and_heals_by_itself() {
    let _turn = serial().await;
    let chaos = Chaos::start(|_| {}).await;
    let redis = chaos.server.stack().redis();
    let (token, base) = (chaos.token(), chaos.base_url());

    for fault in ["paused", "killed"] {
        let ((), outcomes) = under_traffic(&chaos, 6, async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            if fault == "paused" {
                redis.pause().await.expect("redis pauses");
                tokio::time::sleep(Duration::from_millis(1500)).await;
                redis.unpause().await.expect("redis unpauses");
            } else {
                docker_kill(redis.container_id());
                tokio::time::sleep(Duration::from_millis(500)).await;
                redis.start().await.expect("redis starts again");
            }
            tokio::time::sleep(Duration::from_millis(1500)).await;
        })
        .await;
        let counts = assert_only_200_or_503(&format!("Redis {fault}"), &outcomes);
        assert!(
            counts.get(&503).is_some_and(|n| *n > 0),
            "Redis {fault}: the outage was seen: {counts:?}"
        );
        assert!(
            outcomes.iter().rev().take(6).all(|(_, o)| o.status == 200),
            "Redis {fault}: served again once it is back: {counts:?}"
        );
        println!("Redis {fault} under traffic: {counts:?}");
    }

    // Killed and restarted while the server idles: the first request and readiness are fine.
    docker_kill(redis.container_id());
    redis.start().await.expect("redis starts again");
    let first = list(&chaos.client, &base, &token).await;
    assert_eq!(
        first.status, 200,
        "first request after Redis came back: {first}"
    );
    docker_kill(redis.container_id());
    redis.start().await.expect("redis starts again");
    let (status, body) = ready(&chaos.client, &base).await;
    assert_eq!(status, 200, "/ready after Redis came back: {body}");
}
