//! WebSocket framing for `ws_bench` (RFC 6455 §5.2): frames encoded and read, masks applied,
//! and the handshake's accept value (§4.2.2).

use anyhow::{anyhow, ensure};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt as _};

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// RFC 6455 §5.2 opcodes.
pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;
/// The echo server refuses frames larger than this (a bench sends tens of bytes).
const MAX_PAYLOAD: usize = 1 << 20;

pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    pub(crate) masked: bool,
    /// Unmasked.
    pub(crate) payload: Vec<u8>,
}

fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    for (byte, key) in data.iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// One final frame; masked (as a client must send, §5.3) when `mask` is given.
pub(crate) fn encode_frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match (u8::try_from(payload.len()), u16::try_from(payload.len())) {
        (Ok(len), _) if len < 126 => frame.push(mask_bit | len),
        (_, Ok(len)) => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&len.to_be_bytes());
        }
        _ => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
    }
    let start = frame.len();
    frame.extend_from_slice(payload);
    if let Some(mask) = mask {
        frame.splice(start..start, mask);
        if let Some(body) = frame.get_mut(start + 4..) {
            apply_mask(body, mask);
        }
    }
    frame
}

pub(crate) async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> anyhow::Result<Frame> {
    let [b0, b1] = {
        let mut head = [0u8; 2];
        reader.read_exact(&mut head).await?;
        head
    };
    ensure!(
        b0 & 0x70 == 0,
        "reserved bits set, but no extension was negotiated"
    );
    let opcode = b0 & 0x0f;
    let masked = b1 & 0x80 != 0;
    let len = match b1 & 0x7f {
        126 => u64::from(reader.read_u16().await?),
        127 => reader.read_u64().await?,
        len => u64::from(len),
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_PAYLOAD)
        .ok_or_else(|| anyhow!("a frame of {len} bytes, over {MAX_PAYLOAD}"))?;
    let mut mask = [0u8; 4];
    if masked {
        reader.read_exact(&mut mask).await?;
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).await?;
    if masked {
        apply_mask(&mut payload, mask);
    }
    Ok(Frame {
        fin: b0 & 0x80 != 0,
        opcode,
        masked,
        payload,
    })
}

/// §4.2.2 item 5.4: base64 of the SHA-1 of the key followed by the GUID.
pub(crate) fn websocket_accept(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}
