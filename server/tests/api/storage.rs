//! Stored bytes under concurrency: replicas may share one storage directory, so a replica starting
//! up must not disturb another's uploads in flight; and a download racing a delete of the same
//! file ends as a 200 or a 404, never as a failure.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{spawn_slow_upload, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_starting_on_the_same_storage_does_not_break_an_upload_in_flight() {
    let first = TestApp::variant(|_| {}).await;
    let user = first.new_user();
    // 256 KiB in 64 KiB chunks, 150 ms apart: still streaming when the second replica starts.
    let upload = spawn_slow_upload(
        &first.client,
        &first.base_url,
        &user,
        Duration::from_millis(150),
    );
    tokio::time::sleep(Duration::from_millis(250)).await;

    let shared_dir = first.config.storage_dir.clone();
    let _second = first
        .replica(|config| config.storage_dir = shared_dir)
        .await;

    let response = upload.await.unwrap().expect("the upload completes");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::CREATED, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_racing_a_delete_is_a_200_or_a_404_never_a_500() {
    let app = TestApp::variant(|config| config.rate_limit_per_hour = 100_000).await;
    let user = app.new_user();
    let mut statuses = std::collections::BTreeMap::new();
    for round in 0..20 {
        let info = app
            .upload_ok(&user, "racy.txt", "text/plain", b"racy bytes")
            .await;
        let id = info["id"].as_str().unwrap();
        let downloads = futures::future::join_all((0..12).map(|_| app.download(&user, id)));
        let (downloads, deleted) = tokio::join!(downloads, app.delete_file(&user, id));
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "round {round}");
        for reply in downloads {
            *statuses.entry(reply.status.as_u16()).or_insert(0) += 1;
            match reply.status {
                StatusCode::OK => assert_eq!(reply.body.as_ref(), b"racy bytes"),
                _ => {
                    reply.assert_problem(StatusCode::NOT_FOUND, "not_found");
                }
            }
        }
    }
    println!("download statuses while racing deletes: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_deletes_one_is_a_204_and_the_other_a_404() {
    let app = TestApp::shared();
    let user = app.new_user();
    for _ in 0..5 {
        let info = app.upload_ok(&user, "twice.txt", "text/plain", b"x").await;
        let id = info["id"].as_str().unwrap();

        let (first, second) = tokio::join!(app.delete_file(&user, id), app.delete_file(&user, id));

        let mut statuses = [first.status.as_u16(), second.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [204, 404]);
    }
}
