//! Body encoding for agent messages: JSON, gzip-compressed, size-bounded both ways.

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Write};

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("body is not valid gzip: {0}")]
    Gzip(std::io::Error),
    #[error("body inflates past {limit} bytes")]
    TooLarge { limit: usize },
    #[error("body is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Serializes `value` as gzip-compressed JSON.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_vec(value).expect("wire types always serialize");
    let mut enc = GzEncoder::new(Vec::with_capacity(json.len() / 4 + 64), Compression::fast());
    enc.write_all(&json).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Inflates at most `limit` bytes of gzip and parses the JSON inside.
pub fn decode<T: DeserializeOwned>(body: &[u8], limit: usize) -> Result<T, CodecError> {
    let mut out = Vec::new();
    let mut dec = GzDecoder::new(body).take(limit as u64 + 1);
    dec.read_to_end(&mut out).map_err(CodecError::Gzip)?;
    if out.len() > limit {
        return Err(CodecError::TooLarge { limit });
    }
    Ok(serde_json::from_slice(&out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let v = vec!["a".repeat(1000); 100];
        let body = encode(&v);
        assert!(body.len() < 10_000);
        let back: Vec<String> = decode(&body, 1 << 20).unwrap();
        assert_eq!(back, v);
        assert!(matches!(
            decode::<Vec<String>>(&body, 1000),
            Err(CodecError::TooLarge { limit: 1000 })
        ));
        assert!(matches!(
            decode::<Vec<String>>(b"not gzip", 1000),
            Err(CodecError::Gzip(_))
        ));
    }
}
