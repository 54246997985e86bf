use crate::TlsError;
use crate::buffer::CryptoBuffer;
use crate::parse_buffer::ParseBuffer;

/// Whether the sender of a [`KeyUpdate`] asks its peer to update its sending keys too
/// (RFC 8446 §4.6.3).
#[derive(Debug, Copy, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyUpdateRequest {
    UpdateNotRequested = 0,
    UpdateRequested = 1,
}

/// The post-handshake `KeyUpdate` message: its sender now encrypts with its next traffic secret.
#[derive(Debug, Copy, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyUpdate {
    pub request_update: KeyUpdateRequest,
}

impl KeyUpdate {
    pub fn parse(buf: &mut ParseBuffer, content_len: u32) -> Result<Self, TlsError> {
        if content_len != 1 {
            return Err(TlsError::InvalidKeyUpdate);
        }
        let request_update = match buf.read_u8()? {
            0 => KeyUpdateRequest::UpdateNotRequested,
            1 => KeyUpdateRequest::UpdateRequested,
            _ => return Err(TlsError::InvalidKeyUpdate),
        };
        Ok(Self { request_update })
    }

    pub(crate) fn encode(self, buf: &mut CryptoBuffer<'_>) -> Result<(), TlsError> {
        buf.push(self.request_update as u8)
            .map_err(|_| TlsError::EncodeError)
    }
}
