//! Writing a whole record to the socket, blocking or async, without embedded-io's
//! `write_all`: that one panics (`"write() returned Ok(0)"`) when the socket's `write` takes no
//! byte of a non-empty buffer. embedded-io forbids `Ok(0)` there, but the socket is the
//! application's code (some network stacks return `Ok(0)` once a socket is closed), and a
//! library that panics on it resets a device over what a closed connection did. Here it is
//! the error `TlsError::Io(ErrorKind::WriteZero)`, as std's `write_all` reports it.

use embedded_io::ErrorKind;
use embedded_io::Write as BlockingWrite;
use embedded_io_async::Write as AsyncWrite;

use crate::TlsError;

/// What is left to write of the non-empty `rest` after the socket's `write` of it returned
/// `written`: `Ok(0)` is `TlsError::Io(ErrorKind::WriteZero)` (the socket took nothing, and
/// would again), and a count beyond `rest` (the socket broke its contract) counts as all of it,
/// where `write_all` would panic slicing.
fn unwritten<E: embedded_io::Error>(
    rest: &[u8],
    written: Result<usize, E>,
) -> Result<&[u8], TlsError> {
    match written {
        Ok(0) => Err(TlsError::Io(ErrorKind::WriteZero)),
        Ok(n) => Ok(rest.get(n..).unwrap_or_default()),
        Err(e) => Err(TlsError::Io(e.kind())),
    }
}

/// Writes all of `bytes` to `socket` by the rule of [`unwritten`]. Does not flush.
pub(crate) fn write_all_blocking(
    socket: &mut impl BlockingWrite,
    mut bytes: &[u8],
) -> Result<(), TlsError> {
    while !bytes.is_empty() {
        bytes = unwritten(bytes, socket.write(bytes))?;
    }
    Ok(())
}

/// The async twin of [`write_all_blocking`].
pub(crate) async fn write_all(
    socket: &mut impl AsyncWrite,
    mut bytes: &[u8],
) -> Result<(), TlsError> {
    while !bytes.is_empty() {
        bytes = unwritten(bytes, socket.write(bytes).await)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What no real socket shows: the rule for each answer of `write` (a real socket that
    /// writes nothing is in `tests/write_zero_test.rs`).
    #[test]
    fn what_is_left_after_each_answer_of_write() {
        let rest = b"record";
        let left = |written| unwritten::<ErrorKind>(rest, written).map_err(|e| format!("{e:?}"));
        assert_eq!(left(Ok(2)), Ok(&b"cord"[..]));
        assert_eq!(left(Ok(6)), Ok(&b""[..]));
        assert_eq!(left(Ok(0)), Err("Io(WriteZero)".into()));
        // More than it was given: all of it, where `write_all` panicked slicing.
        assert_eq!(left(Ok(7)), Ok(&b""[..]));
        assert_eq!(
            left(Err(ErrorKind::ConnectionReset)),
            Err("Io(ConnectionReset)".into())
        );
    }
}
