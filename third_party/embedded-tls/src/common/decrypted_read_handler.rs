use core::ops::Range;

use crate::{
    TlsError,
    alert::AlertDescription,
    common::decrypted_buffer_info::DecryptedBufferInfo,
    config::TlsCipherSuite,
    connection::decrypt_record,
    handshake::{ServerHandshake, key_update::KeyUpdateRequest},
    key_schedule::ReadKeySchedule,
    record::ServerRecord,
};

pub struct DecryptedReadHandler<'a> {
    pub source_buffer: Range<*const u8>,
    pub buffer_info: &'a mut DecryptedBufferInfo,
    /// Set to `false` when the connection ends: on `close_notify`, on any other alert, and on
    /// every error of a record, each fatal (RFC 8446 §6.2: after a fatal alert, sent or
    /// received, the connection is closed); a later read or write is then refused.
    pub is_open: &'a mut bool,
    /// Set when the server's `KeyUpdate` asks for ours (sent before our next record).
    pub key_update_requested: &'a mut bool,
}

impl DecryptedReadHandler<'_> {
    /// Decrypts a record read after the handshake and takes what it carries.
    pub fn read<CipherSuite: TlsCipherSuite>(
        &mut self,
        key_schedule: &mut ReadKeySchedule<CipherSuite>,
        record: ServerRecord<'_, CipherSuite>,
    ) -> Result<(), TlsError> {
        if let ServerRecord::Handshake(handshake) = &record {
            // After the handshake, handshake messages come encrypted only (RFC 8446 §5).
            return Err(TlsError::UnexpectedHandshakeMessage(
                handshake.handshake_type(),
            ));
        }
        let result = decrypt_record(key_schedule, record, &mut |key_schedule, record| {
            self.handle(key_schedule, record)
        });
        if result.is_err() {
            *self.is_open = false;
        }
        result
    }

    pub fn handle<CipherSuite: TlsCipherSuite>(
        &mut self,
        key_schedule: &mut ReadKeySchedule<CipherSuite>,
        record: ServerRecord<'_, CipherSuite>,
    ) -> Result<(), TlsError> {
        match record {
            ServerRecord::ApplicationData(data) => {
                let slice = data.data.as_slice();
                let slice_ptrs = slice.as_ptr_range();

                debug_assert!(
                    self.source_buffer.contains(&slice_ptrs.start)
                        && self.source_buffer.contains(&slice_ptrs.end)
                );

                let offset = unsafe {
                    // SAFETY: The assertion above ensures `slice` is a subslice of the read buffer.
                    // This, in turn, ensures we don't violate safety constraints of `offset_from`.

                    // TODO: We are only assuming here that the pointers are derived from the read
                    // buffer. While this is reasonable, and we don't do any pointer magic,
                    // it's not an invariant.
                    slice_ptrs.start.offset_from(self.source_buffer.start) as usize
                };

                self.buffer_info.offset = offset;
                self.buffer_info.len = slice.len();
                self.buffer_info.consumed = 0;
                Ok(())
            }
            ServerRecord::Alert(alert) => match alert.description {
                // The server closes the connection (RFC 8446 §6.1).
                AlertDescription::CloseNotify => Err(TlsError::ConnectionClosed),
                // A closure alert too, not an error: it "SHOULD be followed by a
                // close_notify" (RFC 8446 §6.1), which the next record ends the connection with.
                AlertDescription::UserCanceled => Ok(()),
                // Every other alert is an error alert whatever its level (RFC 8446 §6.2),
                // reported with what it said; never answered with an alert.
                _ => Err(TlsError::AlertReceived(alert.level, alert.description)),
            },
            // Allowed only until the server's Finished (RFC 8446 §5): after it, an unexpected
            // record type, refused with `unexpected_message`.
            ServerRecord::ChangeCipherSpec(_) => Err(TlsError::InvalidRecord),
            ServerRecord::Handshake(ServerHandshake::NewSessionTicket(_)) => {
                // TODO: we should validate extensions and abort. We can do this automatically
                // as long as the connection is unsplit, however, split connections must be aborted
                // by the user.
                Ok(())
            }
            ServerRecord::Handshake(ServerHandshake::KeyUpdate(key_update)) => {
                // RFC 8446 §4.6.3: the server's next records use its next traffic secret.
                key_schedule.update_traffic_secret()?;
                if key_update.request_update == KeyUpdateRequest::UpdateRequested {
                    *self.key_update_requested = true;
                }
                Ok(())
            }
            ServerRecord::Handshake(handshake) => {
                // Certificate, CertificateRequest (no post_handshake_auth offered), Finished, ...
                Err(TlsError::UnexpectedHandshakeMessage(
                    handshake.handshake_type(),
                ))
            }
        }
    }
}
