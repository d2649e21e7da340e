//! The HTML report in a real headless Chromium with no network: it must
//! render completely with the chart, offline.
//!
//! The browser runs in a container (`gonogo_containers::Chromium`: Debian's
//! `chromium` package, built into an image once on first use, like the
//! offline PostgreSQL image), so the test needs no browser on the machine.

use gonogo_containers::Chromium;
use gonogo_reports::render::{write_reports, Format};

/// A runtime for the container's async API (these tests are synchronous).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) async fn chromium() -> Chromium {
    Chromium::start()
        .await
        .unwrap_or_else(|e| panic!("Chromium's container starts (is Docker running?): {e}"))
}

/// Network requests the page itself started, from Chromium's NetLog. The
/// browser's own background requests carry the initiator "not an origin"; a
/// request made by a `file://` page carries "null".
async fn page_requests(chromium: &Chromium, html: &[u8]) -> Vec<String> {
    let log = chromium.net_log(html).await.unwrap();
    let log: serde_json::Value = serde_json::from_str(&log).expect("the NetLog is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(start_job.is_number(), "unknown NetLog format");
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(String::from))
        .collect()
}

#[test]
fn chromium_renders_the_html_report_offline_with_its_chart() {
    runtime().block_on(async {
        let chromium = chromium().await;
        let dir = tempfile::tempdir().unwrap();
        let paths =
            write_reports(&super::html::hostile_report(), dir.path(), &[Format::Html]).unwrap();
        let page = std::fs::read(&paths[1]).unwrap();

        let dom = chromium.dump_dom(&page).await.unwrap();
        // The DOM is complete: the last section and the chart made it through the parser.
        assert!(dom.contains("<svg class=\"chart\""), "no chart in the DOM");
        assert!(
            dom.contains("<polyline class=\"series all\""),
            "no latency curve in the DOM"
        );
        assert!(
            dom.contains("id=\"signoff\""),
            "the sign-off section is missing"
        );
        assert!(dom.contains("</main>"), "the page is truncated");
        // Hostile text stayed text: no element was created from it.
        assert!(
            !dom.contains("<img"),
            "an <img> was created from report text"
        );
        assert!(
            !dom.contains("<script>alert"),
            "a <script> was created from report text"
        );
        // Nothing could have been fetched: no element points off the page. (Text
        // nodes serialise `<` as `&lt;`, so only real elements match.)
        let external =
            regex::Regex::new(r#"<[^>]*\s(?:src|href|action|poster)\s*=\s*"(?:[a-z]+:)?//"#)
                .unwrap();
        assert!(
            external.find(&dom).is_none(),
            "the DOM references an external resource: {:?}",
            external.find(&dom)
        );

        // And Chromium's own NetLog shows the page made no request at all.
        assert_eq!(page_requests(&chromium, &page).await, Vec::<String>::new());

        let png = chromium.screenshot(&page, 1100, 2400).await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // A blank page compresses to almost nothing; a rendered report does not.
        assert!(
            png.len() > 20_000,
            "the screenshot is suspiciously small ({} bytes)",
            png.len()
        );
        if let Some(keep) = std::env::var_os("GONOGO_KEEP_SCREENSHOT") {
            std::fs::write(keep, &png).unwrap();
        }
    });
}

#[test]
fn the_network_check_catches_a_page_that_loads_an_external_image() {
    runtime().block_on(async {
        let chromium = chromium().await;
        let page = br#"<html><body><img src="https://cdn.example/x.png"></body></html>"#;
        assert_eq!(
            page_requests(&chromium, page).await,
            ["https://cdn.example/x.png"]
        );
    });
}
