//! The serial console: line editing and the command grammar of the seed firmware.
//!
//! The seed (an mbedTLS + lwIP firmware for this board) had a Processor Expert shell with
//! three command groups; this console keeps their words so that the same habits work:
//!
//! ```text
//! help | status                  all groups
//! time [hh:mm:ss[,z]]            show or set the time of day (UTC)
//! date [dd.mm.yyyy]              show or set the date
//! dateToSec <dd.mm.yyyy [hh:mm:ss]>
//! secToDate <seconds>
//! mqtt help|status|connect|publish [payload]|subscribe|disconnect
//! ```
//!
//! Group prefixes of the seed (`CLS1`, `TmDt1`) are accepted and ignored. Parsing is separate
//! from doing: [`Command::parse`] turns a line into a value, `main.rs` carries it out.

use crate::calendar::{CalendarError, Date, DateTime, TimeOfDay};
use core::fmt;

/// The longest line the console keeps; further characters are refused (and not echoed).
pub const LINE_CAPACITY: usize = 96;

/// The help text, printed by `help` and `mqtt help`.
pub const HELP: &str = "\
--------------------------------------------------------------\r\n\
MQTT over TLS 1.3 (embedded-mqtts) on FRDM-K64F\r\n\
--------------------------------------------------------------\r\n\
  help|status             ; Print help or status information\r\n\
  time [hh:mm:ss[,z]]     ; Set the current time (UTC). Prints it if no argument\r\n\
  date [dd.mm.yyyy]       ; Set the current date. Prints it if no argument\r\n\
  dateToSec <datetime>    ; Convert dd.mm.yyyy [hh:mm:ss] into a UNIX timestamp\r\n\
  secToDate <secs>        ; Convert a UNIX timestamp to date/time\r\n\
mqtt                      ; Group of mqtt commands\r\n\
  help|status             ; Print help or status information\r\n\
  connect                 ; Connect to the broker\r\n\
  publish [payload]       ; Publish to the topic on the broker\r\n\
  subscribe               ; Subscribe to the topic on the broker\r\n\
  disconnect              ; Disconnect from the broker\r\n";

/// What one received byte did to the line being edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Nothing to show (ignored control byte, or the line is full).
    Nothing,
    /// Echo this byte.
    Echo(u8),
    /// The last character was erased: echo backspace, space, backspace.
    Erase,
    /// Enter: the line is complete; take it with [`LineEditor::line`], then [`LineEditor::clear`].
    Complete,
}

/// Collects printable ASCII into a line; understands backspace/delete and CR, LF or CRLF.
pub struct LineEditor {
    buffer: heapless::String<LINE_CAPACITY>,
    last_was_cr: bool,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    /// An empty line.
    pub const fn new() -> Self {
        LineEditor {
            buffer: heapless::String::new(),
            last_was_cr: false,
        }
    }

    /// Feeds one byte from the terminal.
    pub fn push(&mut self, byte: u8) -> Edit {
        let after_cr = core::mem::replace(&mut self.last_was_cr, byte == b'\r');
        match byte {
            b'\n' if after_cr => Edit::Nothing, // second half of CRLF
            b'\r' | b'\n' => Edit::Complete,
            0x08 | 0x7F => match self.buffer.pop() {
                Some(_) => Edit::Erase,
                None => Edit::Nothing,
            },
            0x20..=0x7E => match self.buffer.push(char::from(byte)) {
                Ok(()) => Edit::Echo(byte),
                Err(_) => Edit::Nothing,
            },
            _ => Edit::Nothing,
        }
    }

    /// The line typed so far.
    pub fn line(&self) -> &str {
        self.buffer.as_str()
    }

    /// Starts a new line.
    pub fn clear(&mut self) {
        self.buffer.clear();
    }
}

/// The `mqtt` group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MqttCommand<'a> {
    /// `mqtt help`.
    Help,
    /// `mqtt status`.
    Status,
    /// `mqtt connect`.
    Connect,
    /// `mqtt publish [payload]`: the rest of the line is the payload.
    Publish(Option<&'a str>),
    /// `mqtt subscribe`.
    Subscribe,
    /// `mqtt disconnect`.
    Disconnect,
}

/// One console command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// An empty line.
    Nothing,
    /// `help`.
    Help,
    /// `status`.
    Status,
    /// `time` (show) or `time hh:mm:ss` (set).
    Time(Option<TimeOfDay>),
    /// `date` (show) or `date dd.mm.yyyy` (set).
    Date(Option<Date>),
    /// `dateToSec dd.mm.yyyy [hh:mm:ss]`.
    DateToSec(DateTime),
    /// `secToDate seconds`.
    SecToDate(u64),
    /// `mqtt ...`.
    Mqtt(MqttCommand<'a>),
}

