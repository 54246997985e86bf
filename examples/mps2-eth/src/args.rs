//! The run's parameters: `key=value` words of QEMU's `-append` (README.md lists them).

use core::fmt;

use embedded_mqtts::QoS;

/// Which QoS each message is published with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QosPlan {
    /// Every message with this QoS (`qos=0`, `1` or `2`).
    Every(QoS),
    /// QoS 1 and QoS 2 in turn, starting with QoS 1 (`qos=1+2`).
    Alternate,
}

impl QosPlan {
    /// The QoS of message number `index` (from 0).
    pub fn of(self, index: u32) -> QoS {
        match self {
            QosPlan::Every(qos) => qos,
            QosPlan::Alternate if index.is_multiple_of(2) => QoS::AtLeastOnce,
            QosPlan::Alternate => QoS::ExactlyOnce,
        }
    }
}

/// What to do.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    /// The broker's port on the host (reached at 10.0.2.2).
    pub port: u16,
    /// The broker's name: SNI, and the name its certificate must carry.
    pub name: &'a str,
    /// The topic to publish on.
    pub topic: &'a str,
    /// How many messages to publish (by default 1, or 0 in receive mode).
    pub count: u32,
    /// Their QoS.
    pub qos: QosPlan,
    /// Messages to wait for on `<topic>/in` (subscribed before publishing).
    pub recv: u32,
    /// Receive mode: subscribe to this topic (a filter: wildcards allowed) and take one
    /// message of any size there (its length and SHA-256 are printed).
    pub sub: Option<&'a str>,
    /// Pause between two publishes, in milliseconds.
    pub interval_ms: u32,
    /// Seconds to stay connected and idle after the work is done.
    pub idle_secs: u32,
    /// MQTT keep-alive, in seconds.
    pub keep_alive_secs: u16,
    /// Seconds the whole run may take, reconnects included.
    pub timeout_secs: u32,
}

/// A word of the command line that is not understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadArgument<'a> {
    /// The word.
    pub word: &'a str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for BadArgument<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "argument '{}': {}", self.word, self.problem)
    }
}

impl<'a> Args<'a> {
    /// Parses the `key=value` words of `line`; other words (the kernel's file name, which
    /// QEMU passes first) are skipped.
    pub fn parse(line: &'a str) -> Result<Args<'a>, BadArgument<'a>> {
        let mut args = Args {
            port: 0,
            name: "localhost",
            topic: "qemu/test",
            count: 1,
            qos: QosPlan::Every(QoS::AtLeastOnce),
            recv: 0,
            sub: None,
            interval_ms: 0,
            idle_secs: 0,
            keep_alive_secs: 30,
            timeout_secs: 60,
        };
        let mut count = None;
        for word in line.split_ascii_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            let bad = |problem| BadArgument { word, problem };
            let number = || value.parse::<u32>().map_err(|_| bad("not a number"));
            match key {
                "port" => {
                    args.port = value
                        .parse()
                        .ok()
                        .filter(|&port| port != 0)
                        .ok_or(bad("not a port (1-65535)"))?
                }
                "name" => args.name = value,
                "topic" if value.is_empty() => return Err(bad("the topic is empty")),
                "topic" => args.topic = value,
                "count" => count = Some(number()?),
                "qos" => {
                    args.qos = match value {
                        "0" => QosPlan::Every(QoS::AtMostOnce),
                        "1" => QosPlan::Every(QoS::AtLeastOnce),
                        "2" => QosPlan::Every(QoS::ExactlyOnce),
                        "1+2" => QosPlan::Alternate,
                        _ => return Err(bad("QoS is 0, 1, 2 or 1+2")),
                    }
                }
                "recv" => args.recv = number()?,
                "sub" if value.is_empty() => return Err(bad("the topic is empty")),
                "sub" => args.sub = Some(value),
                "interval" => args.interval_ms = number()?,
                "idle" => args.idle_secs = number()?,
                "keepalive" => {
                    args.keep_alive_secs = u16::try_from(number()?)
                        .map_err(|_| bad("keep-alive is at most 65535 s"))?
                }
                "timeout" => args.timeout_secs = number()?,
                _ => return Err(bad("unknown key")),
            }
        }
        args.count = count.unwrap_or(if args.sub.is_some() { 0 } else { 1 });
        if args.port == 0 {
            return Err(BadArgument {
                word: "port=",
                problem: "missing: the broker's port on the host is required",
            });
        }
        Ok(args)
    }
}
