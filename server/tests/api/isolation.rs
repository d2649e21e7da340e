//! Tenant isolation, proven at the database (as the app role, RLS alone must hide other tenants'
//! rows, even from a query with no WHERE) and through the API (another tenant's id is a 404).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use crate::helpers::{TestApp, User};

/// The ids a bare `SELECT * FROM <table>` returns to the app role, in one transaction that first sets
/// `claims` (when given) exactly as the server does.
async fn visible_ids(
    conn: &mut PgConnection,
    table: &str,
    claims: Option<&Value>,
) -> BTreeSet<Uuid> {
    let mut tx = conn.begin().await.unwrap();
    if let Some(claims) = claims {
        sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
            .bind(claims.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let rows = sqlx::query(&format!("SELECT * FROM {table}"))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rows.iter().map(|row| row.get::<Uuid, _>("id")).collect()
}

fn ids(values: &[&Value]) -> BTreeSet<Uuid> {
    values
        .iter()
        .map(|v| v["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

pub async fn memory_of(app: &TestApp, user: &User, content: &str) -> Value {
    let reply = app
        .create_memory(
            user,
            &crate::memory::new_memory(&Uuid::new_v4().to_string(), content),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn as_the_app_role_a_bare_select_shows_only_the_claimed_tenants_rows() {
    let app = TestApp::shared();
    let (alice, bob) = (app.new_user(), app.new_user());
    let a1 = app
        .upload_ok(&alice, "a1.txt", "text/plain", b"alice one")
        .await;
    let a2 = app
        .upload_ok(&alice, "a2.txt", "text/plain", b"alice two")
        .await;
    let b1 = app
        .upload_ok(&bob, "b1.txt", "text/plain", b"bob one")
        .await;
    let am = memory_of(&app, &alice, "alice remembers").await;
    let bm = memory_of(&app, &bob, "bob remembers").await;
    let mut conn = PgConnection::connect(app.app_database_url())
        .await
        .expect("the app role connects");
    let (alice_claims, bob_claims) = (TestApp::claims_for(alice.id), TestApp::claims_for(bob.id));

    assert_eq!(
        visible_ids(&mut conn, "knowledge_files", Some(&bob_claims)).await,
        ids(&[&b1])
    );
    assert_eq!(
        visible_ids(&mut conn, "knowledge_files", Some(&alice_claims)).await,
        ids(&[&a1, &a2])
    );
    assert_eq!(
        visible_ids(&mut conn, "memories", Some(&bob_claims)).await,
        ids(&[&bm])
    );
    assert_eq!(
        visible_ids(&mut conn, "memories", Some(&alice_claims)).await,
        ids(&[&am])
    );
    // The claims were transaction-local: the same connection without claims sees nothing at all.
    assert_eq!(
        visible_ids(&mut conn, "knowledge_files", None).await,
        BTreeSet::new()
    );
    assert_eq!(
        visible_ids(&mut conn, "memories", None).await,
        BTreeSet::new()
    );
}

#[tokio::test]
async fn as_the_app_role_a_bare_delete_touches_only_the_claimed_tenants_rows() {
    let app = TestApp::shared();
    let (alice, bob) = (app.new_user(), app.new_user());
    app.upload_ok(&alice, "a.txt", "text/plain", b"alice").await;
    app.upload_ok(&bob, "b.txt", "text/plain", b"bob").await;
    let mut conn = PgConnection::connect(app.app_database_url()).await.unwrap();

    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('request.jwt.claims', $1, true)")
        .bind(TestApp::claims_for(bob.id).to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let deleted = sqlx::query("DELETE FROM knowledge_files")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    tx.rollback().await.unwrap();

    assert_eq!(deleted, 1, "only bob's own row");
    assert_eq!(
        app.list_files(&alice, "").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_app_role_is_no_superuser_no_owner_and_cannot_bypass_rls() {
    let app = TestApp::shared();
    let mut conn = PgConnection::connect(app.app_database_url()).await.unwrap();

    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((superuser, bypass), (false, false));
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(role, "knowledge_app");
    let tables: Vec<(String, bool, bool, String)> = sqlx::query_as(
        "SELECT relname::text, relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner)::text \
         FROM pg_class WHERE relname IN ('knowledge_files', 'memories') AND relkind = 'r' ORDER BY relname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        tables,
        vec![
            (
                "knowledge_files".into(),
                true,
                true,
                "knowledge_owner".into()
            ),
            ("memories".into(), true, true, "knowledge_owner".into())
        ],
        "(table, ENABLE RLS, FORCE RLS, owner): the migrations' role owns them, not the app's"
    );
}

#[tokio::test]
async fn another_tenants_file_is_a_404_on_every_route_and_survives() {
    let app = TestApp::shared();
    let (alice, bob) = (app.new_user(), app.new_user());
    let word = format!("iso{}", Uuid::new_v4().simple());
    let file = app
        .upload_ok(&alice, "private.txt", "text/plain", word.as_bytes())
        .await;
    let id = file["id"].as_str().unwrap();

    app.get_file(&bob, id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.download(&bob, id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.delete_file(&bob, id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.list_files(&bob, "").await.json()["items"], json!([]));
    assert_eq!(
        app.search(&bob, &json!({"query": word})).await.json()["results"],
        json!([])
    );

    assert_eq!(
        app.get_file(&alice, id).await.json(),
        file,
        "alice's file survives"
    );
    assert_eq!(
        app.download(&alice, id).await.body.as_ref(),
        word.as_bytes()
    );
    assert_eq!(
        app.search(&alice, &json!({"query": word})).await.json()["results"][0]["file_id"],
        id
    );
}

#[tokio::test]
async fn another_tenants_memory_is_a_404_and_survives() {
    let app = TestApp::shared();
    let (alice, bob) = (app.new_user(), app.new_user());
    let memory = memory_of(&app, &alice, "alice's secret memory").await;
    let id = memory["id"].as_str().unwrap();

    app.get_memory(&bob, id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    app.delete_memory(&bob, id)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.list_memories(&bob, "").await.json()["items"], json!([]));

    assert_eq!(app.get_memory(&alice, id).await.json(), memory);
}

/// Claims holding `$` cannot ride in the one-trip `BEGIN` (the dollar quote
/// could close early): they take the bound-parameter path, and isolation holds
/// on both paths, including for a claim crafted to close the quote.
#[tokio::test]
async fn claims_with_a_dollar_take_the_bound_path_and_stay_isolated() {
    let app = TestApp::shared();
    let plain = app.new_user();
    let id = Uuid::new_v4();
    let mut claims = TestApp::claims_for(id);
    claims["user_metadata"] = json!({"name": "x$claims$, true); SELECT set_config('request.jwt.claims', '{}', true); --"});
    let dollar = User {
        id,
        token: app.sign(&claims),
    };
    let mine = app
        .upload_ok(&dollar, "d.txt", "text/plain", b"dollar one")
        .await;
    let theirs = app
        .upload_ok(&plain, "p.txt", "text/plain", b"plain one")
        .await;
    for (user, own, other) in [(&dollar, &mine, &theirs), (&plain, &theirs, &mine)] {
        let listed = app.list_files(user, "").await;
        assert_eq!(listed.status, StatusCode::OK);
        let items = listed.json()["items"].as_array().unwrap().clone();
        let seen: BTreeSet<&str> = items.iter().map(|f| f["id"].as_str().unwrap()).collect();
        assert!(seen.contains(own["id"].as_str().unwrap()), "{items:?}");
        assert!(!seen.contains(other["id"].as_str().unwrap()), "{items:?}");
    }
}