/// Why a line is not a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError<'a> {
    /// The first word is no command.
    Unknown(&'a str),
    /// `mqtt` followed by something else than its sub-commands.
    UnknownMqtt(&'a str),
    /// A command is missing its argument.
    MissingArgument(&'static str),
    /// An argument is malformed.
    BadArgument {
        /// The command.
        command: &'static str,
        /// What was wrong with its argument.
        reason: CalendarError,
    },
    /// `secToDate` got something else than a decimal number.
    NotANumber(&'a str),
}

impl fmt::Display for ParseError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Unknown(word) => write!(f, "unknown command '{word}' (try help)"),
            ParseError::UnknownMqtt(word) => {
                write!(f, "unknown mqtt command '{word}' (try mqtt help)")
            }
            ParseError::MissingArgument(usage) => write!(f, "usage: {usage}"),
            ParseError::BadArgument { command, reason } => write!(f, "{command}: {reason}"),
            ParseError::NotANumber(word) => {
                write!(f, "secToDate: '{word}' is not a number of seconds")
            }
        }
    }
}

impl core::error::Error for ParseError<'_> {}

impl<'a> Command<'a> {
    /// Parses one line. Words are separated by spaces; command names are case-insensitive.
    pub fn parse(line: &'a str) -> Result<Command<'a>, ParseError<'a>> {
        let mut line = line.trim();
        // The seed's group prefixes.
        for group in ["CLS1", "TmDt1"] {
            if let Some((first, rest)) = line.split_once(' ') {
                if first.eq_ignore_ascii_case(group) {
                    line = rest.trim_start();
                }
            }
        }
        let (word, rest) = split_word(line);
        let bad = |command, reason| ParseError::BadArgument { command, reason };
        let command = match word {
            "" => Command::Nothing,
            w if w.eq_ignore_ascii_case("help") => Command::Help,
            w if w.eq_ignore_ascii_case("status") => Command::Status,
            w if w.eq_ignore_ascii_case("time") => match rest {
                "" => Command::Time(None),
                text => Command::Time(Some(TimeOfDay::parse(text).map_err(|e| bad("time", e))?)),
            },
            w if w.eq_ignore_ascii_case("date") => match rest {
                "" => Command::Date(None),
                text => Command::Date(Some(Date::parse(text).map_err(|e| bad("date", e))?)),
            },
            w if w.eq_ignore_ascii_case("dateToSec") => match rest {
                "" => {
                    return Err(ParseError::MissingArgument(
                        "dateToSec dd.mm.yyyy [hh:mm:ss]",
                    ))
                }
                text => Command::DateToSec(DateTime::parse(text).map_err(|e| bad("dateToSec", e))?),
            },
            w if w.eq_ignore_ascii_case("secToDate") => match rest {
                "" => return Err(ParseError::MissingArgument("secToDate <seconds>")),
                text => {
                    Command::SecToDate(parse_decimal(text).ok_or(ParseError::NotANumber(text))?)
                }
            },
            w if w.eq_ignore_ascii_case("mqtt") => Command::Mqtt(parse_mqtt(rest)?),
            w => return Err(ParseError::Unknown(w)),
        };
        Ok(command)
    }
}

fn parse_mqtt(text: &str) -> Result<MqttCommand<'_>, ParseError<'_>> {
    let (word, rest) = split_word(text);
    let command = match word {
        "" => MqttCommand::Help,
        w if w.eq_ignore_ascii_case("help") => MqttCommand::Help,
        w if w.eq_ignore_ascii_case("status") => MqttCommand::Status,
        w if w.eq_ignore_ascii_case("connect") => MqttCommand::Connect,
        w if w.eq_ignore_ascii_case("publish") => {
            MqttCommand::Publish(Some(rest).filter(|payload| !payload.is_empty()))
        }
        w if w.eq_ignore_ascii_case("subscribe") => MqttCommand::Subscribe,
        w if w.eq_ignore_ascii_case("disconnect") => MqttCommand::Disconnect,
        w => return Err(ParseError::UnknownMqtt(w)),
    };
    Ok(command)
}

