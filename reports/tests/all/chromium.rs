//! The HTML report in a real headless Chromium, with every host name made
//! unresolvable: it must render completely with the chart, offline.
//!
//! Skips (printing why) only when no `chromium` binary is installed; CI installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

use gonogo_reports::render::{write_reports, Format};

/// The browser, if installed. In CI (`CI` set) a missing browser is a failure,
/// not a skip: `.ci/run` installs Debian's `chromium`, so absence is a defect.
fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| candidates.map(|c| dir.join(c)))
            .find(|p| p.is_file())
    });
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "CI is set but no chromium is installed (apt-get install -y chromium)"
    );
    found
}

fn headless(bin: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(page)
        .output()
        .expect("chromium runs")
}

/// Network requests the page itself started, from Chromium's NetLog. The
/// browser's own background requests carry the initiator "not an origin"; a
/// request made by a `file://` page carries "null".
fn page_requests(bin: &Path, page: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let netlog = dir.path().join("netlog.json");
    let out = headless(
        bin,
        &[&format!("--log-net-log={}", netlog.display()), "--dump-dom"],
        page,
    );
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&netlog).expect("a NetLog was written"))
            .expect("the NetLog is JSON");
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
    let Some(bin) = chromium() else {
        println!("SKIPPED: chromium is not installed (apt-get install -y chromium); the HTML was not checked in a browser");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let paths = write_reports(&super::html::hostile_report(), dir.path(), &[Format::Html]).unwrap();
    let page = &paths[1];

    let out = headless(&bin, &["--dump-dom"], page);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        regex::Regex::new(r#"<[^>]*\s(?:src|href|action|poster)\s*=\s*"(?:[a-z]+:)?//"#).unwrap();
    assert!(
        external.find(&dom).is_none(),
        "the DOM references an external resource: {:?}",
        external.find(&dom)
    );

    // And Chromium's own NetLog shows the page made no request at all.
    assert_eq!(page_requests(&bin, page), Vec::<String>::new());

    let shot = dir.path().join("report.png");
    let out = headless(
        &bin,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,2400",
            "--hide-scrollbars",
        ],
        page,
    );
    assert!(
        out.status.success(),
        "chromium screenshot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // A blank page compresses to almost nothing; a rendered report does not.
    assert!(
        png.len() > 20_000,
        "the screenshot is suspiciously small ({} bytes)",
        png.len()
    );
    if let Some(keep) = std::env::var_os("GONOGO_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn the_network_check_catches_a_page_that_loads_an_external_image() {
    let Some(bin) = chromium() else {
        println!("SKIPPED: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("external.html");
    std::fs::write(
        &page,
        r#"<html><body><img src="https://cdn.example/x.png"></body></html>"#,
    )
    .unwrap();
    assert_eq!(page_requests(&bin, &page), ["https://cdn.example/x.png"]);
}
