//! Integration tests of gonogo-reports: one binary, one module per concern.

mod attest;
mod chromium;
mod compare;
mod github;
mod html;
mod junit;
mod markdown;
mod redact;
mod schema;
mod signoff;
mod write;
