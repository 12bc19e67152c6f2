//! Splitting header field values where the session cookie travels: the `Cookie` field is a
//! kilobyte or more on nearly every request, so it is searched a word at a time (`memchr`)
//! rather than a byte at a time.

/// `value.split(|&byte| byte == b';')`, searching with `memchr`.
pub(crate) fn split_at_semicolons(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b';', current) {
            Some(at) => {
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same pieces as `<[u8]>::split`, for every value of up to ten bytes over `a`, `;`
    /// and ` `.
    #[test]
    fn values_split_as_slices_split() {
        const ALPHABET: [u8; 3] = [b'a', b';', b' '];
        for len in 0..=10u32 {
            for n in 0..ALPHABET.len().pow(len) {
                let mut rest = n;
                let value: Vec<u8> = (0..len)
                    .map(|_| {
                        let byte = ALPHABET[rest % ALPHABET.len()];
                        rest /= ALPHABET.len();
                        byte
                    })
                    .collect();
                let ours: Vec<&[u8]> = split_at_semicolons(&value).collect();
                let theirs: Vec<&[u8]> = value.split(|&byte| byte == b';').collect();
                assert_eq!(ours, theirs, "{value:?}");
            }
        }
    }
}
