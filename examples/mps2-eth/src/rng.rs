//! The random generator TLS draws from (the ECDHE key share, the ClientHello random): AES-128
//! in counter mode, keyed with a 32-byte seed (16 bytes of key, 16 of initial counter block),
//! as NIST SP 800-90A's CTR_DRBG produces its output (without its reseeding, as ChaCha20Rng,
//! which this replaces, has none either: one seed per run, from the host). The counter is
//! GCM's (`Ctr32BE`, 32 bits), so the image has one counter mode: 2^32 blocks (64 GiB) per
//! seed, where a handshake draws about a hundred bytes.
//!
//! Why not ChaCha20Rng: the image already has AES-128 (TLS_AES_128_GCM_SHA256) and its
//! counter mode (GCM), so this adds about 0.2 KB of flash where ChaCha20's block function and
//! its buffering took 2.7 KB: 2.6 KB less in the mps2-eth image (`arm-none-eabi-size`). Its
//! state (the AES key schedule) is about 200 bytes larger.

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use rand_core::{CryptoRng, Error, RngCore, SeedableRng};

/// AES-128-CTR keystream as a cryptographic random generator.
pub struct CtrRng(ctr::Ctr32BE<Aes128>);

impl SeedableRng for CtrRng {
    type Seed = [u8; 32];

    fn from_seed(seed: [u8; 32]) -> Self {
        let (key, counter) = seed.split_at(16);
        let (mut key_block, mut counter_block) = ([0u8; 16], [0u8; 16]);
        key_block.copy_from_slice(key);
        counter_block.copy_from_slice(counter);
        CtrRng(ctr::Ctr32BE::new(&key_block.into(), &counter_block.into()))
    }
}

impl RngCore for CtrRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
        // Panics only after 64 GiB from one seed (the counter's end): never within a run.
        self.0.apply_keystream(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for CtrRng {}
