//! Start-up refuses an unsafe configuration, in one clear sentence that names the setting and
//! carries no secret: a short JWT secret, a malformed metadata key, and a database role that is a
//! superuser, owns the tenant tables or has BYPASSRLS.

use knowledge_server::{App, Config};
use rstest::rstest;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::TestApp;

#[derive(Debug, Clone, Copy)]
enum Misconfig {
    ShortJwtSecret,
    KeyWithoutId,
    KeyNotBase64,
    KeyOf16Bytes,
    SuperuserRole,
    OwnerRole,
    BypassRlsRole,
}

/// The password part of a `postgres://user:password@host/db` URL.
fn password(url: &str) -> &str {
    let credentials = url.split("://").nth(1).unwrap().split('@').next().unwrap();
    credentials
        .split_once(':')
        .map(|(_, pw)| pw)
        .unwrap_or_default()
}

/// A fresh LOGIN role with BYPASSRLS (and nothing else), as a URL.
async fn bypass_rls_role(app: &TestApp) -> String {
    let role = format!("bypass_{}", Uuid::new_v4().simple());
    let secret = Uuid::new_v4().simple().to_string();
    let mut db = PgConnection::connect(&app.superuser_database_url())
        .await
        .unwrap();
    let host_and_db = app.app_database_url().rsplit('@').next().unwrap();
    let database = host_and_db
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    for statement in [
        format!("CREATE ROLE {role} LOGIN BYPASSRLS PASSWORD '{secret}'"),
        format!("GRANT CONNECT ON DATABASE {database} TO {role}"),
    ] {
        sqlx::query(&statement).execute(&mut db).await.unwrap();
    }
    format!("postgres://{role}:{secret}@{host_and_db}")
}

impl Misconfig {
    async fn apply(self, app: &TestApp, config: &mut Config) {
        match self {
            Misconfig::ShortJwtSecret => config.jwt_secret = "x".repeat(31),
            Misconfig::KeyWithoutId => {
                config.metadata_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()
            }
            Misconfig::KeyNotBase64 => config.metadata_key = "k1:not base64!".into(),
            Misconfig::KeyOf16Bytes => config.metadata_key = "k1:AAAAAAAAAAAAAAAAAAAAAA==".into(),
            Misconfig::SuperuserRole => config.database_url = app.superuser_database_url(),
            Misconfig::OwnerRole => config.database_url = app.admin_database_url().to_owned(),
            Misconfig::BypassRlsRole => config.database_url = bypass_rls_role(app).await,
        }
    }
}

#[rstest]
#[case::short_jwt_secret(Misconfig::ShortJwtSecret, "JWT_SECRET")]
#[case::key_without_id(Misconfig::KeyWithoutId, "METADATA_KEY")]
#[case::key_not_base64(Misconfig::KeyNotBase64, "METADATA_KEY")]
#[case::key_of_16_bytes(Misconfig::KeyOf16Bytes, "METADATA_KEY")]
#[case::superuser_role(Misconfig::SuperuserRole, "superuser")]
#[case::owner_role(Misconfig::OwnerRole, "owns")]
#[case::bypass_rls_role(Misconfig::BypassRlsRole, "BYPASSRLS")]
#[tokio::test]
async fn start_up_refuses_an_unsafe_configuration_in_one_sentence(
    #[case] misconfig: Misconfig,
    #[case] names: &str,
) {
    let app = TestApp::shared();
    let mut config = app.config.clone();
    config.storage_dir = tempfile::tempdir().unwrap().keep();
    misconfig.apply(&app, &mut config).await;
    let database_password = password(&config.database_url).to_owned();

    let message = match App::build(config.clone()).await {
        Ok(_) => panic!("{misconfig:?} was accepted"),
        Err(error) => error.to_string(),
    };

    assert!(message.contains(names), "{misconfig:?}: {message}");
    assert!(
        !message.contains('\n') && message.ends_with('.'),
        "one sentence: {message}"
    );
    for secret in [config.jwt_secret.as_str(), database_password.as_str()] {
        assert!(
            secret.is_empty() || !message.contains(secret),
            "{misconfig:?} leaks a secret: {message}"
        );
    }
    let _ = std::fs::remove_dir_all(&config.storage_dir);
}
