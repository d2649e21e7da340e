//! HTTP serving plumbing shared by the reference server (`knowledge-server`) and
//! `gonogo serve`: what any axum server of this workspace needs below its routes.
//!
//! - [`listen`]: HTTP/1.1 over a listener with a header-read timeout, an optional connection
//!   cap and graceful shutdown (in-flight requests finish).
//! - [`problem`]: RFC 9457 responses (`application/problem+json`), and turning the bare error
//!   responses axum makes itself (404, 405, 413, ...) into problems.
//! - [`bearer`]: the token of an `Authorization: Bearer …` header.
//! - [`panic_message`]: the text of a caught panic.
//!
//! A leaf crate: it knows no crate of this workspace, and each server keeps its own error
//! codes, body shape and checks. The suites never depend on it: they judge the server from
//! outside (`harness/tests/module_graph.rs` holds them to that).

mod auth;
mod listen;
mod problem;

pub use auth::{bearer, BearerError};
pub use listen::{as_is, listen, ListenOptions, PerRequest};
pub use problem::{is_deliberate, problem_json, problemize, PROBLEM_JSON};

/// The message of a caught panic (`panic!("…")` carries a `&str` or a `String`); `None` for
/// any other payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let caught = |f: fn()| std::panic::catch_unwind(f).unwrap_err();
        let literal = caught(|| panic!("plain"));
        let formatted = caught(|| panic!("formatted {}", 7));
        let other = caught(|| std::panic::panic_any(7_u8));
        assert_eq!(panic_message(literal.as_ref()), Some("plain"));
        assert_eq!(panic_message(formatted.as_ref()), Some("formatted 7"));
        assert_eq!(panic_message(other.as_ref()), None);
    }
}
