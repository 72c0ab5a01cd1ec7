//! Any text as a token: decoding never panics, and a token that decodes is
//! safe to put in an `Authorization` header.
#![no_main]

use clerk_fauna::core::jwt::{decode, serde_reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|token: &str| {
    if let Ok(decoded) = decode(token, serde_reader::read) {
        assert!(token.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert!(serde_json::from_slice::<serde_json::Value>(&decoded.payload_json).is_ok());
    }
});
