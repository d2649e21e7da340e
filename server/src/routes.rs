//! HTTP handlers, one module per area, plus the opaque keyset cursor shared by the lists.

pub mod anon;
pub mod files;
pub mod memory;
pub mod ops;
mod page;
pub mod search;
pub mod upload;

#[cfg(test)]
mod shape_tests;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::AppError;
use crate::validate::PageSize;

pub use page::{Listed, Page};

/// 0001-01-01T00:00:00Z in microseconds since the Unix epoch.
const CURSOR_MIN_MICROS: i64 = -62_135_596_800_000_000;
/// 9999-12-31T23:59:59.999999Z in microseconds since the Unix epoch.
const CURSOR_MAX_MICROS: i64 = 253_402_300_799_999_999;
/// Characters of a cursor: base64url of 24 bytes, which needs no padding and no spare bits.
pub const CURSOR_LEN: usize = 32;
/// JSON Schema `pattern` of a cursor. Every string it matches is a position ([`Cursor::decode`]).
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{32}$";

/// Position after the last item of a page: (created_at, id), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `created_at` of the last item.
    pub created_at: DateTime<Utc>,
    /// `id` of the last item (tie-breaker).
    pub id: Uuid,
}

impl Cursor {
    /// Opaque base64url text of the position's 24 bytes: `created_at` in µs (big-endian i64),
    /// then the id.
    pub fn encode(&self) -> String {
        let mut raw = [0u8; 24];
        raw[..8].copy_from_slice(&self.created_at.timestamp_micros().to_be_bytes());
        raw[8..].copy_from_slice(self.id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor. Any [`CURSOR_LEN`] characters of the base64url alphabet (what the spec's
    /// [`CURSOR_PATTERN`] admits) are a position: every 24 bytes are a time and an id, and a
    /// time outside years 1-9999 is clamped to them (PostgreSQL's `timestamptz` or the driver
    /// would refuse it with a 500; rows are stamped by `now()`, so clamping skips nothing).
    /// Anything else is `invalid_cursor`.
    pub fn decode(text: &str) -> Result<Cursor, AppError> {
        if text.len() != CURSOR_LEN {
            return Err(AppError::InvalidCursor);
        }
        let raw: [u8; 24] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| AppError::InvalidCursor)?
            .try_into()
            .map_err(|_| AppError::InvalidCursor)?;
        let (micros, id) = raw.split_at(8);
        let micros = i64::from_be_bytes(micros.try_into().expect("8 bytes"))
            .clamp(CURSOR_MIN_MICROS, CURSOR_MAX_MICROS);
        Ok(Cursor {
            created_at: DateTime::from_timestamp_micros(micros).ok_or(AppError::InvalidCursor)?,
            id: Uuid::from_slice(id).map_err(|_| AppError::InvalidCursor)?,
        })
    }
}

/// Checks a page size: `None` → the default, else within `1..=max`.
pub fn page_limit(limit: Option<i64>, size: PageSize) -> Result<i64, AppError> {
    let PageSize { default, max } = size;
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(AppError::Validation(
            format!("limit must be between 1 and {max}, got {n}."),
            format!("Pass a limit from 1 to {max}, or omit it for {default}."),
        )),
    }
}

/// A `201 Created` naming the new resource in `Location`, with its JSON description as the body.
pub fn created(location: String, body: impl Serialize) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        let text = c.encode();
        assert_eq!(text.len(), CURSOR_LEN);
        assert_eq!(Cursor::decode(&text).unwrap(), c);
        for bad in [
            "",
            "!!!",
            "bm90LWEtY3Vyc29y",
            "MTIzLm5vdC1hLXV1aWQ",
            "bm90IGJhc2U2NA==",
            &text[1..],
            &format!("{text}A"),
            &format!("{}=", &text[..31]),
            &format!("{}+", &text[..31]),
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(AppError::InvalidCursor)),
                "{bad}"
            );
        }
    }

    /// What the spec admits, the handler reads: any 32 base64url characters, the time clamped
    /// to years 1-9999.
    #[test]
    fn every_cursor_the_pattern_admits_is_a_position() {
        let b64 = |raw: [u8; 24]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let at = |micros: i64| {
            let mut raw = [0xab; 24];
            raw[..8].copy_from_slice(&micros.to_be_bytes());
            Cursor::decode(&b64(raw))
                .unwrap()
                .created_at
                .timestamp_micros()
        };
        assert_eq!(at(i64::MIN), CURSOR_MIN_MICROS);
        assert_eq!(at(CURSOR_MIN_MICROS - 1), CURSOR_MIN_MICROS);
        assert_eq!(at(i64::MAX), CURSOR_MAX_MICROS);
        assert_eq!(at(CURSOR_MAX_MICROS), CURSOR_MAX_MICROS);
        assert_eq!(at(0), 0);
        for text in [
            "00000000000000000000000000000000",
            "________________________________",
            "-_-_AZaz09-_-_AZaz09-_-_AZaz09zz",
        ] {
            assert!(Cursor::decode(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn page_limits_are_bounded() {
        use crate::validate::LIST_PAGE;
        assert_eq!(page_limit(None, LIST_PAGE).unwrap(), 50);
        assert_eq!(page_limit(Some(100), LIST_PAGE).unwrap(), 100);
        assert!(page_limit(Some(0), LIST_PAGE).is_err());
        assert!(page_limit(Some(101), LIST_PAGE).is_err());
    }
}
