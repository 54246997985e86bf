use core::marker::PhantomData;

use digest::{Digest, OutputSizeUser};
use p256::elliptic_curve::rand_core::RngCore;
use typenum::Unsigned;

use crate::TlsError;
use crate::config::{TlsCipherSuite, TlsConfig};
use crate::ecdhe::EphemeralKeyPair;
use crate::extensions::ExtensionType;
use crate::extensions::extension_data::alpn::AlpnProtocolNameList;
use crate::extensions::extension_data::key_share::KeyShareEntry;
use crate::extensions::extension_data::pre_shared_key::PreSharedKeyClientHello;
use crate::extensions::extension_data::psk_key_exchange_modes::PskKeyExchangeMode;
use crate::extensions::extension_data::server_name::ServerNameList;
use crate::extensions::extension_data::signature_algorithms::SignatureScheme;
use crate::extensions::extension_data::supported_groups::NamedGroup;
use crate::extensions::extension_data::supported_versions::{ProtocolVersion, TLS13};
use crate::handshake::{LEGACY_VERSION, Random};
use crate::key_schedule::{HashOutputSize, WriteKeySchedule};
use crate::{CryptoProvider, buffer::CryptoBuffer};

pub struct ClientHello<'config, CipherSuite>
where
    CipherSuite: TlsCipherSuite,
{
    pub(crate) config: &'config TlsConfig<'config>,
    random: Random,
    cipher_suite: PhantomData<CipherSuite>,
    pub(crate) secret: EphemeralKeyPair,
}

