//! Scans response bodies and headers for what an error must never carry:
//! stack traces, file-system paths, SQL, driver text, connection URLs, secrets.

use std::sync::OnceLock;

use regex::Regex;

/// `(kind, pattern)`; kinds name the finding in the report.
const PATTERNS: &[(&str, &str)] = &[
    (
        "stack trace",
        r#"panicked at|stack backtrace|Traceback \(most recent call last\)|\.rs:\d+(:\d+)?|\bat [\w.$<>]+\([\w.]*:\d+\)|File "[^"]+", line \d+|goroutine \d+ \[|\bat [\w.<>]+ \(?[\w/.-]+\.(js|ts|mjs):\d+|node_modules/|Exception in thread|\b(java|javax)\.[\w.]+Exception|NullPointerException|\bpanic: "#,
    ),
    (
        "file-system path",
        r#"(^|[\s"'(=:])/(home|usr|var|tmp|etc|root|opt|srv|proc|builds|workspace|work)/|[A-Za-z]:\\[\w\\]"#,
    ),
    (
        "SQL text",
        r"(?i)syntax error at or near|syntax error in tsquery|invalid input syntax for (type )?\w+|operator does not exist|column \\?.\w+\\?. does not exist|duplicate key value|null value in column|SQLSTATE|\bselect\s+[\w*,\s.()]+\s+from\s|\binsert\s+into\s|\bupdate\s+\w+\s+set\s|relation \\?.\w+\\?. does not exist|violates [\w\s-]*constraint",
    ),
    (
        "driver text",
        r"sqlx::|tokio_postgres|deadpool::|bb8::|redis::|RedisError|psycopg|asyncpg|sqlalchemy|\bpgx\b|\bpq: |PG::|ActiveRecord|ECONNREFUSED|ConnectionRefusedError|redis\.exceptions|ioredis|error returned from database|pool timed out|hyper::|reqwest::|serde_json::|called `(Option|Result)::unwrap\(\)`|thread '[^']*' panicked",
    ),
    (
        "connection URL",
        r"(?i)\b(postgres(ql)?|redis|rediss|mysql|amqp)://",
    ),
    ("JWT", r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\."),
];

fn compiled() -> &'static Vec<(&'static str, Regex)> {
    static RE: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    RE.get_or_init(|| {
        PATTERNS
            .iter()
            .map(|(k, p)| (*k, Regex::new(p).expect("leak pattern compiles")))
            .collect()
    })
}

/// The kinds of leak found in `text` (empty = clean). `secret`, when known, is searched literally.
pub fn scan(text: &str, secret: Option<&str>) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = compiled()
        .iter()
        .filter(|(_, re)| re.is_match(text))
        .map(|(k, _)| *k)
        .collect();
    if secret.is_some_and(|s| !s.is_empty() && text.contains(s)) {
        found.push("secret");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::scan;

    #[test]
    fn a_clean_problem_body_has_no_finding() {
        let body = r#"{"type":"https://knowledge.dev/problems/not-found","title":"Not found","status":404,
            "code":"not_found","suggestion":"Check the id; list your files with GET /api/v1/knowledge/files.",
            "request_id":"7d0c1c5e-2b6f-4f7e-9d47-8f4f9f1f1f1f"}"#;
        assert_eq!(
            scan(body, Some("super-secret-value-of-32-bytes!!")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn leaks_of_other_stacks_than_ours_are_found() {
        for (text, kind) in [
            (r#"File "/app/main.py", line 42, in search"#, "stack trace"),
            ("goroutine 17 [running]:", "stack trace"),
            (
                "at Object.<anonymous> (/srv/app/index.js:10:5)",
                "stack trace",
            ),
            ("java.lang.IllegalStateException: boom", "stack trace"),
            ("syntax error in tsquery: \"a & | b\"", "SQL text"),
            ("invalid input syntax for type uuid: \"abc\"", "SQL text"),
            ("asyncpg.exceptions.UndefinedTableError", "driver text"),
            ("pq: password authentication failed", "driver text"),
        ] {
            assert!(
                scan(text, None).contains(&kind),
                "{text:?} should be a {kind}"
            );
        }
    }

    #[test]
    fn each_kind_of_leak_is_found() {
        assert_eq!(
            scan(
                "thread 'tokio-runtime-worker' panicked at src/db.rs:42:7",
                None
            ),
            vec!["stack trace", "driver text"]
        );
        assert_eq!(
            scan(
                r#"{"detail":"open /var/lib/knowledge/ab.bin failed"}"#,
                None
            ),
            vec!["file-system path"]
        );
        assert_eq!(
            scan("ERROR: syntax error at or near \"OR\"", None),
            vec!["SQL text"]
        );
        assert_eq!(
            scan("error returned from database: permission denied", None),
            vec!["driver text"]
        );
        assert_eq!(
            scan("cannot reach redis://127.0.0.1:6379", None),
            vec!["connection URL"]
        );
        assert_eq!(
            scan("bad key s3cr3t-s3cr3t", Some("s3cr3t-s3cr3t")),
            vec!["secret"]
        );
    }
}
