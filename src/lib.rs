//! clerk-fauna: fresh Clerk session tokens for every Fauna request.
//!
//! [`core`] holds every decision in plain Rust: the token cache's state
//! machine, JWT decoding, requests, what an answer means. In WebAssembly,
//! `exports` lays it out as plain-data, synchronous functions (declared in
//! `ts/core.ts`) for the TypeScript layer that is the public API.

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod exports;

// Smaller than dlmalloc in the module, and faster.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
