//! The command line: the flags of `mosquitto_pub` and `mosquitto_sub`, parsed by hand.
//!
//! Options take their value as the next argument (`-t topic`) or, for long options, after `=`
//! (`--topic=topic`). As with the Mosquitto tools, `-h` is the host; help is `--help`.

use std::path::PathBuf;
use std::time::Duration;

use embedded_mqtts::{ConnectOptions, QoS, Will};

const MAIN_USAGE: &str = "\
usage: mqtt pub [OPTIONS] -t TOPIC {-m MESSAGE | -n | -s | -l | -f FILE}
       mqtt sub [OPTIONS] -t FILTER [-t FILTER ...]
       mqtt {pub|sub} --help

An MQTT 3.1.1 client on embedded-mqtts, with the flags of mosquitto_pub and mosquitto_sub.
";

const CONNECTION_OPTIONS: &str = "
connection:
  -h, --host HOST        broker host (default localhost)
  -p, --port PORT        broker port (default 1883)
  -i, --id ID            client id (default mqtt-pub-<pid> / mqtt-sub-<pid>)
  -k, --keepalive SECS   keep-alive period, 0 = off (default 60)
  -c, --disable-clean-session
                         persistent session: the broker keeps subscriptions and queues
                         QoS 1/2 messages while the client is away (needs -i)
  -u, --username USER    user name
  -P, --pw PASS          password (needs -u)
  --will-topic TOPIC     last will: published by the broker if the client vanishes
  --will-payload TEXT    the will's payload (default empty)
  --will-qos QOS         the will's QoS (default 0)
  --will-retain          the will is retained
  --reconnect            on connection loss, reconnect with the same id and session and
                         resume the messages in flight; gives up after 5 tries (pauses of
                         1, 2, 4, 8, 16 s). Implies a persistent session (-c): every
                         connection asks the broker to keep the session, so it outlives
                         this program on the broker
  -d, --debug            log every MQTT packet sent and received to stderr (and, with
                         TLS, the handshake steps and the verification verdict)
  --help                 this text

TLS 1.3 (any of the first three turns it on; the default port is then 8883):
  --cafile FILE          trust brokers whose chain leads to this CA (PEM, several
                         certificates allowed, or DER); the host name (-h) is checked
  --pin-cert FILE        trust exactly this broker certificate (PEM or DER)
  --pin-spki HEX         trust the broker key with this SPKI SHA-256 (64 hex digits; the
                         pin example prints it)
  --insecure             with --cafile: do not check the host name (the chain still is)
  --time UNIXSECONDS     check certificate dates at this time instead of the clock's
  --cert FILE            client certificate (PEM or DER) for brokers that require one
                         (mutual TLS); needs --key
  --key FILE             the client certificate's ECDSA P-256 private key (PEM: PKCS#8
                         PRIVATE KEY or SEC1 EC PRIVATE KEY; or DER)
  --tls-alpn PROTO       offer PROTO by ALPN (repeat for several, most preferred first)

exit status: 0 on success; 27 when -W expires (sub); 1 on any other failure, with a
one-line reason on stderr";

const PUB_USAGE: &str = "\
usage: mqtt pub [OPTIONS] -t TOPIC {-m MESSAGE | -n | -s | -l | -f FILE}

Publish, like mosquitto_pub. With QoS 1 and 2 it waits until the broker has acknowledged
every message, then disconnects.

message:
  -t, --topic TOPIC      topic to publish to
  -m, --message TEXT     one message
  -n, --null-message     one empty message
  -s, --stdin-file       all of stdin as one message
  -l, --stdin-line       one message per line of stdin (newline removed), until end of input
  -f, --file FILE        the contents of FILE as one message
  -q, --qos QOS          0, 1 or 2 (default 0)
  -r, --retain           the broker keeps the message for later subscribers
";

const SUB_USAGE: &str = "\
usage: mqtt sub [OPTIONS] -t FILTER [-t FILTER ...]

Subscribe, like mosquitto_sub, and print each message's payload on its own line.

