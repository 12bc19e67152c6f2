//! Names of the store's entries: SHA-256 of what they are about, so that neither a Redis dump
//! nor a log of keys shows a session id, a `sid` or a `sub`.

use sha2::{Digest, Sha256};

/// Lower-case hex of SHA-256 over `parts`, each length-prefixed so that no two lists of parts
/// hash alike.
pub(crate) fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

/// What ties a sealed token to one browser: a cookie value of that browser, hashed (128 bits
/// of SHA-256, base64url), so the token names the cookie without carrying it.
pub(crate) fn cookie_binding(cookie: &str) -> String {
    use base64::Engine as _;
    let digest = Sha256::digest(cookie.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(digest.first_chunk::<16>().copied().unwrap_or_default())
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    // Not `format!` per byte: the Redis store names a session's key by a digest on every
    // request, and formatting a digest's 32 bytes took some 17k instructions.
    // `from_digit` of a nibble is always a digit (lower case past 9); never the fallback.
    let digit = |nibble: u8| char::from_digit(u32::from(nibble), 16).unwrap_or('0');
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(digit(byte >> 4));
        text.push(digit(byte & 0xf));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_kept_apart() {
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]));
        assert_eq!(digest(&[b"x"]).len(), 64);
    }

    #[test]
    fn hex_writes_every_byte_as_two_lower_case_digits() {
        let all: Vec<u8> = (0..=255).collect();
        let formatted: String = all.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(hex(&all), formatted);
        assert_eq!(hex(&[]), "");
    }
}
