//! A transport that stops writing when told: after a budget of bytes its `write` returns
//! `Ok(0)`, which embedded-io forbids and some network stacks do once a socket is closed (and
//! on which embedded-io's `write_all` panics). It wraps a real transport (TCP, under TLS or
//! not), so everything before the stop is a real session with a real broker.

use std::cell::Cell;
use std::rc::Rc;

use embedded_io::{ErrorType, ReadReady};

/// A transport whose writes stop at the budget of its [`WriteBudget`]: the write that crosses
/// it takes what is left, every later one returns `Ok(0)`. Reads are the inner transport's.
#[derive(Debug)]
pub struct StopsWriting<T> {
    inner: T,
    budget: WriteBudget,
}

/// The handle the test keeps on a [`StopsWriting`] (which a TLS stream or a client owns).
#[derive(Clone, Debug, Default)]
pub struct WriteBudget(Rc<Cell<Budget>>);

#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    /// Bytes still taken; `None`: no limit.
    left: Option<usize>,
    /// How many writes of a non-empty buffer returned `Ok(0)`.
    zero_writes: usize,
}

impl<T> StopsWriting<T> {
    /// `inner`, writing without limit until [`WriteBudget::stop_after`].
    pub fn new(inner: T) -> (Self, WriteBudget) {
        let budget = WriteBudget::default();
        let transport = StopsWriting {
            inner,
            budget: budget.clone(),
        };
        (transport, budget)
    }
}

impl WriteBudget {
    /// From now on, take `bytes` more bytes, then nothing.
    pub fn stop_after(&self, bytes: usize) {
        self.update(|b| b.left = Some(bytes));
    }

    /// How many writes returned `Ok(0)` so far.
    pub fn zero_writes(&self) -> usize {
        self.0.get().zero_writes
    }

    fn update(&self, change: impl FnOnce(&mut Budget)) {
        let mut budget = self.0.get();
        change(&mut budget);
        self.0.set(budget);
    }

    /// How many of `len` bytes the next write may take (`0` for a non-empty buffer is counted:
    /// the write returns `Ok(0)` without reaching the transport).
    fn allowed(&self, len: usize) -> usize {
        let allowed = self.0.get().left.map_or(len, |left| left.min(len));
        if allowed == 0 && len > 0 {
            self.update(|b| b.zero_writes += 1);
        }
        allowed
    }

    /// The transport took `n` bytes.
    fn took(&self, n: usize) {
        self.update(|b| b.left = b.left.map(|left| left.saturating_sub(n)));
    }
}

impl<T: ErrorType> ErrorType for StopsWriting<T> {
    type Error = T::Error;
}

impl<T: ReadReady> ReadReady for StopsWriting<T> {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        self.inner.read_ready()
    }
}

impl<T: embedded_io::Read> embedded_io::Read for StopsWriting<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.inner.read(buf)
    }
}

impl<T: embedded_io::Write> embedded_io::Write for StopsWriting<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let allowed = self.budget.allowed(buf.len());
        if allowed == 0 {
            return Ok(0);
        }
        let n = self.inner.write(&buf[..allowed])?;
        self.budget.took(n);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()
    }
}

impl<T: embedded_io_async::Read> embedded_io_async::Read for StopsWriting<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.inner.read(buf).await
    }
}

impl<T: embedded_io_async::Write> embedded_io_async::Write for StopsWriting<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let allowed = self.budget.allowed(buf.len());
        if allowed == 0 {
            return Ok(0);
        }
        let n = self.inner.write(&buf[..allowed]).await?;
        self.budget.took(n);
        Ok(n)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush().await
    }
}
