//! clerk-fauna: fresh Clerk session tokens for every Fauna request.
//!
//! [`core`] holds every decision in plain Rust: the token cache's state
//! machine, JWT decoding, requests, what an answer means. In WebAssembly,
//! `exports` lays it out as plain-data, synchronous functions (declared in
//! `ts/core.ts`) for the TypeScript layer that is the public API.

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod exports;

// Smaller than dlmalloc in the module, and faster. Memory the module grows
// by becomes a heap of its own rather than extending the last one: 50 B
// smaller gzipped, for a little fragmentation in a heap that rarely grows.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::cell::TalcSyncCell<talc::wasm::WasmGrowAndClaim, talc::wasm::WasmBinning> =
    talc::cell::TalcSyncCell::new_wasm(talc::wasm::WasmGrowAndClaim);