subscription:
  -t, --topic FILTER     filter to subscribe to (repeatable)
  -q, --qos QOS          maximum QoS to receive with, 0, 1 or 2 (default 0)
  -C COUNT               exit after COUNT messages
  -W SECONDS             exit after SECONDS; it is a failure (\"Timed out\", status 27)
  -R                     do not print (or count) retained messages
  -v, --verbose          print \"topic payload\"
  -N                     no newline after each payload
";

/// Exit status of `mqtt sub` when `-W` expires (ETIMEDOUT, as mosquitto_sub).
pub const TIMED_OUT_STATUS: i32 = 27;

/// A command line that cannot be run: the reason, and which help to point to.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    /// What is wrong.
    pub reason: String,
    /// `"mqtt pub"`, `"mqtt sub"` or `"mqtt"`.
    pub command: &'static str,
}

/// What to run.
#[derive(Debug)]
pub enum Command {
    /// `mqtt pub`.
    Publish(PubArgs),
    /// `mqtt sub`.
    Subscribe(SubArgs),
    /// `--help`: print this text and exit 0.
    Help(String),
}

/// The last will, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WillArgs {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
}

/// What the broker is trusted by, with TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// `--cafile`.
    CaFile(PathBuf),
    /// `--pin-cert`.
    Certificate(PathBuf),
    /// `--pin-spki`.
    Spki([u8; 32]),
}

/// The TLS options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsArgs {
    pub trust: Trust,
    /// `--insecure`: skip only the host-name check.
    pub insecure: bool,
    /// `--time`: the time to check dates at (default: now).
    pub time: Option<u64>,
    /// `--cert` and `--key`: the client certificate and its private key (mutual TLS).
    pub client: Option<ClientCertArgs>,
    /// `--tls-alpn`: protocols offered by ALPN, in order.
    pub alpn: Vec<String>,
}

/// `--cert` and `--key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertArgs {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Options of both commands: where the broker is and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionArgs {
    pub host: String,
    /// `-p`; `None` means the default port.
    pub port: Option<u16>,
    pub client_id: String,
    pub qos: QoS,
    pub keep_alive: u16,
    /// `-c`: ask the broker to keep the session.
    pub persistent: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub will: Option<WillArgs>,
    pub debug: bool,
    pub reconnect: bool,
    /// TLS, when a trust option is given.
    pub tls: Option<TlsArgs>,
}

/// TLS options as they are read, before they are checked together.
#[derive(Default)]
struct TlsParts {
    trust: Vec<Trust>,
    insecure: bool,
    time: Option<u64>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    alpn: Vec<String>,
}

impl ConnectionArgs {
    fn new(default_id: String) -> Self {
        ConnectionArgs {
            host: "localhost".to_owned(),
            port: None,
            client_id: default_id,
            qos: QoS::AtMostOnce,
            keep_alive: 60,
            persistent: false,
            username: None,
            password: None,
            will: None,
            debug: false,
            reconnect: false,
            tls: None,
        }
    }

    /// The port to connect to: 8883 with TLS, 1883 without, unless `-p` says.
    pub fn port(&self) -> u16 {
        self.port
            .unwrap_or(if self.tls.is_some() { 8883 } else { 1883 })
    }

    /// The CONNECT to send. `--reconnect` implies a persistent session, so that the broker
    /// still has the messages in flight when the client comes back.
    pub fn connect_options(&self) -> ConnectOptions<'_> {
        let mut options = ConnectOptions::new(&self.client_id);
        options.keep_alive_secs = self.keep_alive;
        options.clean_session = !(self.persistent || self.reconnect);
        options.username = self.username.as_deref();
        options.password = self.password.as_deref().map(str::as_bytes);
        options.will = self.will.as_ref().map(|will| Will {
            topic: &will.topic,
            payload: &will.payload,
            qos: will.qos,
            retain: will.retain,
        });
        options
    }
}

/// Where `mqtt pub` takes its message(s) from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadSource {
    /// `-m`: this message.
    Message(Vec<u8>),
    /// `-n`: one empty message.
    Null,
    /// `-s`: all of stdin as one message.
    Stdin,
    /// `-l`: one message per line of stdin.
    Lines,
    /// `-f`: the file's contents as one message.
    File(PathBuf),
}

/// `mqtt pub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubArgs {
    pub connection: ConnectionArgs,
    pub topic: String,
    pub source: PayloadSource,
    pub retain: bool,
}

/// `mqtt sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubArgs {
    pub connection: ConnectionArgs,
    pub filters: Vec<String>,
    /// `-C`: exit after this many messages.
    pub count: Option<u64>,
    /// `-W`: exit (failing) after this long.
    pub timeout: Option<Duration>,
    /// `-v`: print the topic before the payload.
    pub verbose: bool,
    /// `-R`: skip retained messages.
    pub skip_retained: bool,
    /// `-N`: no newline after the payload.
    pub no_newline: bool,
}

