//! Scans response bodies and headers for what an error must never carry:
//! stack traces, file-system paths, SQL, driver text, library messages,
//! connection URLs, secrets.
//!
//! Library messages are matched by the libraries' exact phrasing (serde's
//! `invalid type: `, std's `invalid digit found in string`, pydantic's
//! `Input should be a valid`, Jackson's `Cannot deserialize value of type`,
//! Go's `json: cannot unmarshal`, body-parser's `Unexpected token … in JSON at
//! position`), never by common words: a server's own sentence such as "query
//! should be a string of 1–512 characters" is its own wording and passes.

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
        "library message",
        concat!(
            // serde (serde_json, serde_urlencoded, …): `invalid type: integer `123`, expected a string`
            r"invalid (type|value|length): [^,\n]{1,80}, expected |(unknown|missing|duplicate) field `|unknown variant `|`, expected (a|an|one of|struct|enum|variant|at) |",
            // serde_json's position suffix and axum's rejection prefixes
            // (only after serde_json's own words: "Malformed JSON at line 3 column 7" is a server's)
            r"(expected [\w ]{1,40}|EOF while parsing an? \w+|trailing (characters|comma)|key must be a string|invalid (escape|number|unicode code point)|number out of range|recursion limit exceeded) at line \d+ column \d+|",
            r"Failed to deserialize (the JSON body|query string)|Failed to parse the request body as JSON|",
            // std's number parsing and chrono's parser
            r"invalid digit found in string|number too (large|small) to fit in target type|cannot parse integer from empty string|invalid float literal|",
            r"input contains invalid characters|premature end of input|no possible date and time matching input|",
            // pydantic (v2 and v1)
            // (Field required only as pydantic prints it: in a `msg` member or before its [type=…])
            r#"Input should be (a valid|greater than|less than|at least|at most)|"msg":\s*"Field required"|Field required \[type=|Extra inputs are not permitted|value is not a valid (integer|float|dict|list)|"#,
            // Jackson
            r#"Cannot deserialize value of type|Unrecognized field \\?"|Cannot construct instance of|JSON parse error: |"#,
            // Go: encoding/json, strconv
            r"json: cannot unmarshal|json: unknown field|strconv\.Parse(Int|Uint|Float|Bool): parsing|looking for beginning of (object key string|value)|unexpected end of JSON input|",
            // Node: JSON.parse as body-parser/Express forwards it
            r"Unexpected token .{1,40} in JSON at position \d+|Unexpected token '.{1,4}', |Unexpected end of JSON input",
        ),
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

    /// The issue's forwarded messages, and the wording of the libraries servers
    /// in this field are built on.
    #[test]
    fn library_messages_are_found_by_their_exact_phrasing() {
        for text in [
            "invalid type: integer `123`, expected a string at line 1 column 13",
            "unknown field `owner_id`, expected `query` or `limit`",
            "invalid value: floating point `1e+23`, expected an integer",
            "missing field `query`",
            "duplicate field `limit`",
            "number too large to fit in target type",
            "EOF while parsing an object at line 1 column 9",
            "trailing characters at line 1 column 4",
            "1 validation error for Search\nquery\n  Field required [type=missing, input_value={}, input_type=dict]",
            "invalid digit found in string",
            "input contains invalid characters",
            "Failed to deserialize query string: limit: cannot parse integer from empty string",
            "1 validation error for Search\nquery\n  Input should be a valid string [type=string_type]",
            r#"[{"loc":["body","query"],"msg":"Field required","type":"missing"}]"#,
            "Cannot deserialize value of type `java.lang.Integer` from String \"abc\"",
            r#"Unrecognized field \"owner_id\" (class Search), not marked as ignorable"#,
            "json: cannot unmarshal number into Go struct field search.query of type string",
            r#"strconv.ParseInt: parsing "abc": invalid syntax"#,
            "Unexpected token o in JSON at position 1",
            r#"Unexpected token 'o', "oops" is not valid JSON"#,
        ] {
            assert_eq!(scan(text, None), vec!["library message"], "{text:?}");
        }
    }

    /// A server's own sentences may use the same everyday words.
    #[test]
    fn own_sentences_that_resemble_library_wording_are_clean() {
        for text in [
            "query should be a string of 1–512 characters",
            "limit must be a whole number from 1 to 50",
            "The field `owner_id` is not one this route takes; it takes only `query` and `limit`.",
            "The value of limit is invalid: expected a number, got text.",
            "A required field is missing: query.",
            "Unexpected field colour; the body takes query and limit.",
            "The input contains a character that is not allowed in a name.",
            "The number is too large: send at most 100.",
            "The JSON body could not be parsed: check the quotes at the position shown in the suggestion.",
            "The body is not valid JSON.",
            "Malformed JSON at line 3 column 7: close the object.",
            "The JSON body is invalid at line 2 column 4.",
            "invalid value: the limit must be from 1 to 50.",
            "invalid type: send the query as a string.",
            "Field required: query. Send it as a string.",
        ] {
            assert_eq!(scan(text, None), Vec::<&str>::new(), "{text:?}");
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
