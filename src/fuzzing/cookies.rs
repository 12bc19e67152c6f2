//! The `session_cookie` and `flow_cookie` targets: sealing and opening the gateway's cookies
//! with the current, a retired and a foreign secret, and tampered values.

use std::sync::OnceLock;

use super::outcome::{ensure, Outcome, Violation};
use crate::flow::FlowState;
use crate::session::{Session, SessionCodec, SESSION_PURPOSE};

/// The secret the fuzzed gateway seals with; the corpora hold real cookies sealed with it.
pub const SECRET: &[u8; 32] = b"portcullis fuzzing secret, 32 b.";
/// A secret rotated out: still accepted for opening.
pub const PREVIOUS_SECRET: &[u8; 32] = b"portcullis previous secret, 32 b";
/// Another gateway's secret: never accepted.
const FOREIGN_SECRET: &[u8; 32] = b"another gateway's secret, 32 b..";
/// "Now" for cookies opened from the corpus (2027-01-15).
pub const NOW: u64 = 1_800_000_000;

fn codec() -> &'static SessionCodec {
    static CODEC: OnceLock<SessionCodec> = OnceLock::new();
    CODEC.get_or_init(|| SessionCodec::new(SECRET, &[PREVIOUS_SECRET]))
}

fn previous_codec() -> &'static SessionCodec {
    static CODEC: OnceLock<SessionCodec> = OnceLock::new();
    CODEC.get_or_init(|| SessionCodec::new(PREVIOUS_SECRET, &[]))
}

fn foreign_codec() -> &'static SessionCodec {
    static CODEC: OnceLock<SessionCodec> = OnceLock::new();
    CODEC.get_or_init(|| SessionCodec::new(FOREIGN_SECRET, &[]))
}

/// Seals a session the way the gateway does, for seeding the corpus.
pub fn seal_session(session: &Session) -> Option<String> {
    session.seal(codec()).ok()
}

/// Seals a flow cookie's JSON the way the gateway does, for seeding the corpus; `None` when
/// it is not a flow state.
pub fn seal_flow(json: &[u8]) -> Option<String> {
    serde_json::from_slice::<FlowState>(json)
        .ok()?
        .seal(codec())
        .ok()
}

/// A purpose of no cookie of the gateway's.
const OTHER_PURPOSE: &[u8] = b"portcullis fuzzing: no cookie's purpose";

/// The session cookie. The input is read three ways:
/// - as a cookie value: opening it never panics, and a session cookie never also opens as a
///   flow cookie; what opens seals and opens again to the same session;
/// - as a session's JSON: sealing then opening gives the same session, unexpired exactly while
///   `issued_at - 60 s <= now < expires_at`; a flipped bit, a cut or another secret opens
///   nothing;
/// - as plaintext for the codec: the same for the bytes themselves.
pub fn session_cookie(data: &[u8]) -> Outcome {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(session) = Session::open(codec(), text, NOW) {
            ensure(FlowState::open(codec(), text).is_none(), || {
                "a cookie opened both as a session and as a flow".to_owned()
            })?;
            session_round_trip(&session)?;
        }
    }
    if let Ok(session) = serde_json::from_slice::<Session>(data) {
        session_round_trip(&session)?;
    }
    codec_round_trip(SESSION_PURPOSE, OTHER_PURPOSE, data)
}

/// The flow cookie, read the same three ways as [`session_cookie`], with `FlowState` in
/// place of the session: what opens as a flow never opens as a session, seals and opens
/// again to the same flow; a value sealed for sessions never opens as a flow.
pub fn flow_cookie(data: &[u8]) -> Outcome {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(flow) = FlowState::open(codec(), text) {
            ensure(codec().open(SESSION_PURPOSE, text).is_none(), || {
                "a cookie opened both as a flow and as a session".to_owned()
            })?;
            ensure(Session::open(codec(), text, NOW).is_none(), || {
                "a flow cookie opened as a session".to_owned()
            })?;
            flow_round_trip(&flow)?;
        }
    }
    if let Ok(flow) = serde_json::from_slice::<FlowState>(data) {
        flow_round_trip(&flow)?;
    }
    let as_session = codec().seal(SESSION_PURPOSE, data);
    ensure(FlowState::open(codec(), &as_session).is_none(), || {
        "a value sealed for sessions opened as a flow".to_owned()
    })?;
    codec_round_trip(OTHER_PURPOSE, SESSION_PURPOSE, data)
}

