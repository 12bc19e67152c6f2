//! Percent-decoding (RFC 3986 §2.1): one escape reader shared by every decoder in the gateway.
//!
//! Two decoders that read the same escape differently are a bypass waiting to happen (one
//! check sees `/`, the next sees `%2F`), so the gateway reads `%XX` (hex digits in either
//! case) and IIS's non-standard `%uXXXX` in exactly one place, and its callers only choose a
//! policy for what is not a plain escape:
//!
//! - [`decode_strictly`] fails on a malformed escape and on an escape of a byte the caller
//!   names as structural: for the path `skip_auth` patterns match, which must be the one
//!   path every server reads.
//! - [`decode`] and [`decode_keeping`] keep a malformed escape as written, as servers do:
//!   for seeing what a server would read, at every decoding layer.
//! - [`decode_with_iis`] also decodes `%uXXXX` (`%u002e` is `.` to IIS): for the checks that
//!   must see what the most lenient server would read.

/// Decodes `%XX` escapes once; a malformed escape (`%zz`, `%4`, a final `%`) is kept as written.
pub(crate) fn decode(input: &[u8]) -> Vec<u8> {
    decode_leniently(input, b"", false)
}

/// [`decode`], except that escapes of the bytes in `kept` stay as written (`%2F` stays `%2F`
/// with `kept = b"/"`): the path as a server that does not decode them reads it.
pub(crate) fn decode_keeping(input: &[u8], kept: &[u8]) -> Vec<u8> {
    decode_leniently(input, kept, false)
}

/// [`decode`], plus IIS's `%uXXXX` escapes (`u` in either case; four hex digits naming a
/// Unicode scalar value, written out as UTF-8). `%u` not followed by one is kept as written.
pub(crate) fn decode_with_iis(input: &[u8]) -> Vec<u8> {
    decode_leniently(input, b"", true)
}

/// Decodes `%XX` escapes once; `None` for a malformed escape (including `%uXXXX`, which is no
/// escape in RFC 3986) or an escape of one of the bytes in `refused`.
pub(crate) fn decode_strictly(input: &[u8], refused: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let (value, after) =
                escaped_byte(tail).filter(|(value, _)| !refused.contains(value))?;
            out.push(value);
            rest = after;
        } else {
            out.push(byte);
            rest = tail;
        }
    }
    Some(out)
}

fn decode_leniently(input: &[u8], kept: &[u8], iis: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            if let Some((value, after)) = escaped_byte(tail).filter(|(v, _)| !kept.contains(v)) {
                out.push(value);
                rest = after;
                continue;
            }
            if let Some((ch, after)) = iis.then(|| iis_escape(tail)).flatten() {
                let mut buffer = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buffer).as_bytes());
                rest = after;
                continue;
            }
        }
        out.push(byte);
        rest = tail;
    }
    out
}

/// The byte of a `%XX` escape, given what follows the `%`, and the input after it.
fn escaped_byte(after_percent: &[u8]) -> Option<(u8, &[u8])> {
    match after_percent {
        [high, low, after @ ..] => Some((hex_digit(*high)? << 4 | hex_digit(*low)?, after)),
        _ => None,
    }
}

/// The character of an IIS `%uXXXX` escape, given what follows the `%`, and the input after
/// it; `None` when the four digits are not hex or name a surrogate.
fn iis_escape(after_percent: &[u8]) -> Option<(char, &[u8])> {
    match after_percent {
        [b'u' | b'U', a, b, c, d, after @ ..] => {
            let code = [a, b, c, d].iter().try_fold(0u32, |acc, digit| {
                Some(acc << 4 | u32::from(hex_digit(**digit)?))
            })?;
            Some((char::from_u32(code)?, after))
        }
        _ => None,
    }
}

/// The value of an ASCII hex digit, either case.
fn hex_digit(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests;
