//! Decoding compressed response bodies (`decompress`): gzip, deflate and br, bounded by the
//! size handed to guests.

use std::io::Read;

use bytes::Bytes;

use super::error::{ErrorKind, HttpError};

/// A content coding the client decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    Brotli,
}

impl Coding {
    /// The coding a `content-encoding` value names, if the client decodes it (a list of
    /// several codings is left as it is).
    pub(crate) fn of(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Self::Gzip),
            "deflate" => Some(Self::Deflate),
            "br" => Some(Self::Brotli),
            _ => None,
        }
    }
}

/// Decodes `body`; a decoded body over `limit` bytes fails with `body-too-large`, a body that
/// is not what its coding says with `protocol`.
pub(crate) fn decode(coding: Coding, body: &[u8], limit: usize) -> Result<Bytes, HttpError> {
    let decoded = match coding {
        Coding::Gzip => read_all(flate2::read::MultiGzDecoder::new(body), limit),
        // `deflate` is meant to be zlib-wrapped; some servers send it raw.
        Coding::Deflate => {
            read_all(flate2::read::ZlibDecoder::new(body), limit).or_else(|err| match err {
                Failure::Corrupt(_) => read_all(flate2::read::DeflateDecoder::new(body), limit),
                too_large => Err(too_large),
            })
        }
        Coding::Brotli => read_all(brotli_decompressor::Decompressor::new(body, 4096), limit),
    };
    decoded.map(Bytes::from).map_err(|err| match err {
        Failure::TooLarge => HttpError::new(
            ErrorKind::BodyTooLarge,
            format!("the decoded response body is over the {limit} bytes handed to guests"),
        ),
        Failure::Corrupt(err) => HttpError::new(
            ErrorKind::Protocol,
            format!("the {coding:?} response body does not decode: {err}"),
        ),
    })
}

enum Failure {
    TooLarge,
    Corrupt(std::io::Error),
}

fn read_all(reader: impl Read, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    // One byte past the limit tells a body at the limit from one over it.
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(Failure::Corrupt)?;
    if out.len() > limit {
        return Err(Failure::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    const TEXT: &[u8] = b"the same words, the same words, the same words";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("gzip");
        encoder.finish().expect("gzip")
    }

    #[test]
    fn gzip_and_both_kinds_of_deflate_decode() {
        assert_eq!(
            decode(Coding::Gzip, &gzip(TEXT), 1 << 20).expect("gzip"),
            TEXT
        );
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(TEXT).expect("zlib");
        let zlib = zlib.finish().expect("zlib");
        assert_eq!(decode(Coding::Deflate, &zlib, 1 << 20).expect("zlib"), TEXT);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(TEXT).expect("raw");
        let raw = raw.finish().expect("raw");
        assert_eq!(
            decode(Coding::Deflate, &raw, 1 << 20).expect("raw deflate"),
            TEXT
        );
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_garbage_is_a_protocol_error() {
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 64 << 10);
        let err = decode(Coding::Gzip, &bomb, 1 << 20).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BodyTooLarge);
        assert_eq!(
            decode(Coding::Gzip, TEXT, 1 << 20).unwrap_err().kind,
            ErrorKind::Protocol
        );
        assert_eq!(
            decode(Coding::Brotli, TEXT, 1 << 20).unwrap_err().kind,
            ErrorKind::Protocol
        );
        assert_eq!(Coding::of(" GZIP "), Some(Coding::Gzip));
        assert_eq!(Coding::of("gzip, br"), None);
    }
}
