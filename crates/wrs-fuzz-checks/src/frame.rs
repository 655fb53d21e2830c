//! The wire (`wrs_proto::frame`): bytes on a connection, read and decoded
//! the way the daemon (requests) and the clients (responses) do.
//!
//! The first byte picks the mode, as on a real connection: `{` is
//! newline-delimited JSON, anything else length-prefixed bincode. Checked:
//!
//! - no body handed out is above [`MAX_FRAME_LEN`]; a length prefix above
//!   it is refused as `TooLarge` with the announced length;
//! - a message that decodes is at most the cap long (a JSON line without
//!   its line end);
//! - a decoded message re-encodes in both modes, each encoding starting
//!   with the byte that selects its mode and decoding to the same value;
//!   encoding is deterministic; only a JSON encoding may be refused as too
//!   large (omitted fields come back as `null`, escapes), never garbled;
//! - a request that decodes carries this build's protocol version; a
//!   version mismatch names a version that is not ours.

use std::fmt::Debug;
use std::io::{BufReader, Cursor};

use wrs_proto::frame::{
    LEN_PREFIX, Mode, WireError, decode_binary, decode_json, decode_request, encode_binary,
    encode_json, read_frame, read_json_line,
};
use wrs_proto::{MAX_FRAME_LEN, PROTOCOL_VERSION, Response};

/// At most this many messages are taken from one input: a binary
/// connection carries one, a JSON one a line per request.
const MAX_MESSAGES: usize = 16;

/// The daemon's side: what a client wrote on a connection.
pub fn request(data: &[u8]) {
    let Some(&first) = data.first() else { return };
    let mode = Mode::detect(first);
    for body in bodies(mode, data) {
        match decode_request(mode, &body) {
            Ok(envelope) => {
                assert_eq!(envelope.version, PROTOCOL_VERSION);
                check_cap(mode, &body);
                round_trip(mode, &envelope, decode_request);
            }
            Err(WireError::VersionMismatch { peer }) => assert_ne!(peer, PROTOCOL_VERSION),
            Err(err) => check_error(&err),
        }
    }
}

/// A client's side: what the daemon answered.
pub fn response(data: &[u8]) {
    let Some(&first) = data.first() else { return };
    let mode = Mode::detect(first);
    for body in bodies(mode, data) {
        match decode_response(mode, &body) {
            Ok(response) => {
                // Variant 0 is frozen as `Error`, so that any client can
                // read a version-mismatch answer.
                if mode == Mode::Binary && body.first() == Some(&0) {
                    assert!(
                        matches!(response, Response::Error(_)),
                        "variant 0 must stay Response::Error: {response:?}"
                    );
                }
                check_cap(mode, &body);
                round_trip(mode, &response, decode_response);
            }
            Err(err) => check_error(&err),
        }
    }
}

fn decode_response(mode: Mode, body: &[u8]) -> Result<Response, WireError> {
    match mode {
        Mode::Binary => decode_binary(body),
        Mode::Json => decode_json(body),
    }
}

/// The message bodies a reader takes from `data`, checking the cap on the
/// way; stops at the end of input or the first error.
fn bodies(mode: Mode, data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match mode {
        Mode::Binary => {
            let mut reader = Cursor::new(data);
            while out.len() < MAX_MESSAGES {
                let start = reader.position() as usize;
                let announced = data
                    .get(start..start + LEN_PREFIX)
                    .map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
                match read_frame(&mut reader) {
                    Ok(Some(body)) => {
                        assert!(body.len() <= MAX_FRAME_LEN, "body of {} bytes", body.len());
                        assert_eq!(Some(body.len() as u32), announced);
                        out.push(body);
                    }
                    Ok(None) => {
                        assert_eq!(start, data.len(), "a clean end only at the end");
                        break;
                    }
                    Err(WireError::TooLarge { len }) => {
                        assert!(len > MAX_FRAME_LEN as u64);
                        assert_eq!(Some(len), announced.map(u64::from));
                        assert_eq!(
                            reader.position() as usize,
                            start + LEN_PREFIX,
                            "an oversize frame is refused on its prefix alone"
                        );
                        break;
                    }
                    Err(WireError::Truncated) => break,
                    Err(other) => panic!("read_frame on a byte slice: {other:?}"),
                }
            }
        }
        Mode::Json => {
            let mut reader = BufReader::new(Cursor::new(data));
            while out.len() < MAX_MESSAGES {
                match read_json_line(&mut reader) {
                    Ok(Some(line)) => {
                        assert_eq!(line.last(), Some(&b'\n'));
                        // The line end is allowed on top of the cap, and one
                        // byte more is read to tell "too long" from "ends here".
                        assert!(line.len() <= MAX_FRAME_LEN + 3, "line of {}", line.len());
                        out.push(line);
                    }
                    Ok(None) => break,
                    Err(WireError::TooLarge { len }) => {
                        assert!(len > MAX_FRAME_LEN as u64 + 2);
                        break;
                    }
                    Err(WireError::Truncated) => break,
                    Err(other) => panic!("read_json_line on a byte slice: {other:?}"),
                }
            }
        }
    }
    out
}