/// Parse the arguments after the program name.
pub fn parse(args: Vec<String>) -> Result<Command, UsageError> {
    let mut args = args.into_iter();
    let usage = |reason: String| UsageError {
        reason,
        command: "mqtt",
    };
    match args.next().as_deref() {
        Some("pub") => parse_pub(Arguments::new(args, "mqtt pub")),
        Some("sub") => parse_sub(Arguments::new(args, "mqtt sub")),
        // `mqtt demo` is the lead's to add (a scripted tour against a local broker).
        Some("--help") => Ok(Command::Help(format!("{MAIN_USAGE}{CONNECTION_OPTIONS}"))),
        Some(other) => Err(usage(format!("unknown command {other:?}"))),
        None => Err(usage("no command given".to_owned())),
    }
}

/// The remaining arguments of one command, option by option.
struct Arguments {
    args: std::vec::IntoIter<String>,
    command: &'static str,
    /// The value glued to the current long option (`--topic=x`).
    glued: Option<String>,
}

impl Arguments {
    fn new(args: std::vec::IntoIter<String>, command: &'static str) -> Self {
        Arguments {
            args,
            command,
            glued: None,
        }
    }

    fn error(&self, reason: String) -> UsageError {
        UsageError {
            reason,
            command: self.command,
        }
    }

