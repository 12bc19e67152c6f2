//! Authenticated encryption of cookie values with AES-256-GCM (RustCrypto `aes-gcm`).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;

const NONCE_LEN: usize = 12;

/// Seals and opens cookie values. The first key encrypts; every key (current, then
/// `previous_secrets`) is tried to decrypt, so a secret can be rotated without signing
/// everyone out.
#[derive(Clone)]
pub struct SessionCodec {
    keys: Vec<Aes256Gcm>,
}

impl std::fmt::Debug for SessionCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionCodec({} keys, [redacted])", self.keys.len())
    }
}

impl SessionCodec {
    /// Derives one AES-256 key per secret with HKDF-SHA256 (RFC 5869).
    pub fn new(current: &[u8], previous: &[&[u8]]) -> SessionCodec {
        let keys = std::iter::once(current)
            .chain(previous.iter().copied())
            .map(|secret| Aes256Gcm::new(&derive_key(secret)))
            .collect();
        SessionCodec { keys }
    }

    /// Encrypts `plaintext`, binding `purpose` as associated data.
    pub fn seal(&self, purpose: &[u8], plaintext: &[u8]) -> String {
        let Some(cipher) = self.keys.first() else {
            return String::new();
        };
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext,
            aad: purpose,
        };
        // Encryption with a valid key and a fresh nonce only fails for plaintexts beyond
        // AES-GCM's 64 GiB limit; cookies are a few kilobytes.
        let ciphertext = cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// Decrypts a value from [`seal`](Self::seal); `None` when it was tampered with,
    /// truncated, sealed for another purpose or with an unknown secret.
    pub fn open(&self, purpose: &[u8], sealed: &str) -> Option<Vec<u8>> {
        self.open_keyed(purpose, sealed)
            .map(|(plaintext, _)| plaintext)
    }

    /// Like [`open`](Self::open), also telling whether the current secret opened it (`false`:
    /// one of `previous_secrets` did, and the value should be sealed again).
    pub fn open_keyed(&self, purpose: &[u8], sealed: &str) -> Option<(Vec<u8>, bool)> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::from_slice(nonce);
        self.keys.iter().enumerate().find_map(|(index, cipher)| {
            cipher
                .decrypt(
                    nonce,
                    Payload {
                        msg: ciphertext,
                        aad: purpose,
                    },
                )
                .ok()
                .map(|plaintext| (plaintext, index == 0))
        })
    }
}

fn derive_key(secret: &[u8]) -> Key<Aes256Gcm> {
    let hkdf = Hkdf::<Sha256>::new(Some(b"portcullis"), secret);
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand cannot fail.
    let _ = hkdf.expand(b"portcullis cookie encryption v1", &mut key);
    key.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> SessionCodec {
        SessionCodec::new(&[7u8; 32], &[])
    }

    #[test]
    fn round_trips() {
        let sealed = codec().seal(b"p", b"hello");
        assert_eq!(codec().open(b"p", &sealed).as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(codec().seal(b"p", b"x"), codec().seal(b"p", b"x"));
    }

    #[test]
    fn rejects_other_purpose() {
        let sealed = codec().seal(b"session", b"hello");
        assert_eq!(codec().open(b"flow", &sealed), None);
    }

    #[test]
    fn rejects_every_single_byte_change() {
        let sealed = codec().seal(b"p", b"some session data");
        let bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                codec().open(b"p", &URL_SAFE_NO_PAD.encode(&tampered)),
                None,
                "byte {i}"
            );
        }
    }

    #[test]
    fn rejects_truncation_and_garbage() {
        let sealed = codec().seal(b"p", b"some session data");
        for len in [0, 1, 10, 16, sealed.len() - 1] {
            assert_eq!(codec().open(b"p", &sealed[..len]), None, "len {len}");
        }
        assert_eq!(codec().open(b"p", "%%%not base64%%%"), None);
    }

    #[test]
    fn rejects_foreign_secret() {
        let sealed = SessionCodec::new(&[1u8; 32], &[]).seal(b"p", b"x");
        assert_eq!(codec().open(b"p", &sealed), None);
    }

    #[test]
    fn previous_secrets_still_open() {
        let old = [1u8; 32];
        let sealed = SessionCodec::new(&old, &[]).seal(b"p", b"x");
        let rotated = SessionCodec::new(&[2u8; 32], &[&old]);
        assert_eq!(rotated.open(b"p", &sealed).as_deref(), Some(&b"x"[..]));
        assert_eq!(
            rotated
                .open_keyed(b"p", &sealed)
                .map(|(_, current)| current),
            Some(false)
        );
        let fresh = rotated.seal(b"p", b"y");
        assert_eq!(
            rotated.open_keyed(b"p", &fresh).map(|(_, current)| current),
            Some(true)
        );
        assert_eq!(SessionCodec::new(&old, &[]).open(b"p", &fresh), None);
    }
}