fn session_round_trip(session: &Session) -> Outcome {
    let expected = serde_json::to_value(session).map_err(|err| Violation(err.to_string()))?;
    let sealed = session
        .seal(codec())
        .map_err(|err| Violation(format!("a session did not seal: {err}")))?;
    check_cookie_safe(&sealed)?;
    let valid_at =
        |now: u64| now < session.expires_at && session.issued_at <= now.saturating_add(60);
    let instants = [
        NOW,
        session.expires_at.saturating_sub(1),
        session.expires_at,
        session.issued_at.saturating_sub(60),
        session.issued_at.saturating_sub(61),
    ];
    for now in instants {
        let opened = Session::open(codec(), &sealed, now);
        ensure(opened.is_some() == valid_at(now), || {
            format!(
                "a session issued at {} expiring at {} {} at {now}",
                session.issued_at,
                session.expires_at,
                if opened.is_some() {
                    "opened"
                } else {
                    "did not open"
                },
            )
        })?;
        if let Some(opened) = opened {
            let got = serde_json::to_value(&opened).map_err(|err| Violation(err.to_string()))?;
            ensure(got == expected, || {
                format!("a session opened as another: {expected} became {got}")
            })?;
        }
    }
    let now = session.expires_at.saturating_sub(1);
    for tampered in tamperings(&sealed) {
        ensure(Session::open(codec(), &tampered, now).is_none(), || {
            format!("a tampered session cookie opened: {tampered:?}")
        })?;
    }
    ensure(
        Session::open(foreign_codec(), &sealed, now).is_none(),
        || "a session cookie opened with another gateway's secret".to_owned(),
    )
}

fn flow_round_trip(flow: &FlowState) -> Outcome {
    let sealed = flow
        .seal(codec())
        .map_err(|err| Violation(format!("a flow state did not seal: {err}")))?;
    check_cookie_safe(&sealed)?;
    let opened = FlowState::open(codec(), &sealed)
        .ok_or_else(|| Violation("a sealed flow state did not open".to_owned()))?;
    let before = serde_json::to_value(flow).map_err(|err| Violation(err.to_string()))?;
    let after = serde_json::to_value(&opened).map_err(|err| Violation(err.to_string()))?;
    ensure(before == after, || {
        format!("a flow state opened as another: {before} became {after}")
    })?;
    for tampered in tamperings(&sealed) {
        ensure(FlowState::open(codec(), &tampered).is_none(), || {
            format!("a tampered flow cookie opened: {tampered:?}")
        })?;
    }
    ensure(FlowState::open(foreign_codec(), &sealed).is_none(), || {
        "a flow cookie opened with another gateway's secret".to_owned()
    })?;
    ensure(Session::open(codec(), &sealed, NOW).is_none(), || {
        "a flow cookie opened as a session".to_owned()
    })
}

/// `open(seal(x)) == x` for `purpose`; nothing opens for `other` purpose, after tampering or
/// with a foreign secret; a cookie sealed with the previous secret still opens.
fn codec_round_trip(purpose: &[u8], other: &[u8], plaintext: &[u8]) -> Outcome {
    let sealed = codec().seal(purpose, plaintext);
    check_cookie_safe(&sealed)?;
    ensure(
        codec().open(purpose, &sealed).as_deref() == Some(plaintext),
        || "sealing then opening did not give the plaintext back".to_owned(),
    )?;
    ensure(codec().open(other, &sealed).is_none(), || {
        "a cookie opened for another purpose".to_owned()
    })?;
    ensure(foreign_codec().open(purpose, &sealed).is_none(), || {
        "a cookie opened with another gateway's secret".to_owned()
    })?;
    ensure(previous_codec().open(purpose, &sealed).is_none(), || {
        "a cookie sealed with the current secret opened with a retired one alone".to_owned()
    })?;
    let rotated = previous_codec().seal(purpose, plaintext);
    ensure(
        codec().open(purpose, &rotated).as_deref() == Some(plaintext),
        || "a cookie sealed with the previous secret did not open".to_owned(),
    )?;
    for tampered in tamperings(&sealed) {
        ensure(codec().open(purpose, &tampered).is_none(), || {
            format!("a tampered cookie opened: {tampered:?}")
        })?;
    }
    Ok(())
}

/// Sealed values are cookie values as they are (RFC 6265 §4.1.1 `cookie-octet`, without
/// quoting): base64url only.
fn check_cookie_safe(sealed: &str) -> Outcome {
    ensure(
        !sealed.is_empty()
            && sealed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        || format!("a sealed value is not base64url: {sealed:?}"),
    )
}

/// A handful of single-bit flips spread over the sealed text (those that leave it UTF-8),
/// and the text cut short by one character and by half.
fn tamperings(sealed: &str) -> Vec<String> {
    let bytes = sealed.as_bytes();
    let len = bytes.len();
    let mut out = Vec::new();
    if len == 0 {
        return out;
    }
    let positions = [0, len / 3, len / 2, len.saturating_sub(2), len - 1];
    for (round, position) in positions.into_iter().enumerate() {
        for bit in [round % 8, (round + 3) % 7] {
            let mut flipped = bytes.to_vec();
            if let Some(byte) = flipped.get_mut(position) {
                *byte ^= 1 << bit;
            }
            if let Ok(text) = String::from_utf8(flipped) {
                out.push(text);
            }
        }
    }
    out.extend(sealed.get(..len - 1).map(str::to_owned));
    out.extend(sealed.get(..len / 2).map(str::to_owned));
    out
}
