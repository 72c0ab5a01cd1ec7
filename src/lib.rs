//! clerk-fauna: fresh Clerk session tokens for every Fauna request.
//!
//! The public API, as JS sees it:
//! - `TokenCache(getToken, options?)`: `get`, `peek`, `claims`, `invalidate`,
//!   `clear`, `stats`;
//! - `FaunaClient(tokens, options?)`: `query` (FQL v10), `queryV4`,
//!   `currentIdentity`, `graphql`, `fetch`, `lastTxnTs`;
//! - `decodeJwt(token)`, `diagnose(token, options?)`;
//! - `ClerkFaunaError`, with a stable `code`.
//!
//! [`core`] holds every decision in plain Rust; `glue` (wasm32 only) is the
//! thin JS layer over it.

pub mod core;

#[cfg(target_arch = "wasm32")]
mod glue;

// Smaller than dlmalloc in the module, and faster.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(target_arch = "wasm32")]
pub use glue::{decode_jwt, diagnose, FaunaClient, TokenCache};
