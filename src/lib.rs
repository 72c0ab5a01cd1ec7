//! clerk-fauna: fresh Clerk session tokens for every Fauna request.
//!
//! - [`core`]: the policy (token freshness, single-flight bookkeeping, request
//!   building, answer classification, backoff), pure Rust.
//! - `glue` (wasm32 only): the JS API, `TokenCache`, `FaunaClient`,
//!   `decodeJwt` and `ClerkFaunaError`, a thin layer over the core.

pub mod core;
