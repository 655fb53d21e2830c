//! Async framing over the `wrs_proto::frame` codec.
//!
//! The byte-level rules (length cap, version check, bincode limits) live in
//! the proto crate; this module only drives them from a tokio stream. The
//! connection's first byte picks the mode for all its requests. Reads never
//! buffer more than one capped message: a binary length prefix is checked
//! before any allocation, and a JSON line is cut off at the cap.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use wrs_proto::frame::{self, LEN_PREFIX, Mode};
use wrs_proto::{ErrorKind, ErrorResponse, MAX_FRAME_LEN, RequestEnvelope, Response, WireError};

/// Bytes read ahead per connection. A request is a few hundred bytes, so
/// one read takes it whole; tokio's default of 8 KiB would hold 0.5 MiB
/// for 64 persistent connections. A longer message is still read whole,
/// in more reads (`read_exact` for a binary body, line pieces for JSON).
const READ_BUFFER: usize = 1024;

/// One client connection: a buffered stream and its mode once known.
#[derive(Debug)]
pub struct Connection<S> {
    stream: BufReader<S>,
    mode: Option<Mode>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wraps a freshly accepted stream.
    pub fn new(stream: S) -> Self {
        Connection {
            stream: BufReader::with_capacity(READ_BUFFER, stream),
            mode: None,
        }
    }

    /// Waits until the next request's first byte is there, without taking
    /// it; `false` at a clean end of stream. Cancel-safe: a caller that
    /// gives up waiting knows no byte of a request was consumed, so the
    /// client was idle, not halfway through a request.
    pub async fn wait_for_data(&mut self) -> Result<bool, WireError> {
        Ok(!self.stream.fill_buf().await?.is_empty())
    }

    /// Reads and decodes the next request. `Ok(None)` is a clean end of
    /// stream between requests.
    pub async fn read_request(&mut self) -> Result<Option<RequestEnvelope>, WireError> {
        let Some(body) = self.read_body().await? else {
            return Ok(None);
        };
        let mode = self.mode.unwrap_or(Mode::Binary);
        frame::decode_request(mode, &body).map(Some)
    }

    /// Reads the next message body (binary body, or one JSON line).
    pub async fn read_body(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let mode = match self.mode {
            Some(mode) => mode,
            None => {
                let buf = self.stream.fill_buf().await?;
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                let mode = Mode::detect(first);
                self.mode = Some(mode);
                mode
            }
        };
        match mode {
            Mode::Binary => self.read_binary().await,
            Mode::Json => self.read_json_line().await,
        }
    }

    async fn read_binary(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let mut prefix = [0u8; LEN_PREFIX];
        let mut got = 0;
        while got < LEN_PREFIX {
            match self.stream.read(&mut prefix[got..]).await? {
                0 if got == 0 => return Ok(None),
                0 => return Err(WireError::Truncated),
                n => got += n,
            }
        }
        // Checked before allocating: a hostile prefix costs nothing.
        let len = frame::body_len(prefix)?;
        let mut body = vec![0u8; len];
        self.stream
            .read_exact(&mut body)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => WireError::Truncated,
                _ => WireError::Io(e),
            })?;
        Ok(Some(body))
    }

    /// One non-blank JSON line, at most the cap plus a line end. A last line
    /// without its newline still counts (`printf '{…}' | nc -U` works);
    /// blank lines between requests are skipped.
    async fn read_json_line(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let limit = MAX_FRAME_LEN + 2;
        let mut line = Vec::new();
        loop {
            let buf = self.stream.fill_buf().await?;
            let (take, complete) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None if buf.is_empty() => (0, true),
                None => (buf.len(), false),
            };
            if line.len() + take > limit {
                return Err(WireError::TooLarge {
                    len: (line.len() + take) as u64,
                });
            }
            line.extend_from_slice(&buf[..take]);
            let at_eof = buf.is_empty();
            self.stream.consume(take);
            if !complete {
                continue;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(line));
            }
            if at_eof {
                return Ok(None);
            }
            line.clear();
        }
    }

    /// Writes one response in the connection's mode.
    pub async fn write_response(&mut self, response: &Response) -> Result<(), WireError> {
        let bytes = match encode(self.mode, response) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("cannot encode a response: {e}");
                let fallback = Response::Error(ErrorResponse::new(
                    ErrorKind::Internal,
                    format!("the daemon could not encode its answer: {e}"),
                ));
                encode(self.mode, &fallback)?
            }
        };
        let stream = self.stream.get_mut();
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        Ok(())
    }
}

fn encode(mode: Option<Mode>, response: &Response) -> Result<Vec<u8>, WireError> {
    match mode {
        Some(Mode::Json) => frame::encode_json(response),
        Some(Mode::Binary) | None => frame::encode_binary(response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wrs_proto::Request;

    async fn requests_from(bytes: &[u8]) -> Vec<Result<Option<RequestEnvelope>, String>> {
        let (mut client, server) = tokio::io::duplex(256 * 1024);
        client.write_all(bytes).await.unwrap();
        drop(client);
        let mut conn = Connection::new(server);
        let mut out = Vec::new();
        loop {
            let r = conn.read_request().await.map_err(|e| e.to_string());
            let stop = !matches!(r, Ok(Some(_)));
            out.push(r);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn json_lines_are_read_in_sequence_and_blank_lines_skipped() {
        let input = b"{\"version\":3,\"request\":{\"status\":{}}}\n\r\n{\"version\":3,\"request\":{\"list_profiles\":{}}}";
        let got = requests_from(input).await;
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].as_ref().unwrap().as_ref().unwrap().request,
            Request::Status {}
        );
        assert_eq!(
            got[1].as_ref().unwrap().as_ref().unwrap().request,
            Request::ListProfiles {}
        );
        assert!(matches!(got[2], Ok(None)));
    }

    #[tokio::test]
    async fn binary_frames_are_read_in_sequence_until_clean_eof() {
        let mut input = frame::encode_binary(&RequestEnvelope::new(Request::Status {})).unwrap();
        input.extend(frame::encode_binary(&RequestEnvelope::new(Request::Shutdown {})).unwrap());
        let got = requests_from(&input).await;
        assert_eq!(got.len(), 3);
        assert!(matches!(got[2], Ok(None)));
    }

    #[tokio::test]
    async fn a_json_line_over_the_cap_is_refused_without_reading_it_all() {
        let mut input = b"{\"version\":3,".to_vec();
        input.resize(MAX_FRAME_LEN * 3, b' ');
        let got = requests_from(&input).await;
        assert!(got[0].as_ref().unwrap_err().contains("exceeds"), "{got:?}");
    }

    #[tokio::test]
    async fn end_of_stream_inside_a_binary_frame_is_truncation() {
        let got = requests_from(&[0, 0, 0, 10, 1, 2]).await;
        assert!(got[0].as_ref().unwrap_err().contains("middle"), "{got:?}");
        let got = requests_from(&[0, 0]).await;
        assert!(got[0].as_ref().unwrap_err().contains("middle"), "{got:?}");
    }

    #[tokio::test]
    async fn waiting_for_data_takes_no_byte_and_sees_the_end_of_stream() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut conn = Connection::new(server);
        client
            .write_all(b"{\"version\":3,\"request\":{\"status\":{}}}\n")
            .await
            .unwrap();
        assert!(conn.wait_for_data().await.unwrap());
        assert!(conn.wait_for_data().await.unwrap(), "nothing was taken");
        let envelope = conn.read_request().await.unwrap().unwrap();
        assert_eq!(envelope.request, Request::Status {});
        drop(client);
        assert!(!conn.wait_for_data().await.unwrap());
    }
}
