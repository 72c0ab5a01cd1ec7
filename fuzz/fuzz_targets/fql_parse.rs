//! Any query text sent to the Fauna stand-in: lexing and parsing never
//! panic; a query either parses or gets an error message.
#![no_main]

use clerk_fauna_devserver::fauna::fql::parser::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|query: &str| {
    if let Err(e) = parse(query) {
        assert!(!e.to_string().is_empty());
    }
});
