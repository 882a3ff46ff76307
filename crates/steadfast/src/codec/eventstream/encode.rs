//! Frame encoder, the inverse of the decoder (for tests, fixtures and simulators).

use super::{EncodeError, Header, HeaderValue};

/// Length of the prelude: total length, header length and prelude CRC.
pub(super) const PRELUDE_LEN: usize = 12;
/// Length of the trailing message CRC.
pub(super) const CRC_LEN: usize = 4;

/// Encodes one frame with the given headers, in order, and payload.
///
/// # Errors
///
/// [`EncodeError::HeaderNameTooLong`] for a name over 255 bytes,
/// [`EncodeError::HeaderValueTooLong`] for a byte-array or string value over 65 535 bytes and
/// [`EncodeError::MessageTooLong`] if the frame would exceed `u32::MAX` bytes.
pub fn encode_message(headers: &[Header], payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(PRELUDE_LEN + 64 * headers.len() + payload.len() + CRC_LEN);
    out.extend_from_slice(&[0; PRELUDE_LEN]);
    for header in headers {
        write_header(&mut out, header)?;
    }
    let headers_len = out.len() - PRELUDE_LEN;
    let total = out.len() + payload.len() + CRC_LEN;
    let (Ok(total_u32), Ok(headers_u32)) = (u32::try_from(total), u32::try_from(headers_len))
    else {
        return Err(EncodeError::MessageTooLong { len: total });
    };
    out[0..4].copy_from_slice(&total_u32.to_be_bytes());
    out[4..8].copy_from_slice(&headers_u32.to_be_bytes());
    let prelude_crc = crc32fast::hash(&out[0..8]);
    out[8..12].copy_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    Ok(out)
}

fn write_header(out: &mut Vec<u8>, header: &Header) -> Result<(), EncodeError> {
    let name = header.name.as_bytes();
    let name_len =
        u8::try_from(name.len()).map_err(|_| EncodeError::HeaderNameTooLong { len: name.len() })?;
    out.push(name_len);
    out.extend_from_slice(name);
    out.push(header.value.wire_type());
    match &header.value {
        HeaderValue::Bool(_) => {}
        HeaderValue::Byte(value) => out.extend_from_slice(&value.to_be_bytes()),
        HeaderValue::Int16(value) => out.extend_from_slice(&value.to_be_bytes()),
        HeaderValue::Int32(value) => out.extend_from_slice(&value.to_be_bytes()),
        HeaderValue::Int64(value) | HeaderValue::Timestamp(value) => {
            out.extend_from_slice(&value.to_be_bytes());
        }
        HeaderValue::ByteArray(value) => write_sized(out, &header.name, value)?,
        HeaderValue::String(value) => write_sized(out, &header.name, value.as_bytes())?,
        HeaderValue::Uuid(value) => out.extend_from_slice(value),
    }
    Ok(())
}

fn write_sized(out: &mut Vec<u8>, name: &str, value: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(value.len()).map_err(|_| EncodeError::HeaderValueTooLong {
        name: name.to_owned(),
        len: value.len(),
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}
