//! Numbers as text without `core::fmt`: formatting machinery would be most of
//! the WebAssembly module's size, for a handful of integers.

/// `n` in decimal.
pub fn uint(n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[i..].iter().map(|&d| d as char).collect()
}

/// `n` in decimal, with a sign when negative.
pub fn int(n: i64) -> String {
    if n < 0 {
        ["-", &uint(n.unsigned_abs())].concat()
    } else {
        uint(n as u64)
    }
}

/// `text` split at the first `byte` (an ASCII byte, so both halves are
/// whole characters). Byte-wise on purpose: `str`'s char patterns bring a
/// UTF-8 searcher into the module.
pub fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let i = text.bytes().position(|b| b == byte)?;
    Some((&text[..i], &text[i + 1..]))
}

/// `text` without trailing `byte`s (ASCII).
pub fn trim_end_byte(text: &str, byte: u8) -> &str {
    let mut kept = text.len();
    while kept > 0 && text.as_bytes()[kept - 1] == byte {
        kept -= 1;
    }
    &text[..kept]
}

pub fn boolean(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_display() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            5000,
            600_000,
            1_700_000_000_123_456,
            u64::MAX,
        ] {
            assert_eq!(uint(n), n.to_string());
        }
        for n in [0, -1, 42, -60, i64::MIN, i64::MAX] {
            assert_eq!(int(n), n.to_string());
        }
        assert_eq!((boolean(true), boolean(false)), ("true", "false"));
    }

    #[test]
    fn splits_and_trims_at_ascii_bytes() {
        assert_eq!(split_at_byte("a.b.c", b'.'), Some(("a", "b.c")));
        assert_eq!(split_at_byte(".", b'.'), Some(("", "")));
        assert_eq!(split_at_byte("é.ü", b'.'), Some(("é", "ü")));
        assert_eq!(split_at_byte("abc", b'.'), None);
        assert_eq!(trim_end_byte("https://x//", b'/'), "https://x");
        assert_eq!(trim_end_byte("///", b'/'), "");
        assert_eq!(trim_end_byte("é/", b'/'), "é");
        assert_eq!(trim_end_byte("", b'/'), "");
    }
}
