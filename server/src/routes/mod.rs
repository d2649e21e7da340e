//! HTTP handlers, one module per area, plus the opaque keyset cursor shared by the lists.

pub mod anon;
pub mod files;
pub mod memory;
pub mod ops;
pub mod search;
pub mod upload;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::AppError;

/// 0001-01-01T00:00:00Z in microseconds since the Unix epoch.
const CURSOR_MIN_MICROS: i64 = -62_135_596_800_000_000;
/// 9999-12-31T23:59:59.999999Z in microseconds since the Unix epoch.
const CURSOR_MAX_MICROS: i64 = 253_402_300_799_999_999;

/// Position after the last item of a page: (created_at, id), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `created_at` of the last item.
    pub created_at: DateTime<Utc>,
    /// `id` of the last item (tie-breaker).
    pub id: Uuid,
}

impl Cursor {
    /// Opaque base64url text.
    pub fn encode(&self) -> String {
        let raw = format!("{}.{}", self.created_at.timestamp_micros(), self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses a cursor produced by [`Cursor::encode`]; anything else is `invalid_cursor`.
    pub fn decode(text: &str) -> Result<Cursor, AppError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| AppError::InvalidCursor)?;
        let raw = String::from_utf8(raw).map_err(|_| AppError::InvalidCursor)?;
        let (micros, id) = raw.split_once('.').ok_or(AppError::InvalidCursor)?;
        let micros: i64 = micros.parse().map_err(|_| AppError::InvalidCursor)?;
        // Rows are stamped by `now()`, so a real cursor lies in years 1-9999; a forged one
        // outside PostgreSQL's timestamptz range would fail the bind or the query instead.
        if !(CURSOR_MIN_MICROS..=CURSOR_MAX_MICROS).contains(&micros) {
            return Err(AppError::InvalidCursor);
        }
        Ok(Cursor {
            created_at: DateTime::from_timestamp_micros(micros).ok_or(AppError::InvalidCursor)?,
            id: Uuid::parse_str(id).map_err(|_| AppError::InvalidCursor)?,
        })
    }
}

/// Checks a page size: `None` → `default`, else within `1..=max`.
pub fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, AppError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(AppError::Validation(
            format!("limit must be between 1 and {max}, got {n}."),
            format!("Pass a limit from 1 to {max}, or omit it for {default}."),
        )),
    }
}

/// Cuts rows fetched with `LIMIT limit + 1` down to one page and returns the cursor after its
/// last row; `None` when the extra row was not there, i.e. on the last page.
pub fn next_cursor<T>(
    rows: &mut Vec<T>,
    limit: i64,
    position: impl Fn(&T) -> Cursor,
) -> Option<String> {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|row| position(row).encode())
    } else {
        None
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
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let id = Uuid::new_v4();
        let b64 = |raw: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let far_past = b64(format!("{}.{id}", i64::MIN));
        let far_future = b64(format!("{}.{id}", CURSOR_MAX_MICROS + 1));
        let before_year_one = b64(format!("{}.{id}", CURSOR_MIN_MICROS - 1));
        let overflow = b64(format!("99999999999999999999999.{id}"));
        for edge in [CURSOR_MIN_MICROS, CURSOR_MAX_MICROS] {
            let c = Cursor::decode(&b64(format!("{edge}.{id}"))).unwrap();
            assert_eq!(c.created_at.timestamp_micros(), edge);
        }
        for bad in [
            "",
            "!!!",
            "bm90LWEtY3Vyc29y",
            "MTIzLm5vdC1hLXV1aWQ",
            "bm90IGJhc2U2NA==",
            &far_past,
            &far_future,
            &before_year_one,
            &overflow,
        ] {
            assert!(
                matches!(Cursor::decode(bad), Err(AppError::InvalidCursor)),
                "{bad}"
            );
        }
    }

    #[test]
    fn page_limits_are_bounded() {
        assert_eq!(page_limit(None, 50, 100).unwrap(), 50);
        assert_eq!(page_limit(Some(100), 50, 100).unwrap(), 100);
        assert!(page_limit(Some(0), 50, 100).is_err());
        assert!(page_limit(Some(101), 50, 100).is_err());
    }
}
