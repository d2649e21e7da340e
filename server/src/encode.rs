//! Hand-written JSON for the hot responses: the bytes `serde_json` writes for the same value
//! (compact, fields in declaration order), without its per-field machinery. Keys are
//! literals; ids and times are written straight into the buffer; strings that need no escape
//! (no `"`, `\` or control character) are copied, the rest go through `serde_json`. Each
//! writer's test compares it with `serde_json` on awkward values.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A JSON body already encoded: `200` with `Content-Type: application/json`, as `axum::Json`.
pub struct JsonBytes(pub Vec<u8>);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        let mut res = self.0.into_response();
        // Room for what the layers add (rate limit, request id, nosniff, no-store) without
        // growing the map on the way out.
        res.headers_mut().reserve(16);
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
}

/// `s` as a JSON string.
pub fn string(out: &mut Vec<u8>, s: &str) {
    // No early exit: the loop vectorizes.
    let escape = s
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if !escape {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        value(out, s);
    }
}

/// Any serializable value, by `serde_json` (writing to a `Vec` cannot fail for the types
/// given here: strings, structs of strings, numbers).
pub fn value(out: &mut Vec<u8>, v: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(&mut *out, v).expect("JSON encoding of plain data");
}

/// `id` as a JSON string (hyphenated, lower case).
pub fn uuid(out: &mut Vec<u8>, id: &Uuid) {
    out.push(b'"');
    out.extend_from_slice(
        id.hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .as_bytes(),
    );
    out.push(b'"');
}

/// `t` as chrono's serde writes it: RFC 3339 with `Z`, and 0, 3, 6 or 9 digits of fraction,
/// the fewest that keep it exact.
pub fn time(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    // The UTC fields as stored (`DateTime`'s own accessors convert to local time each call).
    let utc = t.naive_utc();
    let (date, clock) = (utc.date(), utc.time());
    let year = date.year();
    let nano = clock.nanosecond();
    // Years outside 0–9999 (a sign) and leap seconds: chrono's own writer.
    if !(0..=9999).contains(&year) || nano >= 1_000_000_000 {
        return value(out, t);
    }
    let two = |out: &mut Vec<u8>, n: u32| {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8])
    };
    out.push(b'"');
    two(out, year as u32 / 100);
    two(out, year as u32 % 100);
    out.push(b'-');
    two(out, date.month());
    out.push(b'-');
    two(out, date.day());
    out.push(b'T');
    two(out, clock.hour());
    out.push(b':');
    two(out, clock.minute());
    out.push(b':');
    two(out, clock.second());
    let (fraction, digits) = if nano == 0 {
        (0, 0)
    } else if nano % 1_000_000 == 0 {
        (nano / 1_000_000, 3)
    } else if nano % 1_000 == 0 {
        (nano / 1_000, 6)
    } else {
        (nano, 9)
    };
    if digits > 0 {
        out.push(b'.');
        let mut buf = [0u8; 9];
        let mut n = fraction;
        for slot in buf[..digits].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&buf[..digits]);
    }
    out.extend_from_slice(b"Z\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_what_serde_json_writes() {
        for s in [
            "",
            "plain.txt",
            "r\u{e9}sum\u{e9} \u{1f600}.md",
            "quote\" and back\\slash",
            "tab\tnew\nline\u{0}\u{1f}\u{7f}",
            "</script>",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn times_are_what_chrono_writes() {
        let mut cases: Vec<DateTime<Utc>> = vec![
            DateTime::from_timestamp(0, 0).unwrap(),
            DateTime::from_timestamp(1_780_000_000, 123_456_000).unwrap(),
            DateTime::from_timestamp(1_780_000_000, 120_000_000).unwrap(),
            DateTime::from_timestamp(1_780_000_000, 1).unwrap(),
            DateTime::from_timestamp(1_780_000_000, 999_999_999).unwrap(),
            DateTime::from_timestamp(1_780_000_079, 1_500_000_000).unwrap(),
            DateTime::from_timestamp_micros(-62_135_596_800_000_000).unwrap(),
            DateTime::from_timestamp_micros(253_402_300_799_999_999).unwrap(),
            DateTime::from_timestamp(-62_135_596_801, 0).unwrap(),
            DateTime::from_timestamp(253_402_300_800, 0).unwrap(),
        ];
        // A spread of instants over the years 0–9999, at each precision.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 315_537_897_600) as i64 - 62_167_219_200;
            let nanos = match x % 4 {
                0 => 0,
                1 => (x >> 8) as u32 % 1000 * 1_000_000,
                2 => (x >> 8) as u32 % 1_000_000 * 1000,
                _ => (x >> 8) as u32 % 1_000_000_000,
            };
            cases.push(DateTime::from_timestamp(secs, nanos).unwrap());
        }
        for t in cases {
            let mut out = Vec::new();
            time(&mut out, &t);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&t).unwrap()
            );
        }
    }

    #[test]
    fn uuids_are_what_serde_json_writes() {
        let id = Uuid::new_v4();
        let mut out = Vec::new();
        uuid(&mut out, &id);
        assert_eq!(out, serde_json::to_vec(&id).unwrap());
    }
}
