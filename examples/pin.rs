//! What to pin, without openssl: print a certificate's subject, issuer, validity, names and
//! SPKI SHA-256, with ready-to-paste Rust for the firmware.
//!
//! ```text
//! cargo run --features std --example pin -- certs/rsa-root.crt          # a PEM or DER file
//! cargo run --features std --example pin -- --connect broker.local:8883  # what a broker presents
//! cargo run --features std --example pin -- FILE.pem --write-der FILE.der
//! ```
//!
//! `--connect` runs a TLS 1.3 handshake only far enough to receive the broker's certificates,
//! then aborts it: it shows what the broker presents and trusts none of it. Check the output
//! against what you expect before pinning it.

use std::process::ExitCode;

use embedded_mqtts::tls::{pem_certificates_to_der, CertificateSummary};
use embedded_tls::{
    Aes128GcmSha256, CertificateEntryRef, CertificateRef, CertificateVerifyRef, CryptoProvider,
    TlsConfig, TlsContext, TlsError, TlsVerifier,
};

struct Args {
    file: Option<String>,
    connect: Option<String>,
    server_name: Option<String>,
    write_der: Option<String>,
}

const USAGE: &str =
    "usage: pin FILE [--write-der OUT.der]\n       pin --connect HOST:PORT [--servername NAME]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        file: None,
        connect: None,
        server_name: None,
        write_der: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--connect" => args.connect = Some(value()?),
            "--servername" => args.server_name = Some(value()?),
            "--write-der" => args.write_der = Some(value()?),
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag}\n{USAGE}")),
            _ => args.file = Some(arg),
        }
    }
    if args.file.is_some() == args.connect.is_some() {
        return Err(USAGE.into());
    }
    Ok(args)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Certificates from a file: one DER certificate, or every CERTIFICATE block of a PEM file.
fn read_certificates(path: &str) -> Result<Vec<Vec<u8>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if !bytes.starts_with(b"-----") && !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Ok(vec![bytes]);
    }
    let mut out = vec![0u8; bytes.len()];
    let ders =
        pem_certificates_to_der::<16>(&bytes, &mut out).map_err(|e| format!("{path}: {e}"))?;
    Ok(ders.iter().map(|der| der.to_vec()).collect())
}

fn describe(index: usize, der: &[u8], include_path: Option<&str>) -> Result<(), String> {
    let s = CertificateSummary::parse(der).map_err(|e| format!("certificate {index}: {e}"))?;
    let pin = hex(&s.spki_sha256());
    println!(
        "certificate {index} (X.509 v{}, {} bytes DER)",
        s.version(),
        der.len()
    );
    println!("  subject    {}", s.subject());
    println!("  issuer     {}", s.issuer());
    println!("  valid      {} to {}", s.not_before(), s.not_after());
    let names: Vec<String> = s.alt_names().map(|n| n.to_string()).collect();
    if names.is_empty() {
        println!("  names      (no subjectAltName)");
    } else {
        println!("  names      {}", names.join(", "));
    }
    let path = include_path.unwrap_or("broker.der");
    println!("  SPKI pin   {pin}");
    println!();
    if s.is_ca() {
        let role = if s.is_self_issued() {
            "root"
        } else {
            "intermediate"
        };
        println!("  // A {role} CA: pin it, and the broker's chain is verified up to it:");
        println!("  static BROKER_CA: &[u8] = include_bytes!(\"{path}\");");
        println!("  const BROKER_PIN: embedded_mqtts::tls::Pin<'static> =");
        println!("      embedded_mqtts::tls::Pin::Ca(&[BROKER_CA]);");
    } else {
        println!("  // The broker's own key (survives renewal with the same key):");
        println!("  const BROKER_PIN: embedded_mqtts::tls::Pin<'static> =");
        println!("      match embedded_mqtts::tls::Pin::spki_sha256_hex(\"{pin}\") {{");
        println!("          Ok(pin) => pin,");
        println!("          Err(_) => panic!(\"bad pin\"),");
        println!("      }};");
        println!("  // Or exactly this certificate (DER; `--write-der` writes it):");
        println!("  static BROKER_CERT: &[u8] = include_bytes!(\"{path}\");");
        println!("  // ... embedded_mqtts::tls::Pin::Certificate(BROKER_CERT)");
    }
    println!();
    Ok(())
}

