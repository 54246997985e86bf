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
