//! The pure core: every decision of the library, with no JS in it. Driven by
//! plain values (an injected clock reading, a token string, an answer's status
//! and code) and tested natively with `cargo test`.

pub mod backoff;
pub mod base64url;
pub mod classify;
pub mod error;
pub mod freshness;
pub mod jwt;
pub mod options;
pub mod request;
pub mod stream;
pub mod text;
pub mod token_store;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties;