impl<'config, CipherSuite> ClientHello<'config, CipherSuite>
where
    CipherSuite: TlsCipherSuite,
{
    pub fn new<Provider>(config: &'config TlsConfig<'config>, mut provider: Provider) -> Self
    where
        Provider: CryptoProvider,
    {
        let mut random = [0; 32];
        provider.rng().fill_bytes(&mut random);

        Self {
            config,
            random,
            cipher_suite: PhantomData,
            secret: provider.ecdhe_key_pair(),
        }
    }

    pub(crate) fn encode(&self, buf: &mut CryptoBuffer<'_>) -> Result<(), TlsError> {
        let public_key = self.secret.public_key();

        buf.push_u16(LEGACY_VERSION)
            .map_err(|_| TlsError::EncodeError)?;
        buf.extend_from_slice(&self.random)
            .map_err(|_| TlsError::EncodeError)?;

        // session id (empty)
        buf.push(0).map_err(|_| TlsError::EncodeError)?;

        // cipher suites (2+)
        //buf.extend_from_slice(&((self.config.cipher_suites.len() * 2) as u16).to_be_bytes());
        //for c in self.config.cipher_suites.iter() {
        //buf.extend_from_slice(&(*c as u16).to_be_bytes());
        //}
        buf.push_u16(2).map_err(|_| TlsError::EncodeError)?;
        buf.push_u16(CipherSuite::CODE_POINT)
            .map_err(|_| TlsError::EncodeError)?;

        // compression methods, 1 byte of 0
        buf.push(1).map_err(|_| TlsError::EncodeError)?;
        buf.push(0).map_err(|_| TlsError::EncodeError)?;

        // extensions (1+)
        buf.with_u16_length(|buf| {
            // Section 4.2.1.  Supported Versions
            // Implementations of this specification MUST send this extension in the
            // ClientHello containing all versions of TLS which they are prepared to
            // negotiate
            ExtensionType::SupportedVersions
                .encode_with(buf, &|buf| ProtocolVersion::encode_list(&[TLS13], buf))?;

            ExtensionType::SignatureAlgorithms.encode_with(buf, &|buf| {
                SignatureScheme::encode_list(&self.config.signature_schemes, buf)
            })?;

            if let Some(max_fragment_length) = self.config.max_fragment_length {
                ExtensionType::MaxFragmentLength
                    .encode_with(buf, &|buf| max_fragment_length.encode(buf))?;
            }

            ExtensionType::SupportedGroups.encode_with(buf, &|buf| {
                NamedGroup::encode_list(&self.config.named_groups, buf)
            })?;

            ExtensionType::PskKeyExchangeModes.encode_with(buf, &|buf| {
                PskKeyExchangeMode::encode_list(&[PskKeyExchangeMode::PskDheKe], buf)
            })?;

            ExtensionType::KeyShare.encode_with(buf, &|buf| {
                let share = KeyShareEntry {
                    group: NamedGroup::Secp256r1,
                    opaque: public_key,
                };
                KeyShareEntry::encode_list(&[share], buf)
            })?;

            if let Some(server_name) = self.config.server_name {
                ExtensionType::ServerName
                    .encode_with(buf, &|buf| ServerNameList::single(server_name).encode(buf))?;
            }

            if let Some(alpn_protocols) = self.config.alpn_protocols {
                ExtensionType::ApplicationLayerProtocolNegotiation.encode_with(buf, &|buf| {
                    AlpnProtocolNameList {
                        protocols: alpn_protocols,
                    }
                    .encode(buf)
                })?;
            }

            // Section 4.2
            // When multiple extensions of different types are present, the
            // extensions MAY appear in any order, with the exception of
            // "pre_shared_key" which MUST be the last extension in
            // the ClientHello.
            if let Some((_, identities)) = &self.config.psk {
                ExtensionType::PreSharedKey.encode_with(buf, &|buf| {
                    PreSharedKeyClientHello::<4> {
                        identities: identities.clone(),
                        hash_size: <CipherSuite::Hash as OutputSizeUser>::output_size(),
                    }
                    .encode(buf)
                })?;
            }

            Ok(())
        })?;

        Ok(())
    }

    pub fn finalize(
        &self,
        enc_buf: &mut [u8],
        transcript: &mut CipherSuite::Hash,
        write_key_schedule: &mut WriteKeySchedule<CipherSuite>,
    ) -> Result<(), TlsError> {
        // Special case for PSK which needs to:
        //
        // 1. Add the client hello without the binders to the transcript
        // 2. Create the binders for each identity using the transcript
        // 3. Add the rest of the client hello.
        //
        // This causes a few issues since lengths must be correctly inside the payload,
        // but won't actually be added to the record buffer until the end.
        if let Some((_, identities)) = &self.config.psk {
            let binders_len = identities.len() * (1 + HashOutputSize::<CipherSuite>::to_usize());

            let binders_pos = enc_buf.len() - binders_len;

            // NOTE: Exclude the binders_len itself from the digest
            transcript.update(&enc_buf[0..binders_pos - 2]);

            // Append after the client hello data. Sizes have already been set.
            let mut buf = CryptoBuffer::wrap(&mut enc_buf[binders_pos..]);
            // Create a binder and encode for each identity
            for _id in identities {
                let binder = write_key_schedule.create_psk_binder(transcript)?;
                binder.encode(&mut buf)?;
            }

            transcript.update(&enc_buf[binders_pos - 2..]);
        } else {
            transcript.update(enc_buf);
        }

        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RustCryptoP256;
    use crate::config::Aes128GcmSha256;
    use crate::extensions::extension_data::key_share::KeyShareClientHello;
    use crate::extensions::extension_data::max_fragment_length::MaxFragmentLength;
    use crate::extensions::extension_data::psk_key_exchange_modes::PskKeyExchangeModes;
    use crate::extensions::extension_data::signature_algorithms::SignatureAlgorithms;
    use crate::extensions::extension_data::supported_groups::SupportedGroups;
    use crate::extensions::extension_data::supported_versions::SupportedVersionsClientHello;
    use crate::extensions::messages::ClientHelloExtension;
    use heapless::Vec;

    /// The extensions as 0.19.0 encoded them: each a `ClientHelloExtension` and its `encode`.
    fn extensions_through_the_enum(hello: &ClientHello<Aes128GcmSha256>) -> std::vec::Vec<u8> {
        let config = hello.config;
        let mut all: std::vec::Vec<ClientHelloExtension> = vec![
            ClientHelloExtension::SupportedVersions(SupportedVersionsClientHello {
                versions: Vec::from_slice(&[TLS13]).unwrap(),
            }),
            ClientHelloExtension::SignatureAlgorithms(SignatureAlgorithms {
                supported_signature_algorithms: config.signature_schemes.clone(),
            }),
        ];
        if let Some(max_fragment_length) = config.max_fragment_length {
            all.push(ClientHelloExtension::MaxFragmentLength(max_fragment_length));
        }
        all.push(ClientHelloExtension::SupportedGroups(SupportedGroups {
            supported_groups: config.named_groups.clone(),
        }));
        all.push(ClientHelloExtension::PskKeyExchangeModes(
            PskKeyExchangeModes {
                modes: Vec::from_slice(&[PskKeyExchangeMode::PskDheKe]).unwrap(),
            },
        ));
        all.push(ClientHelloExtension::KeyShare(KeyShareClientHello {
            client_shares: Vec::from_slice(&[KeyShareEntry {
                group: NamedGroup::Secp256r1,
                opaque: hello.secret.public_key(),
            }])
            .unwrap(),
        }));
        if let Some(server_name) = config.server_name {
            all.push(ClientHelloExtension::ServerName(ServerNameList::single(
                server_name,
            )));
        }
        if let Some(protocols) = config.alpn_protocols {
            all.push(ClientHelloExtension::ApplicationLayerProtocolNegotiation(
                AlpnProtocolNameList { protocols },
            ));
        }
        if let Some((_, identities)) = &config.psk {
            all.push(ClientHelloExtension::PreSharedKey(
                PreSharedKeyClientHello {
                    identities: identities.clone(),
                    hash_size: 32,
                },
            ));
        }
        let mut bytes = [0; 1024];
        let mut buf = CryptoBuffer::wrap(&mut bytes);
        buf.with_u16_length(|buf| {
            for extension in &all {
                extension.encode(buf)?;
            }
            Ok(())
        })
        .unwrap();
        buf.as_slice().to_vec()
    }

    #[test]
    fn the_client_hello_is_encoded_as_through_the_extension_enum() {
        let alpn: &[&[u8]] = &[b"mqtt", b"x-other"];
        let configs = [
            TlsConfig::new(),
            TlsConfig::new()
                .with_server_name("broker.example")
                .with_max_fragment_length(MaxFragmentLength::Bits12)
                .with_alpn(alpn)
                .enable_rsa_signatures(),
            TlsConfig::new()
                .with_signature_schemes(&[SignatureScheme::EcdsaSecp256r1Sha256])
                .with_psk(&[7; 32], &[b"one", b"two"]),
        ];
        for config in &configs {
            let hello = ClientHello::<Aes128GcmSha256> {
                config,
                random: [5; 32],
                cipher_suite: PhantomData,
                secret: EphemeralKeyPair::generate::<RustCryptoP256>(&mut rand::rngs::OsRng),
            };
            let mut bytes = [0; 1024];
            let mut buf = CryptoBuffer::wrap(&mut bytes);
            hello.encode(&mut buf).unwrap();
            let encoded = buf.as_slice();

            // legacy_version, random, empty session id, one cipher suite, one compression
            // method: 2 + 32 + 1 + 4 + 2 bytes before the extensions.
            assert_eq!(encoded[..2], [0x03, 0x03]);
            assert_eq!(encoded[2..34], [5; 32]);
            assert_eq!(encoded[34..41], [0, 0, 2, 0x13, 0x01, 1, 0]);
            assert_eq!(encoded[41..], extensions_through_the_enum(&hello)[..]);
        }
    }
}
