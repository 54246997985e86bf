//! The run's parameters: `key=value` words from QEMU's `-append` (the first word, the
//! `-kernel` file name, is skipped: it has no `=`).
//!
//! | word | meaning | default |
//! |---|---|---|
//! | `port=P` | the broker's port on the host, reached at 10.0.2.2 | 8883 |
//! | `name=N` | the broker's host name: SNI and the name its certificate must carry | `localhost` |
//! | `topic=T` | where the messages are published | `qemu/test` |
//! | `count=N` | how many messages to publish | 1 |
//! | `qos=Q` | 0, 1 or 2 | 1 |
//! | `recv=K` | subscribe to `T/in` and wait for K messages there, printing each | 0 |
//! | `interval=MS` | pause between two publishes | 0 |
//! | `idle=S` | stay connected S seconds after the last acknowledgement (keep-alive) | 0 |
//! | `keepalive=S` | MQTT keep-alive | 30 |
//! | `flush=F` | `relaxed`: a flush hands the bytes to TCP; `strict`: it also waits for the broker's TCP ACK | `relaxed` |

use core::fmt;

use embedded_mqtts::QoS;

/// How a flush of the TCP socket behaves (see `net::Flush`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushMode {
    /// Hand the bytes to TCP and return: TCP sends them as soon as it can.
    Relaxed,
    /// Wait until the broker acknowledged every byte (embassy-net's `TcpSocket::flush`).
    Strict,
}

/// The parameters of one run.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    pub port: u16,
    pub server_name: &'a str,
    pub topic: &'a str,
    pub count: u32,
    pub qos: QoS,
    pub receive: u32,
    pub interval_ms: u32,
    pub idle_secs: u32,
    pub keep_alive_secs: u16,
    pub flush: FlushMode,
}

/// A word that is not understood.
#[derive(Clone, Copy, Debug)]
pub struct BadWord<'a>(pub &'a str);

impl fmt::Display for BadWord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad argument {:?} (expected port=, name=, topic=, count=, qos=0|1|2, recv=, interval=, idle=, keepalive=, flush=strict|relaxed)",
            self.0
        )
    }
}

impl<'a> Args<'a> {
    /// The parameters in `line`, defaults for the words it lacks.
    pub fn parse(line: &'a str) -> Result<Args<'a>, BadWord<'a>> {
        let mut args = Args {
            port: 8883,
            server_name: "localhost",
            topic: "qemu/test",
            count: 1,
            qos: QoS::AtLeastOnce,
            receive: 0,
            interval_ms: 0,
            idle_secs: 0,
            keep_alive_secs: 30,
            flush: FlushMode::Relaxed,
        };
        for word in line.split_ascii_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            let bad = || BadWord(word);
            let number = || value.parse::<u32>().map_err(|_| bad());
            match key {
                "port" => args.port = value.parse().map_err(|_| bad())?,
                "name" if !value.is_empty() => args.server_name = value,
                "topic" if !value.is_empty() => args.topic = value,
                "count" => args.count = number()?,
                "qos" => {
                    args.qos = match value {
                        "0" => QoS::AtMostOnce,
                        "1" => QoS::AtLeastOnce,
                        "2" => QoS::ExactlyOnce,
                        _ => return Err(bad()),
                    }
                }
                "recv" => args.receive = number()?,
                "interval" => args.interval_ms = number()?,
                "idle" => args.idle_secs = number()?,
                "keepalive" => args.keep_alive_secs = value.parse().map_err(|_| bad())?,
                "flush" => {
                    args.flush = match value {
                        "relaxed" => FlushMode::Relaxed,
                        "strict" => FlushMode::Strict,
                        _ => return Err(bad()),
                    }
                }
                _ => return Err(bad()),
            }
        }
        Ok(args)
    }
}
