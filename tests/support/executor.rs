//! What the async client needs on the host: a minimal executor, and an idle wait that returns
//! at once (the host transport's `read_ready` already waits for data).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Runs `future` to completion on this thread: the host transport's async methods complete
/// without yielding, so polling in a loop is all an executor has to do.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// The async client's idle wait, as a plain function type.
pub type Idle = fn(Option<u32>) -> std::future::Ready<()>;

/// `TcpTransport`'s `read_ready` already waited for data; nothing more to do.
pub fn idle(_timeout_ms: Option<u32>) -> std::future::Ready<()> {
    std::future::ready(())
}
