use crate::cipher_suites::CipherSuite;
use crate::crypto_engine::CryptoEngine;
use crate::ecdhe::{EphemeralKeyPair, SharedSecret};
use crate::extensions::check_extensions;
use crate::extensions::extension_data::key_share::KeyShareEntry;
use crate::extensions::messages::ServerHelloExtension;
use crate::parse_buffer::ParseBuffer;
use crate::{TlsError, unused};

#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerHello<'a> {
    /// The first `key_share` extension, the only one the client uses; the others are checked
    /// as they are read (at most 4 known extensions, each well formed and allowed here).
    key_share: Option<KeyShareEntry<'a>>,
}

impl<'a> ServerHello<'a> {
    pub fn parse(buf: &mut ParseBuffer<'a>) -> Result<ServerHello<'a>, TlsError> {
        //let mut buf = ParseBuffer::new(&buf[0..content_length]);
        //let mut buf = ParseBuffer::new(&buf);

        let _version = buf.read_u16().map_err(|_| TlsError::InvalidHandshake)?;

        let mut random = [0; 32];
        buf.fill(&mut random)?;

        let session_id_length = buf
            .read_u8()
            .map_err(|_| TlsError::InvalidSessionIdLength)?;

        //info!("sh 1");

        let session_id = buf
            .slice(session_id_length as usize)
            .map_err(|_| TlsError::InvalidSessionIdLength)?;
        //info!("sh 2");

        let cipher_suite = CipherSuite::parse(buf).map_err(|_| TlsError::InvalidCipherSuite)?;

        ////info!("sh 3");
        // skip compression method, it's 0.
        buf.read_u8()?;

        let mut key_share = None;
        check_extensions(buf, 4, &mut |extension_type, data| {
            let extension = ServerHelloExtension::parse_data(extension_type, data)?;
            if let ServerHelloExtension::KeyShare(share) = extension {
                key_share.get_or_insert(share.0);
            }
            Ok(())
        })?;

        // debug!("server random {:x}", random);
        // debug!("server session-id {:x}", session_id.as_slice());
        debug!("server cipher_suite {:?}", cipher_suite);
        debug!("server key share {:?}", key_share);

        unused(session_id);
        Ok(Self { key_share })
    }

    pub fn key_share(&self) -> Option<&KeyShareEntry<'_>> {
        self.key_share.as_ref()
    }

    pub fn calculate_shared_secret(&self, secret: &EphemeralKeyPair) -> Option<SharedSecret> {
        let server_key_share = self.key_share()?;
        secret.shared_secret(server_key_share.opaque).ok()
    }

    #[allow(dead_code)]
    pub fn initialize_crypto_engine(&self, secret: &EphemeralKeyPair) -> Option<CryptoEngine> {
        let server_key_share = self.key_share()?;

        let group = server_key_share.group;

        let shared = secret.shared_secret(server_key_share.opaque).ok()?;

        Some(CryptoEngine::new(group, shared))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `ServerHello` body (`TLS_AES_128_GCM_SHA256`, empty session id) with these extensions.
    fn server_hello(extensions: &[u8]) -> std::vec::Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[9; 32]);
        body.extend_from_slice(&[0, 0x13, 0x01, 0]);
        body.extend_from_slice(&u16::try_from(extensions.len()).unwrap().to_be_bytes());
        body.extend_from_slice(extensions);
        body
    }

    const SUPPORTED_VERSIONS: [u8; 6] = [0, 43, 0, 2, 3, 4];
    const KEY_SHARE_A: [u8; 10] = [0, 51, 0, 6, 0, 0x17, 0, 2, 0xaa, 0xbb];
    const KEY_SHARE_B: [u8; 9] = [0, 51, 0, 5, 0, 0x17, 0, 1, 0xcc];
    const UNKNOWN: [u8; 5] = [0x7a, 0x7a, 0, 1, 0];

    #[test]
    fn the_first_key_share_is_kept_and_every_extension_checked() {
        let extensions = [
            &UNKNOWN[..],
            &SUPPORTED_VERSIONS,
            &KEY_SHARE_A,
            &KEY_SHARE_B,
        ]
        .concat();
        let body = server_hello(&extensions);
        let hello = ServerHello::parse(&mut ParseBuffer::new(&body)).unwrap();
        let share = hello.key_share().unwrap();
        assert_eq!(share.opaque, [0xaa, 0xbb]);

        let body = server_hello(&SUPPORTED_VERSIONS);
        let hello = ServerHello::parse(&mut ParseBuffer::new(&body)).unwrap();
        assert!(hello.key_share().is_none());

        // Five known extensions: more than the four a ServerHello may carry.
        let five = [
            &SUPPORTED_VERSIONS[..],
            &KEY_SHARE_A,
            &KEY_SHARE_B,
            &KEY_SHARE_A,
            &KEY_SHARE_B,
        ]
        .concat();
        let body = server_hello(&five);
        assert!(matches!(
            ServerHello::parse(&mut ParseBuffer::new(&body)),
            Err(TlsError::DecodeError)
        ));

        // A known extension not allowed in a ServerHello (server_name): illegal_parameter.
        let body = server_hello(&[0, 0, 0, 0]);
        assert!(matches!(
            ServerHello::parse(&mut ParseBuffer::new(&body)),
            Err(TlsError::AbortHandshake(_, _))
        ));

        // A malformed key share (truncated key).
        let body = server_hello(&[0, 51, 0, 5, 0, 0x17, 0, 2, 0xaa]);
        assert!(matches!(
            ServerHello::parse(&mut ParseBuffer::new(&body)),
            Err(TlsError::DecodeError)
        ));
    }
}
