//! The byte codec, apart from any connection.
//!
//! Binary mode: `u32` big-endian body length, then a bincode 2 body (standard
//! config, decoded with an explicit size limit). JSON mode: one JSON document
//! per line. A connection's first byte picks the mode: `{` is JSON, anything
//! else is binary (a binary frame starts with `0x00`, since no allowed length
//! reaches `0x7b00_0000`).
//!
//! Both modes cap a message at [`MAX_FRAME_LEN`] bytes, on read and on write:
//! a larger length prefix is an error, never an allocation. The sync
//! `read_*`/`write_*` helpers serve the thin client; the daemon drives the
//! same checks ([`body_len`], [`decode_request`]) from async code.

use std::io::{BufRead, Read, Write};

use bincode::config::{Configuration, Limit, standard};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{PROTOCOL_VERSION, RequestEnvelope};

/// Largest message body, in bytes, in either mode.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Bytes in the binary length prefix.
pub const LEN_PREFIX: usize = 4;

/// The bincode configuration of the wire: standard, with a decode limit so a
/// hostile length inside the body cannot make the decoder allocate.
fn config()
-> Configuration<bincode::config::LittleEndian, bincode::config::Varint, Limit<MAX_FRAME_LEN>> {
    standard().with_limit::<MAX_FRAME_LEN>()
}

/// Why bytes could not become a message, or a message bytes.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// A length prefix or line above [`MAX_FRAME_LEN`].
    #[error("message of {len} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge {
        /// The announced or attempted length.
        len: u64,
    },
    /// The peer closed the connection in the middle of a message.
    #[error("connection closed in the middle of a message")]
    Truncated,
    /// The body is not a valid bincode message.
    #[error("malformed message: {0}")]
    Decode(String),
    /// The body decoded but bytes were left over.
    #[error("malformed message: {0} unexpected trailing bytes")]
    TrailingBytes(usize),
    /// A JSON line that is not UTF-8.
    #[error("malformed JSON request: not valid UTF-8")]
    InvalidUtf8,
    /// A JSON line that does not parse as the expected message.
    #[error("malformed JSON request: {0}")]
    InvalidJson(String),
    /// The peer speaks another protocol version.
    #[error("protocol version mismatch: peer speaks {peer}, this side speaks {PROTOCOL_VERSION}")]
    VersionMismatch {
        /// The peer's version.
        peer: u32,
    },
    /// A message could not be encoded (a bug, or a message over the cap).
    #[error("cannot encode message: {0}")]
    Encode(String),
}

/// The two encodings a connection can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Length-prefixed bincode, for the Rust client.
    Binary,
    /// Newline-delimited JSON, for plugins in any language.
    Json,
}

impl Mode {
    /// The mode a connection uses, from its first byte.
    pub fn detect(first_byte: u8) -> Mode {
        if first_byte == b'{' {
            Mode::Json
        } else {
            Mode::Binary
        }
    }
}

/// Checks a binary length prefix and returns the body length.
pub fn body_len(prefix: [u8; LEN_PREFIX]) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(prefix);
    if len as usize > MAX_FRAME_LEN {
        return Err(WireError::TooLarge { len: len.into() });
    }
    Ok(len as usize)
}

/// Encodes a message as a complete binary frame (prefix and body).
pub fn encode_binary<T: Serialize>(msg: &T) -> Result<Vec<u8>, WireError> {
    let mut frame = vec![0u8; LEN_PREFIX];
    bincode::serde::encode_into_std_write(msg, &mut frame, config())
        .map_err(|e| WireError::Encode(e.to_string()))?;
    let len = frame.len() - LEN_PREFIX;
    if len > MAX_FRAME_LEN {
        return Err(WireError::TooLarge { len: len as u64 });
    }
    frame[..LEN_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(frame)
}

/// Decodes a binary body (without its prefix). Every byte must be used.
pub fn decode_binary<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    if body.len() > MAX_FRAME_LEN {
        return Err(WireError::TooLarge {
            len: body.len() as u64,
        });
    }
    let (msg, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| WireError::Decode(e.to_string()))?;
    if used != body.len() {
        return Err(WireError::TrailingBytes(body.len() - used));
    }
    Ok(msg)
}

/// Encodes a message as one JSON line, newline included.
pub fn encode_json<T: Serialize>(msg: &T) -> Result<Vec<u8>, WireError> {
    let mut line = serde_json::to_vec(msg).map_err(|e| WireError::Encode(e.to_string()))?;
    if line.len() > MAX_FRAME_LEN {
        return Err(WireError::TooLarge {
            len: line.len() as u64,
        });
    }
    line.push(b'\n');
    Ok(line)
}

/// Decodes one JSON line (a trailing `\n` or `\r\n` is allowed).
pub fn decode_json<T: DeserializeOwned>(line: &[u8]) -> Result<T, WireError> {
    let text = std::str::from_utf8(line).map_err(|_| WireError::InvalidUtf8)?;
    // The cap is on the message; its line end is not part of it.
    let message = text.trim_end_matches(['\n', '\r']);
    if message.len() > MAX_FRAME_LEN {
        return Err(WireError::TooLarge {
            len: message.len() as u64,
        });
    }
    serde_json::from_str(message).map_err(|e| WireError::InvalidJson(e.to_string()))
}

/// Decodes a request body in either mode, checking the protocol version
/// before the rest so a peer with another message layout gets
/// [`WireError::VersionMismatch`] rather than a decode error.
pub fn decode_request(mode: Mode, body: &[u8]) -> Result<RequestEnvelope, WireError> {
    let version = match mode {
        Mode::Binary => {
            let (v, _): (u32, usize) = bincode::serde::decode_from_slice(body, config())
                .map_err(|e| WireError::Decode(e.to_string()))?;
            v
        }
        Mode::Json => {
            #[derive(serde::Deserialize)]
            struct VersionOnly {
                version: u32,
            }
            decode_json::<VersionOnly>(body)?.version
        }
    };
    if version != PROTOCOL_VERSION {
        return Err(WireError::VersionMismatch { peer: version });
    }
    match mode {
        Mode::Binary => decode_binary(body),
        Mode::Json => decode_json(body),
    }
}

/// Reads one binary frame body. `Ok(None)` is a clean end of stream (the
/// peer closed before sending any byte); an end inside the frame is
/// [`WireError::Truncated`].
pub fn read_frame(reader: &mut impl Read) -> Result<Option<Vec<u8>>, WireError> {
    let mut prefix = [0u8; LEN_PREFIX];
    let mut got = 0;
    while got < LEN_PREFIX {
        match reader.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(WireError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = body_len(prefix)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => WireError::Truncated,
        _ => WireError::Io(e),
    })?;
    Ok(Some(body))
}

/// Writes a message as one binary frame.
pub fn write_frame<T: Serialize>(writer: &mut impl Write, msg: &T) -> Result<(), WireError> {
    writer.write_all(&encode_binary(msg)?)?;
    writer.flush()?;
    Ok(())
}

/// Reads one JSON line, without reading more than [`MAX_FRAME_LEN`] bytes
/// (plus the line end) into memory. `Ok(None)` is a clean end of stream.
pub fn read_json_line(reader: &mut impl BufRead) -> Result<Option<Vec<u8>>, WireError> {
    let mut line = Vec::new();
    let limit = (MAX_FRAME_LEN + 2) as u64;
    let n = reader.take(limit + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if n as u64 > limit {
            return Err(WireError::TooLarge { len: n as u64 });
        }
        return Err(WireError::Truncated);
    }
    Ok(Some(line))
}

#[cfg(test)]
mod tests;
