//! PostgreSQL's connections die under the pool: backends terminated by an operator
//! (`pg_terminate_backend`) and PostgreSQL restarted. An idle server answers the first request
//! after that with a 200 and reports the database ready; a busy one spends at most one 503 per
//! connection that died, each with `Retry-After`.

use std::time::{Duration, Instant};

use crate::support::{assert_only_200_or_503, list, ready, serial, tally, under_traffic, Chaos};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_heals_its_dead_pooled_connections_without_a_503() {
    let _turn = serial().await;
    let chaos = Chaos::start(|_| {}).await;
    let token = chaos.token();
    let base = chaos.base_url();

    // Backends terminated while idle: the next request and the next readiness check succeed.
    chaos.warm_pool(&token, 8).await;
    let killed = chaos.terminate_app_backends().await;
    assert!(killed >= 2, "the pool held several connections: {killed}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = list(&chaos.client, &base, &token).await;
    assert_eq!(
        first.status, 200,
        "first request after {killed} pooled connections were terminated: {first}"
    );
    chaos.warm_pool(&token, 8).await;
    let killed = chaos.terminate_app_backends().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = ready(&chaos.client, &base).await;
    assert_eq!(
        (status, &body["checks"]["database"]),
        (200, &true.into()),
        "/ready after {killed} pooled connections were terminated: {body}"
    );

    // PostgreSQL restarted while the server idles: the first request once it is back is a 200.
    chaos.warm_pool(&token, 8).await;
    let postgres = chaos.server.stack().postgres();
    postgres.stop().await.expect("postgres stops");
    postgres.start().await.expect("postgres starts again");
    let first = list(&chaos.client, &base, &token).await;
    assert_eq!(
        first.status, 200,
        "first request after the restart: {first}"
    );
    chaos.warm_pool(&token, 8).await;
    postgres.stop().await.expect("postgres stops");
    postgres.start().await.expect("postgres starts again");
    let (status, body) = ready(&chaos.client, &base).await;
    assert_eq!(
        (status, &body["checks"]["database"]),
        (200, &true.into()),
        "/ready after the restart: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_traffic_a_dead_pooled_connection_costs_at_most_one_503() {
    let _turn = serial().await;
    // A small pool, so that "one 503 per dead connection" is a tight bound.
    let chaos = Chaos::start(|config| config.database_max_connections = 4).await;

    // Backends terminated under traffic.
    let (killed, outcomes) = under_traffic(&chaos, 6, async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let killed = chaos.terminate_app_backends().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        killed
    })
    .await;
    let counts = assert_only_200_or_503("backends terminated", &outcomes);
    let refused = outcomes.iter().filter(|(_, o)| o.status == 503).count();
    assert!(
        refused as i64 <= killed,
        "{refused} 503s for {killed} terminated connections: {counts:?}"
    );
    println!("{killed} backends terminated under traffic: {counts:?}");

    // PostgreSQL restarted under traffic: while it is down 503s are due; once it is back,
    // at most one per pooled connection (4).
    let postgres = chaos.server.stack().postgres();
    let (back, outcomes) = under_traffic(&chaos, 6, async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        postgres.stop().await.expect("postgres stops");
        postgres.start().await.expect("postgres starts again");
        let back = Instant::now();
        tokio::time::sleep(Duration::from_millis(2000)).await;
        back
    })
    .await;
    let counts = assert_only_200_or_503("PostgreSQL restarted", &outcomes);
    let after: Vec<_> = outcomes.iter().filter(|(sent, _)| *sent >= back).collect();
    let refused_after = after.iter().filter(|(_, o)| o.status == 503).count();
    assert!(
        refused_after <= 4,
        "{refused_after} 503s after PostgreSQL was back, with a pool of 4: {:?}",
        tally(after.iter().map(|(_, o)| o))
    );
    assert!(
        after.iter().rev().take(6).all(|(_, o)| o.status == 200),
        "served again once PostgreSQL is back: {counts:?}"
    );
    println!("PostgreSQL restarted under traffic: {counts:?}, {refused_after} 503s once back");
}
