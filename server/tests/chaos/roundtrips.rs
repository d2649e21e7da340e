//! What healing costs on the normal path: nothing. A proxy between the server and PostgreSQL
//! counts the server's sends (each a round trip: the server waits for the answer before the
//! next); an authenticated read keeps its three (`BEGIN` with the claims, the query, the
//! ROLLBACK with the pool's release ping), before a loss and once the dead connections have
//! been replaced.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{list, serial, Chaos};

/// Forwards 127.0.0.1:<returned port> to `target`, counting the chunks the client sends.
async fn counting_proxy(
    target: u16,
    sends: Arc<AtomicUsize>,
) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)).await else {
                continue;
            };
            let sends = sends.clone();
            tokio::spawn(async move {
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = upstream.into_split();
                let up = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                        sends.fetch_add(1, Ordering::Relaxed);
                        if to_server.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = to_server.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                    let _ = to_client.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (port, task)
}

/// The median of the sends of `n` sequential reads, each counted on its own (its release ping
/// included) after `n` uncounted ones. The median, not the mean: a send split in two by TCP, or
/// the server's background work (the sweeper, the pool's upkeep) landing in one read's window,
/// only ever adds, and only to a few reads; a cost paid on every read moves the median.
async fn sends_per_read(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    sends: &AtomicUsize,
    n: usize,
) -> (usize, Vec<usize>) {
    // Warm-up, not counted: each connection prepares the list statement on first use.
    for _ in 0..n {
        list(client, base, token).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut counts = Vec::with_capacity(n);
    for _ in 0..n {
        sends.store(0, Ordering::Relaxed);
        let outcome = list(client, base, token).await;
        assert_eq!(outcome.status, 200, "{outcome}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        counts.push(sends.load(Ordering::Relaxed));
    }
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    (sorted[n / 2], counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_keeps_three_round_trips_before_and_after_the_pool_heals() {
    let _turn = serial().await;
    let chaos = Chaos::start(|_| {}).await;
    let sends = Arc::new(AtomicUsize::new(0));
    let pg_port = chaos.server.stack().postgres().host_port();
    let (proxy_port, proxy) = counting_proxy(pg_port, sends.clone()).await;
    let storage = tempfile::tempdir().unwrap();
    let mut config = chaos.config().clone();
    config.database_url = config
        .database_url
        .replace(&format!(":{pg_port}/"), &format!(":{proxy_port}/"));
    assert!(config.database_url.contains(&proxy_port.to_string()));
    config.database_admin_url = None;
    config.storage_dir = storage.path().to_path_buf();
    let app = knowledge_server::App::build(config)
        .await
        .expect("the proxied app builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = knowledge_server::serve(app.router(), listener).await;
    let (base, token) = (running.base_url(), chaos.token());

    // Pinging every checkout would be 4 a read.
    let (before, counts) = sends_per_read(&chaos.client, &base, &token, &sends, 21).await;
    assert_eq!(
        before, 3,
        "round trips per read on a healthy pool: {counts:?}"
    );

    let killed = chaos.terminate_app_backends().await;
    assert!(killed >= 1);
    sends.store(0, Ordering::Relaxed);
    let first = list(&chaos.client, &base, &token).await;
    assert_eq!(first.status, 200, "healed on the first request: {first}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let healing = sends.load(Ordering::Relaxed);
    let (after, counts) = sends_per_read(&chaos.client, &base, &token, &sends, 21).await;
    assert_eq!(
        after, 3,
        "round trips per read once the pool healed: {counts:?}"
    );
    println!(
        "round trips per read: {before} before, {healing} for the first read after {killed} \
         connections died (reconnect included), {after} once healed"
    );
    running.shutdown().await;
    proxy.abort();
}
