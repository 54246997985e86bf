//! `--cafile`, `--pin-cert`, `--pin-spki`: the broker verified against a pin over TLS 1.3;
//! `--cert` and `--key`: the client's certificate for brokers that require one;
//! `--tls-alpn`: protocols offered by ALPN.

use std::time::{SystemTime, UNIX_EPOCH};

use embedded_mqtts::host::TcpTransport;
use embedded_mqtts::tls::{
    pem_certificates_to_der, CertificateSummary, ClientAuth, ClientError, ClientIdentity,
    ConnectError, HostCheck, Pin, PinnedProvider, TlsOptions, TlsSocket, TlsStream, ValidityTime,
    VerifyOptions, READ_BUFFER,
};

use crate::args::{ClientCertArgs, ConnectionArgs, TlsArgs, Trust};
use crate::failure::Failure;
use crate::link::OverTransport;

/// The largest TLS record we write: 16 KiB of plaintext and its overhead.
const WRITE_BUFFER: usize = 16_384 + 256;

/// Certificates (DER) from a PEM file (any number of CERTIFICATE blocks) or a DER file.
fn read_certificates(path: &std::path::Path) -> Result<Vec<Vec<u8>>, Failure> {
    let failure = |reason: String| Failure::TrustFile {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| failure(e.to_string()))?;
    if bytes.first() == Some(&0x30) {
        return Ok(vec![bytes]);
    }
    let mut out = vec![0u8; bytes.len()];
    let ders =
        pem_certificates_to_der::<32>(&bytes, &mut out).map_err(|e| failure(e.to_string()))?;
    if ders.is_empty() {
        return Err(failure("no certificate in the file".to_owned()));
    }
    Ok(ders.iter().map(|der| der.to_vec()).collect())
}

/// The client certificate (DER) and its key file's bytes, for `--cert` and `--key`.
fn read_client_files(files: &ClientCertArgs) -> Result<(Vec<u8>, Vec<u8>), Failure> {
    let mut certificates = read_certificates(&files.cert)?;
    if certificates.len() > 1 {
        eprintln!(
            "mqtt: warning: {}: only the first certificate is sent (embedded-tls sends no chain)",
            files.cert.display()
        );
    }
    let cert = certificates.swap_remove(0);
    let key = std::fs::read(&files.key).map_err(|e| Failure::TrustFile {
        path: files.key.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok((cert, key))
}

/// The identity of `--cert` with `--key` (PEM, or DER when the file starts like DER).
fn client_identity<'c>(
    files: &ClientCertArgs,
    cert: &'c [u8],
    key: &[u8],
) -> Result<ClientIdentity<'c>, Failure> {
    let identity = if key.first() == Some(&0x30) {
        ClientIdentity::from_p256_key_der(cert, key)
    } else {
        ClientIdentity::from_p256_key_pem(cert, key)
    };
    identity.map_err(|e| Failure::TrustFile {
        path: format!("{} with {}", files.cert.display(), files.key.display()),
        reason: e.to_string(),
    })
}

fn log(args: &ConnectionArgs, line: &str) {
    if args.debug {
        eprintln!("Client {} {line}", args.client_id);
    }
}