/// A verifier that only collects what the broker presents, then stops the handshake.
#[derive(Default)]
struct Capture {
    chain: Vec<Vec<u8>>,
}

impl TlsVerifier<Aes128GcmSha256> for Capture {
    fn set_hostname_verification(&mut self, _hostname: &str) -> Result<(), TlsError> {
        Ok(())
    }

    fn verify_certificate(
        &mut self,
        _transcript: &sha2::Sha256,
        cert: CertificateRef<'_>,
    ) -> Result<(), TlsError> {
        for entry in &cert.entries {
            if let CertificateEntryRef::X509(der) = entry {
                self.chain.push(der.to_vec());
            }
        }
        // Collected: abort here. Nothing was verified, so nothing may go on.
        Err(TlsError::InvalidCertificate)
    }

    fn verify_signature(&mut self, _verify: CertificateVerifyRef<'_>) -> Result<(), TlsError> {
        Err(TlsError::InvalidSignature)
    }
}

struct CaptureProvider {
    rng: rand_core::OsRng,
    capture: Capture,
}

impl CryptoProvider for CaptureProvider {
    type CipherSuite = Aes128GcmSha256;
    type Signature = p256::ecdsa::DerSignature;

    fn rng(&mut self) -> impl rand_core::CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Self::CipherSuite>, TlsError> {
        Ok(&mut self.capture)
    }
}

fn fetch_chain(address: &str, server_name: &str) -> Result<Vec<Vec<u8>>, String> {
    let socket = std::net::TcpStream::connect(address).map_err(|e| format!("{address}: {e}"))?;
    let socket = embedded_io_adapters::std::FromStd::new(socket);
    let mut read_buffer = vec![0u8; 16_640];
    let mut write_buffer = vec![0u8; 4096];
    let mut tls =
        embedded_tls::blocking::TlsConnection::new(socket, &mut read_buffer, &mut write_buffer);
    let config = TlsConfig::new()
        .with_server_name(server_name)
        .enable_rsa_signatures();
    let mut provider = CaptureProvider {
        rng: rand_core::OsRng,
        capture: Capture::default(),
    };
    let result = tls.open(TlsContext::new(&config, &mut provider));
    if provider.capture.chain.is_empty() {
        return Err(match result {
            Err(e) => format!("{address}: TLS handshake failed before any certificate: {e:?}"),
            Ok(()) => format!("{address}: the server sent no certificate"),
        });
    }
    Ok(provider.capture.chain)
}

fn run(args: &Args) -> Result<(), String> {
    let (chain, include_path) = match (&args.file, &args.connect) {
        (Some(file), _) => {
            let chain = read_certificates(file)?;
            let is_der = std::fs::read(file).is_ok_and(|b| b.first() == Some(&0x30));
            let path = args.write_der.clone().or(is_der.then(|| file.clone()));
            (chain, path)
        }
        (None, Some(address)) => {
            let host = address
                .rsplit_once(':')
                .map_or(address.as_str(), |(h, _)| h);
            let name = args.server_name.as_deref().unwrap_or(host);
            println!("{address} presents (server name {name}; nothing below is verified):\n");
            (fetch_chain(address, name)?, args.write_der.clone())
        }
        (None, None) => return Err(USAGE.into()),
    };
    for (index, der) in chain.iter().enumerate() {
        describe(index, der, include_path.as_deref())?;
    }
    if let (Some(out), Some(first)) = (&args.write_der, chain.first()) {
        std::fs::write(out, first).map_err(|e| format!("{out}: {e}"))?;
        println!("wrote certificate 0 as DER to {out}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(|args| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("pin: {reason}");
            ExitCode::FAILURE
        }
    }
}