/// The first word and the rest (trimmed).
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.split_once(' ') {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_line(editor: &mut LineEditor, text: &[u8]) -> Vec<Edit> {
        text.iter().map(|&b| editor.push(b)).collect()
    }

    #[test]
    fn editor_echoes_erases_and_completes_on_cr_lf_or_crlf() {
        let mut editor = LineEditor::new();
        let edits = type_line(&mut editor, b"tiem\x08\x08me");
        assert_eq!(
            edits,
            [
                Edit::Echo(b't'),
                Edit::Echo(b'i'),
                Edit::Echo(b'e'),
                Edit::Echo(b'm'),
                Edit::Erase,
                Edit::Erase,
                Edit::Echo(b'm'),
                Edit::Echo(b'e'),
            ]
        );
        assert_eq!(editor.line(), "time");
        assert_eq!(editor.push(b'\r'), Edit::Complete);
        editor.clear();
        // The LF of a CRLF is not a second (empty) line; a lone LF is.
        assert_eq!(editor.push(b'\n'), Edit::Nothing);
        assert_eq!(editor.push(b'\n'), Edit::Complete);
        assert_eq!(editor.push(0x7F), Edit::Nothing, "nothing to erase");
        assert_eq!(editor.push(0x1B), Edit::Nothing, "escape is ignored");
        assert_eq!(editor.line(), "");
    }

    #[test]
    fn editor_refuses_characters_past_its_capacity() {
        let mut editor = LineEditor::new();
        for _ in 0..LINE_CAPACITY {
            assert_eq!(editor.push(b'x'), Edit::Echo(b'x'));
        }
        assert_eq!(editor.push(b'y'), Edit::Nothing);
        assert_eq!(editor.line().len(), LINE_CAPACITY);
        assert!(editor.line().bytes().all(|b| b == b'x'));
    }

    #[test]
    fn seed_commands_parse() {
        assert_eq!(Command::parse(""), Ok(Command::Nothing));
        assert_eq!(Command::parse("  help "), Ok(Command::Help));
        assert_eq!(Command::parse("CLS1 status"), Ok(Command::Status));
        assert_eq!(Command::parse("time"), Ok(Command::Time(None)));
        assert_eq!(
            Command::parse("TmDt1 time 09:15:37,20"),
            Ok(Command::Time(Some(TimeOfDay::new(9, 15, 37).unwrap())))
        );
        assert_eq!(
            Command::parse("date 23.04.2017"),
            Ok(Command::Date(Some(Date::new(2017, 4, 23).unwrap())))
        );
        assert_eq!(
            Command::parse("dateToSec 23.04.2017 09:15:37"),
            Ok(Command::DateToSec(
                DateTime::parse("23.04.2017 09:15:37").unwrap()
            ))
        );
        assert_eq!(
            Command::parse("secToDate 1492938937"),
            Ok(Command::SecToDate(1_492_938_937))
        );
        assert_eq!(
            Command::parse("mqtt connect"),
            Ok(Command::Mqtt(MqttCommand::Connect))
        );
        assert_eq!(
            Command::parse("MQTT Publish hello  world"),
            Ok(Command::Mqtt(MqttCommand::Publish(Some("hello  world"))))
        );
        assert_eq!(
            Command::parse("mqtt publish"),
            Ok(Command::Mqtt(MqttCommand::Publish(None)))
        );
        assert_eq!(Command::parse("mqtt"), Ok(Command::Mqtt(MqttCommand::Help)));
        assert_eq!(
            Command::parse("mqtt disconnect"),
            Ok(Command::Mqtt(MqttCommand::Disconnect))
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert_eq!(Command::parse("reboot"), Err(ParseError::Unknown("reboot")));
        assert_eq!(
            Command::parse("mqtt unsubscribe"),
            Err(ParseError::UnknownMqtt("unsubscribe"))
        );
        assert!(matches!(
            Command::parse("time 25:00:00"),
            Err(ParseError::BadArgument {
                command: "time",
                reason: CalendarError::NoSuchTime { hour: 25, .. }
            })
        ));
        assert!(matches!(
            Command::parse("dateToSec"),
            Err(ParseError::MissingArgument(_))
        ));
        assert_eq!(
            Command::parse("secToDate -5"),
            Err(ParseError::NotANumber("-5"))
        );
        assert_eq!(
            Command::parse("secToDate 99999999999999999999999"),
            Err(ParseError::NotANumber("99999999999999999999999"))
        );
        let message = format!("{}", Command::parse("date 30.02.2024").unwrap_err());
        assert_eq!(message, "date: there is no date 30.02.2024");
    }
}
