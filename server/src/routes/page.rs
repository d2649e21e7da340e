//! One page of a keyset list (`GET /api/v1/knowledge/files`, `GET /api/v1/memory`): the items,
//! newest first, and the cursor after the last of them. Its OpenAPI schema keeps each list's
//! own name (`FilePage`, `MemoryPage`), so the published document does not change with it.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::Cursor;

/// A page of `T`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// Newest first.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// What a page of a list is called in the OpenAPI document.
pub trait Listed: ToSchema {
    /// The page's schema name, e.g. `FilePage`.
    const PAGE: &'static str;
    /// The page's description, e.g. `A page of files.`
    const DESCRIPTION: &'static str;
}

impl<T> Page<T> {
    /// Cuts rows fetched with `LIMIT limit + 1` down to one page, with the cursor after its last
    /// row; no cursor when the extra row was not there, i.e. on the last page.
    pub fn cut(mut rows: Vec<T>, limit: i64, position: impl Fn(&T) -> Cursor) -> Page<T> {
        let next_cursor = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|row| position(row).encode())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with each item turned into a `U`, or the first error.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next_cursor: self.next_cursor,
        })
    }
}

impl<T: Listed> PartialSchema for Page<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "items",
                ArrayBuilder::new()
                    .items(RefOr::Ref(Ref::from_schema_name(T::name())))
                    .description(Some("Newest first.")),
            )
            .required("items")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(
                        [Type::String, Type::Null]
                            .into_iter()
                            .collect::<utoipa::openapi::schema::SchemaType>(),
                    )
                    .description(Some(
                        "Pass as `cursor` for the next page; `null` on the last page.",
                    )),
            )
            .description(Some(T::DESCRIPTION))
            .into()
    }
}

impl<T: Listed> ToSchema for Page<T> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(T::PAGE)
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn at(n: u128) -> Cursor {
        Cursor {
            created_at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            id: Uuid::from_u128(n),
        }
    }

    #[test]
    fn a_page_is_cut_at_its_limit_with_the_cursor_of_its_last_item() {
        let full = Page::cut(vec![1, 2, 3], 2, |n| at(*n));
        assert_eq!(full.items, [1, 2]);
        assert_eq!(full.next_cursor, Some(at(2).encode()));
        let last = Page::cut(vec![1, 2], 2, |n| at(*n));
        assert_eq!((last.items, last.next_cursor), (vec![1, 2], None));
    }
}
