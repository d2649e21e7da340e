//! Prometheus and Chromium against the real Docker daemon: each comes up
//! (its image resolved, or built once), does its job, and its container is
//! removed on drop.

mod common;

use std::time::Duration;

use gonogo_containers::{Chromium, Prometheus, Stack};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A plain HTTP/1.0 GET on 127.0.0.1; the whole answer as text.
async fn get(addr: &str, path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await?;
    Ok(answer)
}

/// Prometheus scrapes a server on the host (by the address the host sees it
/// on, 127.0.0.1), answers queries, stops on demand, and is gone
/// after drop.
#[test]
fn prometheus_scrapes_the_host_stops_and_is_removed_on_drop() {
    let rt = runtime();
    let id = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        // A minimal /metrics on the host, where the test's servers live.
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf).await;
                let body = "up_from_host 1\n";
                let _ = conn
                    .write_all(
                        format!(
                            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        });
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: host\n    static_configs:\n      - targets: ['{target}']\n"
        );
        let prometheus = Prometheus::start(&config).await.unwrap();
        let addr = prometheus.url().trim_start_matches("http://").to_string();
        let mut answer = String::new();
        for _ in 0..50 {
            answer = get(&addr, "/api/v1/query?query=up_from_host")
                .await
                .unwrap_or_default();
            if answer.contains(r#""value":["#) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            answer.contains(r#""up_from_host""#) && answer.contains(r#""1"]"#),
            "the host's server was not scraped: {answer}"
        );
        prometheus.stop().await.unwrap();
        assert!(
            get(&addr, "/-/ready").await.is_err(),
            "stopped, it still answers"
        );
        let id = prometheus.container_id().to_string();
        drop(prometheus);
        id
    });
    drop(rt);
    let left = common::wait_until_gone(Stack::session_id(), Duration::from_secs(10));
    assert!(!left.iter().any(|l| id.starts_with(l.as_str())), "{left:?}");
}

/// Chromium renders a page (DOM, screenshot), has no network, fails with a
/// sentence, and is removed on drop even outside a runtime.
#[test]
fn chromium_renders_offline_and_is_removed_on_drop() {
    let rt = runtime();
    let chromium = rt.block_on(async {
        let chromium = Chromium::start().await.unwrap();
        let page = "<html><body><p id=x>before</p><script>document.getElementById('x').textContent = 'after ' + (1 + 1);</script></body></html>";
        let dom = chromium.dump_dom(page).await.unwrap();
        assert!(dom.contains("<p id=\"x\">after 2</p>"), "{dom}");
        let png = chromium.screenshot(page, 400, 300).await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let log = chromium
            .net_log(r#"<img src="https://example.com/x.png">"#)
            .await
            .unwrap();
        assert!(log.contains("https://example.com/x.png"), "{log}");
        // No file where one was asked for: one sentence saying what failed.
        let missing = gonogo_containers::chromium::Output {
            flag: "--screenshot=",
            file: "no/such/dir/shot.png",
        };
        let err = chromium
            .run(page.as_bytes(), &[], Some(missing), "take a screenshot")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Chromium could not take a screenshot (it wrote no "),
            "{err}"
        );
        chromium
    });
    drop(rt);
    let id = chromium.container_id().to_string();
    drop(chromium);
    let left = common::wait_until_gone(Stack::session_id(), Duration::from_secs(10));
    assert!(!left.iter().any(|l| id.starts_with(l.as_str())), "{left:?}");
}