/// Connect with TLS over `transport` and run `job` over the verified stream.
pub fn run_over_tls(
    args: &ConnectionArgs,
    tls: &TlsArgs,
    transport: TcpTransport,
    job: &mut impl OverTransport,
) -> Result<(), Failure> {
    let certificates = match &tls.trust {
        Trust::CaFile(path) | Trust::Certificate(path) => read_certificates(path)?,
        Trust::Spki(_) => Vec::new(),
    };
    let slices: Vec<&[u8]> = certificates.iter().map(Vec::as_slice).collect();
    let pins: Vec<Pin<'_>> = match &tls.trust {
        Trust::CaFile(_) => vec![Pin::Ca(&slices)],
        Trust::Certificate(_) => slices.iter().map(|der| Pin::Certificate(der)).collect(),
        Trust::Spki(hash) => vec![Pin::SpkiSha256(*hash)],
    };
    let now = tls.time.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let mut options = VerifyOptions::new();
    if tls.insecure {
        options.host_check = HostCheck::SkipHostName;
    }
    let client_files = match &tls.client {
        Some(files) => Some((files, read_client_files(files)?)),
        None => None,
    };
    let identity = match &client_files {
        Some((files, (cert, key))) => Some(client_identity(files, cert, key)?),
        None => None,
    };
    let client_cert = tls.client.as_ref().map(|c| c.cert.display().to_string());
    let mut provider = PinnedProvider::new(rand_core::OsRng, &pins)
        .with_options(options)
        .with_client_identity(identity);
    let alpn: Vec<&[u8]> = tls.alpn.iter().map(String::as_bytes).collect();
    let mut tls_options = TlsOptions::new(&args.host, ValidityTime::UnixSeconds(now));
    if !alpn.is_empty() {
        tls_options = tls_options.alpn(&alpn);
    }
    let socket = TlsSocket::new(transport);
    let mut read_buffer = vec![0u8; READ_BUFFER];
    let mut write_buffer = vec![0u8; WRITE_BUFFER];
    let trust = match &tls.trust {
        Trust::CaFile(path) => format!("CA file {}", path.display()),
        Trust::Certificate(path) => format!("exact certificate {}", path.display()),
        Trust::Spki(_) => "SPKI SHA-256 pin".to_owned(),
    };
    log(
        args,
        &format!(
            "starting TLS 1.3 handshake with {} (trust: {trust})",
            args.host
        ),
    );
    let stream = TlsStream::connect(
        &socket,
        &mut read_buffer,
        &mut write_buffer,
        &tls_options,
        &mut provider,
    )
    .map_err(|e| match e {
        ConnectError::ClientCertificateRefused(refusal) => {
            log(args, &format!("client certificate REFUSED: {refusal}"));
            Failure::ClientCertificateRefused {
                cert: client_cert.clone(),
                refusal,
            }
        }
        e => {
            if let ConnectError::Verify(reason) = &e {
                log(args, &format!("broker certificate REFUSED: {reason}"));
            }
            Failure::Tls(Box::new(e))
        }
    })?;
    let verified = stream.verified();
    let key: String = verified
        .leaf_spki_sha256()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let checked_name = if tls.insecure || !matches!(tls.trust, Trust::CaFile(_)) {
        "host name not checked".to_owned()
    } else {
        format!("host name '{}' matched", args.host)
    };
    log(
        args,
        &format!(
            "broker certificate verified: {trust}, {checked_name}, CertificateVerify signature \
             checked, key SPKI SHA-256 {key}"
        ),
    );
    if args.debug {
        if let Some(der) = slices.get(verified.pin_index()) {
            if let Ok(summary) = CertificateSummary::parse(der) {
                log(args, &format!("pinned certificate: {}", summary.subject()));
            }
        }
    }
    let client_auth = stream.client_auth();
    match client_auth {
        ClientAuth::NotRequested => {}
        ClientAuth::RequestedWithoutIdentity => log(
            args,
            "broker asked for a client certificate; none given (--cert, --key)",
        ),
        ClientAuth::Presented | ClientAuth::SignerFailed(_) => log(
            args,
            &format!(
                "broker asked for a client certificate; sent {}",
                client_cert.as_deref().unwrap_or("?")
            ),
        ),
    }
    // What the stream knows of its own failure (the broker refusing the client certificate on
    // the first read or write after the handshake, an alert, an unexpected message) reaches
    // the MQTT client only as an error kind: ask the stream.
    let mut stream = stream;
    let result = job.run(&mut stream);
    result.map_err(|failure| match failure {
        Failure::Mqtt(e) => match ClientError::over_tls(e, stream.failure()) {
            ClientError::ClientCertificateRefused(refusal) => Failure::ClientCertificateRefused {
                cert: client_cert,
                refusal,
            },
            ClientError::Stream(failure) => Failure::TlsStream(failure),
            ClientError::Tls(e) => Failure::Tls(Box::new(e)),
            ClientError::Mqtt(e) => Failure::Mqtt(e),
        },
        other => other,
    })
}
