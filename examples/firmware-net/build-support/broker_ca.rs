// The broker's CA pin, for the firmwares' build scripts: `include!` this file in build.rs
// (build scripts cannot depend on the firmware's own crates, and this is too small for a
// crate of its own). Used by examples/frdm-k64f, examples/mps2-eth and examples/mps2-embassy.

/// The CA certificate named by `$BROKER_CA` at build time (else `default`, a path relative to
/// the firmware's folder), as DER: a DER file as is, a PEM file's first CERTIFICATE decoded.
/// Tells cargo to rebuild when the variable or the file changes. Returns the path and the DER,
/// or why the file could not be read; panics (a build error) if it is neither DER nor PEM.
fn broker_ca_der(default: &str) -> (String, std::io::Result<Vec<u8>>) {
    println!("cargo:rerun-if-env-changed=BROKER_CA");
    let path = std::env::var("BROKER_CA").unwrap_or_else(|_| default.to_string());
    println!("cargo:rerun-if-changed={path}");
    let der = std::fs::read(&path).map(|bytes| {
        certificate_der(&bytes)
            .unwrap_or_else(|| panic!("{path}: neither DER nor a PEM CERTIFICATE"))
    });
    (path, der)
}

/// DER as is (starts with a SEQUENCE tag), or the first PEM certificate decoded.
fn certificate_der(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return Some(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let body = text
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)?
        .split("-----END CERTIFICATE-----")
        .next()?;
    base64_decode(body)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}