    /// The next option's name, splitting `--name=value`.
    fn next_option(&mut self) -> Result<Option<String>, UsageError> {
        if let Some(value) = self.glued.take() {
            return Err(self.error(format!("option does not take a value: {value:?}")));
        }
        let Some(arg) = self.args.next() else {
            return Ok(None);
        };
        if !arg.starts_with('-') {
            return Err(self.error(format!("unexpected argument {arg:?}")));
        }
        match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                self.glued = Some(value.to_owned());
                Ok(Some(name.to_owned()))
            }
            _ => Ok(Some(arg)),
        }
    }

    fn value(&mut self, option: &str) -> Result<String, UsageError> {
        match self.glued.take().or_else(|| self.args.next()) {
            Some(value) => Ok(value),
            None => Err(self.error(format!("{option} needs a value"))),
        }
    }

    fn number<N: std::str::FromStr>(&mut self, option: &str) -> Result<N, UsageError> {
        let value = self.value(option)?;
        value
            .parse()
            .map_err(|_| self.error(format!("{option}: {value:?} is not a valid number here")))
    }

    fn qos(&mut self, option: &str) -> Result<QoS, UsageError> {
        let value = self.value(option)?;
        match value.as_str() {
            "0" => Ok(QoS::AtMostOnce),
            "1" => Ok(QoS::AtLeastOnce),
            "2" => Ok(QoS::ExactlyOnce),
            _ => Err(self.error(format!("{option}: QoS must be 0, 1 or 2, not {value:?}"))),
        }
    }

    /// Handle `option` if it is a connection option; `Ok(false)` if it is not one.
    fn connection_option(
        &mut self,
        option: &str,
        c: &mut ConnectionArgs,
        will: &mut WillParts,
        tls: &mut TlsParts,
    ) -> Result<bool, UsageError> {
        match option {
            "-h" | "--host" => c.host = self.value(option)?,
            "-p" | "--port" => c.port = Some(self.number(option)?),
            "-i" | "--id" => c.client_id = self.value(option)?,
            "-q" | "--qos" => c.qos = self.qos(option)?,
            "-k" | "--keepalive" => c.keep_alive = self.number(option)?,
            "-c" | "--disable-clean-session" => c.persistent = true,
            "-u" | "--username" => c.username = Some(self.value(option)?),
            "-P" | "--pw" => c.password = Some(self.value(option)?),
            "-d" | "--debug" => c.debug = true,
            "--reconnect" => c.reconnect = true,
            "--will-topic" => will.topic = Some(self.value(option)?),
            "--will-payload" => will.payload = Some(self.value(option)?.into_bytes()),
            "--will-qos" => will.qos = Some(self.qos(option)?),
            "--will-retain" => will.retain = true,
            "--cafile" => tls.trust.push(Trust::CaFile(self.value(option)?.into())),
            "--pin-cert" => tls
                .trust
                .push(Trust::Certificate(self.value(option)?.into())),
            "--pin-spki" => {
                let hex = self.value(option)?;
                let pin = match embedded_mqtts::tls::Pin::spki_sha256_hex(&hex) {
                    Ok(embedded_mqtts::tls::Pin::SpkiSha256(hash)) => hash,
                    _ => {
                        return Err(self.error(format!(
                            "{option}: {hex:?} is not 64 hex digits (an SPKI SHA-256)"
                        )))
                    }
                };
                tls.trust.push(Trust::Spki(pin));
            }
            "--insecure" => tls.insecure = true,
            "--time" => tls.time = Some(self.number(option)?),
            "--cert" => tls.cert = Some(self.value(option)?.into()),
            "--key" => tls.key = Some(self.value(option)?.into()),
            "--tls-alpn" => tls.alpn.push(self.value(option)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks that apply to both commands, once all options are read.
    fn finish_connection(
        &self,
        c: &mut ConnectionArgs,
        explicit_id: bool,
        will: WillParts,
        tls: TlsParts,
    ) -> Result<(), UsageError> {
        if c.password.is_some() && c.username.is_none() {
            return Err(self.error("-P needs a user name (-u)".to_owned()));
        }
        if c.persistent && !explicit_id {
            return Err(self.error("-c needs a client id (-i)".to_owned()));
        }
        if c.client_id.is_empty() {
            return Err(self.error("the client id must not be empty".to_owned()));
        }
        c.will = match will.topic {
            Some(topic) => Some(WillArgs {
                topic,
                payload: will.payload.unwrap_or_default(),
                qos: will.qos.unwrap_or(QoS::AtMostOnce),
                retain: will.retain,
            }),
            None if will.payload.is_some() || will.qos.is_some() || will.retain => {
                return Err(self.error(
                    "--will-payload, --will-qos and --will-retain need --will-topic".to_owned(),
                ));
            }
            None => None,
        };
        let client = match (tls.cert, tls.key) {
            (Some(cert), Some(key)) => Some(ClientCertArgs { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(self.error("--cert needs --key".to_owned())),
            (None, Some(_)) => return Err(self.error("--key needs --cert".to_owned())),
        };
        let mut trust = tls.trust.into_iter();
        c.tls = match (trust.next(), trust.next()) {
            (Some(_), Some(_)) => {
                return Err(self.error("give one of --cafile, --pin-cert and --pin-spki".to_owned()))
            }
            (Some(trust), None) => {
                if tls.insecure && !matches!(trust, Trust::CaFile(_)) {
                    return Err(self.error(
                        "--insecure goes with --cafile (a pinned certificate or key \
                         is not checked against the host name anyway)"
                            .to_owned(),
                    ));
                }
                Some(TlsArgs {
                    trust,
                    insecure: tls.insecure,
                    time: tls.time,
                    client,
                    alpn: tls.alpn,
                })
            }
            (None, _)
                if tls.insecure
                    || tls.time.is_some()
                    || client.is_some()
                    || !tls.alpn.is_empty() =>
            {
                return Err(self.error(
                    "--insecure, --time, --cert, --key and --tls-alpn need TLS: --cafile, \
                     --pin-cert or --pin-spki"
                        .to_owned(),
                ))
            }
            (None, _) => None,
        };
        Ok(())
    }
}

/// The `--will-*` options, checked together at the end.
#[derive(Default)]
struct WillParts {
    topic: Option<String>,
    payload: Option<Vec<u8>>,
    qos: Option<QoS>,
    retain: bool,
}

/// Read all options: the connection options into a [`ConnectionArgs`] (checked), the others
/// through `command_option`, which returns `Ok(false)` for an option it does not know.
/// `Ok(None)` means `--help` was asked for.
fn parse_options(
    args: &mut Arguments,
    command: &str,
    mut command_option: impl FnMut(&mut Arguments, &str) -> Result<bool, UsageError>,
) -> Result<Option<ConnectionArgs>, UsageError> {
    let mut c = ConnectionArgs::new(format!("mqtt-{command}-{}", std::process::id()));
    let mut will = WillParts::default();
    let mut tls = TlsParts::default();
    let mut explicit_id = false;
    while let Some(option) = args.next_option()? {
        if option == "--help" {
            return Ok(None);
        }
        explicit_id |= option == "-i" || option == "--id";
        if !args.connection_option(&option, &mut c, &mut will, &mut tls)?
            && !command_option(args, &option)?
        {
            return Err(args.error(format!("unknown option {option}")));
        }
    }
    args.finish_connection(&mut c, explicit_id, will, tls)?;
    Ok(Some(c))
}

fn parse_pub(mut args: Arguments) -> Result<Command, UsageError> {
    let mut topic = None;
    let mut sources = Vec::new();
    let mut retain = false;
    let connection = parse_options(&mut args, "pub", |args, option| {
        match option {
            "-t" | "--topic" => topic = Some(args.value(option)?),
            "-m" | "--message" => {
                sources.push(PayloadSource::Message(args.value(option)?.into_bytes()))
            }
            "-n" | "--null-message" => sources.push(PayloadSource::Null),
            "-s" | "--stdin-file" => sources.push(PayloadSource::Stdin),
            "-l" | "--stdin-line" => sources.push(PayloadSource::Lines),
            "-f" | "--file" => sources.push(PayloadSource::File(args.value(option)?.into())),
            "-r" | "--retain" => retain = true,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let Some(connection) = connection else {
        return Ok(Command::Help(format!("{PUB_USAGE}{CONNECTION_OPTIONS}")));
    };
    let topic = topic.ok_or_else(|| args.error("a topic (-t) is required".to_owned()))?;
    let Ok([source]) = <[PayloadSource; 1]>::try_from(sources) else {
        return Err(args.error("give exactly one of -m, -n, -s, -l and -f".to_owned()));
    };
    Ok(Command::Publish(PubArgs {
        connection,
        topic,
        source,
        retain,
    }))
}

fn parse_sub(mut args: Arguments) -> Result<Command, UsageError> {
    let mut filters = Vec::new();
    let (mut count, mut timeout) = (None, None);
    let (mut verbose, mut skip_retained, mut no_newline) = (false, false, false);
    let connection = parse_options(&mut args, "sub", |args, option| {
        match option {
            "-t" | "--topic" => filters.push(args.value(option)?),
            "-C" => match args.number(option)? {
                0 => return Err(args.error("-C must be at least 1".to_owned())),
                n => count = Some(n),
            },
            "-W" => match args.number(option)? {
                0 => return Err(args.error("-W must be at least 1".to_owned())),
                secs => timeout = Some(Duration::from_secs(secs)),
            },
            "-v" | "--verbose" => verbose = true,
            "-R" => skip_retained = true,
            "-N" => no_newline = true,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let Some(connection) = connection else {
        return Ok(Command::Help(format!("{SUB_USAGE}{CONNECTION_OPTIONS}")));
    };
    if filters.is_empty() {
        return Err(args.error("at least one topic filter (-t) is required".to_owned()));
    }
    Ok(Command::Subscribe(SubArgs {
        connection,
        filters,
        count,
        timeout,
        verbose,
        skip_retained,
        no_newline,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Command, UsageError> {
        parse(line.split_whitespace().map(str::to_owned).collect())
    }

    fn pub_args(line: &str) -> PubArgs {
        match parse_words(line) {
            Ok(Command::Publish(args)) => args,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn sub_args(line: &str) -> SubArgs {
        match parse_words(line) {
            Ok(Command::Subscribe(args)) => args,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn reason(line: &str) -> String {
        match parse_words(line) {
            Err(e) => e.reason,
            Ok(other) => panic!("{line} parsed: {other:?}"),
        }
    }

    #[test]
    fn pub_defaults_match_mosquitto_pub() {
        let args = pub_args("pub -t a/b -m hello");
        let c = &args.connection;
        assert_eq!(
            (c.host.as_str(), c.port(), c.keep_alive),
            ("localhost", 1883, 60)
        );
        assert_eq!(c.client_id, format!("mqtt-pub-{}", std::process::id()));
        assert_eq!(c.qos, QoS::AtMostOnce);
        assert_eq!(args.source, PayloadSource::Message(b"hello".to_vec()));
        assert!(!args.retain);
        let options = c.connect_options();
        assert!(options.clean_session);
        assert!(options.will.is_none() && options.username.is_none());
    }

    #[test]
    fn every_connection_option_reaches_connect() {
        let args = pub_args(
            "pub -h broker -p 8000 -i me -q 2 -k 5 -c -u user -P secret -d -t t -n -r \
             --will-topic gone --will-payload bye --will-qos 1 --will-retain",
        );
        let c = &args.connection;
        assert_eq!(
            (c.host.as_str(), c.port(), c.qos),
            ("broker", 8000, QoS::ExactlyOnce)
        );
        assert!(c.debug && args.retain);
        assert_eq!(args.source, PayloadSource::Null);
        let options = c.connect_options();
        assert_eq!(options.client_id, "me");
        assert_eq!(options.keep_alive_secs, 5);
        assert!(!options.clean_session);
        assert_eq!(options.username, Some("user"));
        assert_eq!(options.password, Some(&b"secret"[..]));
        let will = options.will.expect("will");
        assert_eq!((will.topic, will.payload), ("gone", &b"bye"[..]));
        assert_eq!((will.qos, will.retain), (QoS::AtLeastOnce, true));
    }

    #[test]
    fn client_certificate_and_alpn_options() {
        let args = sub_args(
            "sub -t a --cafile ca.crt --cert dev.crt --key dev.key --tls-alpn mqtt --tls-alpn x",
        );
        let tls = args.connection.tls.expect("TLS");
        let client = tls.client.expect("client certificate");
        assert_eq!(client.cert, PathBuf::from("dev.crt"));
        assert_eq!(client.key, PathBuf::from("dev.key"));
        assert_eq!(tls.alpn, ["mqtt", "x"]);
    }

    #[test]
    fn reconnect_implies_a_persistent_session() {
        let args = sub_args("sub -t x --reconnect");
        assert!(!args.connection.persistent);
        assert!(!args.connection.connect_options().clean_session);
    }

    #[test]
    fn long_options_take_glued_values() {
        let args = sub_args("sub --topic=a/# --topic b --qos=1 --host=h");
        assert_eq!(args.filters, ["a/#", "b"]);
        assert_eq!(args.connection.qos, QoS::AtLeastOnce);
        assert_eq!(args.connection.host, "h");
        assert!(reason("sub -t x --debug=yes").contains("does not take a value"));
    }

    #[test]
    fn sub_options() {
        let args = sub_args("sub -t a -t b/+ -C 3 -W 2 -v -R -N");
        assert_eq!(args.filters, ["a", "b/+"]);
        assert_eq!(args.count, Some(3));
        assert_eq!(args.timeout, Some(Duration::from_secs(2)));
        assert!(args.verbose && args.skip_retained && args.no_newline);
        assert!(args.connection.client_id.starts_with("mqtt-sub-"));
    }

    #[test]
    fn refuses_what_mosquitto_refuses() {
        assert!(reason("pub -t t").contains("exactly one of"));
        assert!(reason("pub -t t -m a -l").contains("exactly one of"));
        assert!(reason("pub -m a").contains("topic (-t) is required"));
        assert!(reason("sub -q 1").contains("at least one topic filter"));
        assert!(reason("sub -t a -q 3").contains("QoS must be 0, 1 or 2"));
        assert!(reason("sub -t a -p 70000").contains("not a valid number"));
        assert!(reason("sub -t a -P x").contains("needs a user name"));
        assert!(reason("sub -t a -c").contains("needs a client id"));
        assert!(reason("sub -t a --cafile ca --cert c").contains("--cert needs --key"));
        assert!(reason("sub -t a --cafile ca --key k").contains("--key needs --cert"));
        assert!(reason("sub -t a --cert c --key k").contains("need TLS"));
        assert!(reason("sub -t a --tls-alpn mqtt").contains("need TLS"));
        assert!(reason("sub -t a --will-qos 1").contains("need --will-topic"));
        assert!(reason("sub -t a -C 0").contains("at least 1"));
        assert!(reason("sub -t").contains("-t needs a value"));
        assert!(reason("sub -t a -x").contains("unknown option -x"));
        assert!(reason("sub -t a stray").contains("unexpected argument"));
        assert!(reason("frob").contains("unknown command"));
        assert!(reason("").contains("no command"));
    }

    #[test]
    fn help_is_per_command() {
        for (line, first) in [
            ("--help", "usage: mqtt pub"),
            ("pub --help", "usage: mqtt pub"),
            ("sub -t x --help", "usage: mqtt sub"),
        ] {
            match parse_words(line) {
                Ok(Command::Help(text)) => {
                    assert!(text.starts_with(first), "{line}: {text}");
                    assert!(text.contains("--reconnect"));
                }
                other => panic!("{line}: {other:?}"),
            }
        }
    }
}
