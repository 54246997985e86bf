//! The MQTT client's idle hook: sleep until the TCP socket under the TLS stream has bytes, the
//! broker closed the connection, or the client's timeout passed.
//!
//! The client calls it only between reads and writes of the stream, so
//! [`TlsSocket::get`] finds the socket free (the stream borrows it only inside its own
//! operations), and drops it before its next read: the one future the client cancels.
//!
//! `TcpSocket::wait_read_ready` alone would sleep forever once the broker sent FIN or RST: it
//! waits for bytes (`can_recv`), and none come, while the socket's `read_ready` already says
//! "ready" (`can_recv || !may_recv`) so that a read reports the end. smoltcp wakes the same
//! receive waker on every state change, so [`readable_or_closed`] checks `may_recv()` at
//! each wake-up as well. Seen in the broker-restart test: Mosquitto's shutdown closes the
//! connection and the firmware notices at once.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embassy_futures::select::select;
use embassy_net::tcp::TcpSocket;
use embassy_time::Timer;
use embedded_mqtts::asynch::Idle;
use embedded_mqtts::tls::TlsSocket;

/// The TCP socket under the TLS stream, reachable between the stream's reads.
pub type Socket<'d> = TlsSocket<TcpSocket<'d>>;

/// The client's idle wait: until `socket` has bytes, is closed, or `timeout_ms` passed.
#[derive(Clone, Copy)]
pub struct SocketIdle<'s, 'd>(pub &'s Socket<'d>);

impl Idle for SocketIdle<'_, '_> {
    async fn idle(&mut self, timeout_ms: Option<u32>) {
        match timeout_ms {
            Some(ms) => {
                select(readable_or_closed(self.0), Timer::after_millis(ms.into())).await;
            }
            None => readable_or_closed(self.0).await,
        }
    }
}

/// Finishes when bytes can be read or the broker closed or reset the connection.
///
/// The socket is borrowed only while the future is polled, never across a wait. Found busy
/// (a read or write of the stream in progress, which the client's order rules out), it
/// finishes at once: the client then reads or waits again.
pub fn readable_or_closed<'s>(socket: &'s Socket<'_>) -> impl Future<Output = ()> + 's {
    poll_fn(move |cx| {
        let Ok(socket) = socket.get() else {
            return Poll::Ready(());
        };
        if !socket.may_recv() {
            return Poll::Ready(());
        }
        // `wait_read_ready` is a stateless poll of the socket: a fresh one per poll registers
        // the waker the same way.
        pin!(socket.wait_read_ready()).poll(cx)
    })
}
