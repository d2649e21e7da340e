use super::*;

fn config_with(flags: &[(&str, &str)]) -> Config {
    let dir = tempfile::tempdir().unwrap();
    let flags = flags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let env = |_: &str| None;
    Config::load_with(
        None,
        None,
        &flags,
        &crate::config::Surroundings {
            env: &env,
            cwd: dir.path(),
        },
    )
    .unwrap()
}

#[test]
fn the_ledger_is_the_database_then_the_path_then_beside_the_reports() {
    let plain = config_with(&[("report.dir", "out")]);
    assert_eq!(
        location(&plain, None),
        Location::Sqlite(PathBuf::from("out/ledger.sqlite"))
    );
    assert_eq!(
        location(&plain, Some(Path::new("elsewhere"))),
        Location::Sqlite(PathBuf::from("elsewhere/ledger.sqlite"))
    );
    assert_eq!(
        location(&plain, Some(Path::new(""))),
        Location::Sqlite(PathBuf::from("./ledger.sqlite"))
    );
    // A report kept below the ledger's directory (as serve keeps them) finds it.
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("flagger/ns/app/abc");
    std::fs::create_dir_all(&release).unwrap();
    assert_eq!(
        location(&plain, Some(&release)),
        Location::Sqlite(release.join("ledger.sqlite"))
    );
    std::fs::write(dir.path().join("ledger.sqlite"), b"").unwrap();
    assert_eq!(
        location(&plain, Some(&release)),
        Location::Sqlite(dir.path().join("ledger.sqlite"))
    );
    let path = config_with(&[("ledger.path", "/var/gonogo/l.sqlite")]);
    assert_eq!(
        location(&path, Some(Path::new("x"))),
        Location::Sqlite(PathBuf::from("/var/gonogo/l.sqlite"))
    );
    let pg = config_with(&[
        ("ledger.path", "/var/gonogo/l.sqlite"),
        ("ledger.database_url", "postgres://u:secretpw@db/ledger"),
    ]);
    let at = location(&pg, None);
    assert!(matches!(at, Location::Postgres(_)));
    assert!(!at.to_string().contains("secretpw"), "{at}");
    // No default key for a shared database.
    assert!(matches!(
        signing_key(&pg, &at),
        Err(LedgerUseError::KeyNeeded)
    ));
}

#[test]
fn the_default_key_is_made_once_beside_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(&[]);
    let at = Location::Sqlite(dir.path().join("ledger.sqlite"));
    let first = signing_key(&config, &at).unwrap();
    let again = signing_key(&config, &at).unwrap();
    assert_eq!(first.to_bytes(), again.to_bytes());
    assert!(dir.path().join("ledger.pub.pem").is_file());
}

#[test]
fn since_takes_a_time_or_a_date() {
    assert_eq!(
        since("2026-11-01").unwrap().to_rfc3339(),
        "2026-11-01T00:00:00+00:00"
    );
    assert_eq!(
        since("2026-11-01T12:30:00+01:00").unwrap().to_rfc3339(),
        "2026-11-01T11:30:00+00:00"
    );
    let e = since("November").unwrap_err().to_string();
    assert!(e.contains("--since \"November\""), "{e}");
}