/// A message that decoded was no larger than the cap: a binary body by
/// construction (its prefix was checked), a JSON line without its line end.
fn check_cap(mode: Mode, body: &[u8]) {
    if mode == Mode::Json {
        let text = body.strip_suffix(b"\n").unwrap_or(body);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        assert!(
            text.len() <= MAX_FRAME_LEN,
            "a JSON message of {} bytes was accepted",
            text.len()
        );
    }
}

/// Encodes `msg` in both modes; each encoding starts with the byte that
/// selects its mode and decodes to `msg`. A binary encoding is canonical,
/// so a message decoded from a binary frame always fits one again; a JSON
/// encoding may not fit where the input did (omitted optional fields are
/// written as `null`, characters escaped), and is then refused as too large.
fn round_trip<T, D>(mode: Mode, msg: &T, decode: D)
where
    T: serde::Serialize + PartialEq + Debug,
    D: Fn(Mode, &[u8]) -> Result<T, WireError>,
{
    for m in [Mode::Binary, Mode::Json] {
        match encode(m, msg) {
            Ok(encoded) => {
                assert_eq!(
                    encode(m, msg).ok().as_deref(),
                    Some(encoded.as_slice()),
                    "deterministic"
                );
                assert_eq!(
                    Mode::detect(encoded[0]),
                    m,
                    "the first byte selects the mode"
                );
                let back = decode(m, body_of(m, &encoded))
                    .unwrap_or_else(|e| panic!("the {m:?} encoding does not decode: {e}"));
                assert_eq!(&back, msg);
            }
            Err(WireError::TooLarge { len }) => {
                assert!(len > MAX_FRAME_LEN as u64);
                assert!(
                    !(mode == Mode::Binary && m == Mode::Binary),
                    "a message from a binary frame does not fit one again"
                );
            }
            Err(e) => panic!("{m:?} encoding failed: {e}"),
        }
    }
}

fn encode<T: serde::Serialize>(mode: Mode, msg: &T) -> Result<Vec<u8>, WireError> {
    match mode {
        Mode::Binary => encode_binary(msg),
        Mode::Json => encode_json(msg),
    }
}

/// What a reader hands to the decoder: a binary frame without its prefix,
/// a JSON line as it is.
fn body_of(mode: Mode, encoded: &[u8]) -> &[u8] {
    match mode {
        Mode::Binary => {
            let len = u32::from_be_bytes([encoded[0], encoded[1], encoded[2], encoded[3]]);
            assert_eq!(
                len as usize,
                encoded.len() - LEN_PREFIX,
                "prefix = body length"
            );
            &encoded[LEN_PREFIX..]
        }
        Mode::Json => {
            assert_eq!(encoded.last(), Some(&b'\n'));
            assert!(
                !encoded[..encoded.len() - 1].contains(&b'\n'),
                "one message, one line"
            );
            encoded
        }
    }
}

/// Errors a decoder may give for a body it was handed.
fn check_error(err: &WireError) {
    match err {
        WireError::Decode(_)
        | WireError::TrailingBytes(_)
        | WireError::InvalidUtf8
        | WireError::InvalidJson(_) => {}
        WireError::TooLarge { len } => assert!(*len > MAX_FRAME_LEN as u64),
        other => panic!("a decoder returned {other:?}"),
    }
    assert!(!err.to_string().is_empty());
}
