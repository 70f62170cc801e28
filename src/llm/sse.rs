//! Server-sent events, read with a bounded buffer: a server that sends
//! megabytes without a line break is stopped at the limit instead of being
//! buffered until memory runs out.

/// The line buffer would grow past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    pub limit: usize,
}

/// Splits a byte stream into the payloads of its `data:` lines. Comments
/// (`:`), `event:`, `id:` and `retry:` lines carry nothing a chat
/// completion needs and are skipped; a `data:` line is taken as one
/// payload, since chat servers send one JSON chunk per line.
#[derive(Debug)]
pub struct SseReader {
    pending: Vec<u8>,
    max_line: usize,
    /// The first bytes of the stream, to show when it is not SSE at all.
    head: Vec<u8>,
    /// Lines seen that were neither empty nor SSE fields.
    pub foreign_lines: usize,
}

/// How much of the stream's start is kept to quote in an error.
const HEAD_BYTES: usize = 200;

impl SseReader {
    /// A reader whose single line may hold at most `max_line` bytes.
    pub fn new(max_line: usize) -> SseReader {
        SseReader {
            pending: Vec::new(),
            max_line,
            head: Vec::new(),
            foreign_lines: 0,
        }
    }

    /// Takes the next bytes; returns the `data:` payloads completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, LineTooLong> {
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            if self.pending.len() + nl > self.max_line {
                return Err(LineTooLong {
                    limit: self.max_line,
                });
            }
            self.pending.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            let line = std::mem::take(&mut self.pending);
            if let Some(data) = self.field(&line) {
                out.push(data);
            }
        }
        if self.pending.len() + rest.len() > self.max_line {
            return Err(LineTooLong {
                limit: self.max_line,
            });
        }
        self.pending.extend_from_slice(rest);
        Ok(out)
    }

    /// The stream ended: a last `data:` line without its line break still
    /// counts.
    pub fn finish(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.pending);
        self.field(&line)
    }

    /// The start of the stream, as text for an error message.
    pub fn head(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }

    fn field(&mut self, line: &[u8]) -> Option<String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line.starts_with(b":") {
            return None;
        }
        if let Some(data) = line.strip_prefix(b"data:") {
            let data = data.strip_prefix(b" ").unwrap_or(data);
            return Some(String::from_utf8_lossy(data).into_owned());
        }
        let known = [&b"event:"[..], b"id:", b"retry:"];
        if !known.iter().any(|k| line.starts_with(k)) {
            self.foreign_lines += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_split_across_pushes_are_joined() {
        let mut r = SseReader::new(1000);
        assert!(r.push(b": keep-alive\n\ndata: {\"a\"").unwrap().is_empty());
        assert_eq!(
            r.push(b":1}\r\n\r\ndata: [DONE]\n\n").unwrap(),
            ["{\"a\":1}", "[DONE]"]
        );
        assert_eq!(r.foreign_lines, 0);
        assert!(r.push(b"data: tail").unwrap().is_empty());
        assert_eq!(r.finish().as_deref(), Some("tail"));
    }

    #[test]
    fn a_stream_without_line_breaks_stops_at_the_limit() {
        let mut r = SseReader::new(64);
        for _ in 0..6 {
            assert!(r.push(b"0123456789").is_ok());
        }
        assert_eq!(r.push(b"0123456789"), Err(LineTooLong { limit: 64 }));
        let mut r = SseReader::new(64);
        let huge = format!("data: {}\n", "x".repeat(100));
        assert!(r.push(huge.as_bytes()).is_err());
    }

    #[test]
    fn lines_that_are_not_sse_are_counted_and_quoted() {
        let mut r = SseReader::new(1000);
        assert!(r
            .push(b"<html>\n<body>Bad gateway</body>\n")
            .unwrap()
            .is_empty());
        assert_eq!(r.foreign_lines, 2);
        assert!(r.head().starts_with("<html>"));
    }
}
