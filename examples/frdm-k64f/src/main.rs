//! FRDM-K64F firmware: the seed's console (`help`, `status`, `time`, `date`, `dateToSec`,
//! `secToDate`, `mqtt ...`) over UART0, with the network below the MQTT client running.
//!
//! Start-up: `__pre_init` (assembly, before RAM is set up) switches the watchdog off; then
//! stack painting, the allocator without memory, clocks and pins, the uptime counter, the console, RTC, RNGA and the
//! network. Nothing runs in interrupts; two loops poll everything:
//!
//! - without a broker connection, `main`'s loop polls the network and the console;
//! - `mqtt connect` enters [`Firmware::session`], whose stack frame owns the TCP socket under
//!   the TLS connection for as long as it lasts (the TLS buffers and MQTT state are statics
//!   of [`mqtt::Mqtt`]). Its loop polls the MQTT client (keep-alive, incoming messages,
//!   acknowledgements), the network and the console, where every command keeps working;
//!   `mqtt disconnect` or a failure returns to `main`'s loop.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use frdm_k64f_mqtts::board::{self, ClockSource, Clocks, Led};
use frdm_k64f_mqtts::calendar::{Date, DateTime, TimeOfDay};
use frdm_k64f_mqtts::console::{self, Command, Edit, LineEditor, MqttCommand};
use frdm_k64f_mqtts::mqtt::{Mqtt, MqttError};
use frdm_k64f_mqtts::net::{self, NetEvent, NetHandle};
use frdm_k64f_mqtts::no_heap::NoHeap;
use frdm_k64f_mqtts::regs::wdog;
use frdm_k64f_mqtts::{config, enet, ksz8081, rng, rtc, stack, uart, uptime};

/// STCTRLH at reset is 0x01D3; this is the same with WDOGEN cleared (NXP's SystemInit value).
const WDOG_STCTRLH_DISABLED: u16 = 0x01D3 & !wdog::STCTRLH_WDOGEN;
const _: () = assert!(WDOG_STCTRLH_DISABLED == 0x01D2);
const _: () = assert!(WDOG_STCTRLH_DISABLED & wdog::STCTRLH_ALLOWUPDATE != 0);

// The watchdog would reset the part about a second after reset unless it is reconfigured,
// and the unlock sequence must be two writes within 20 bus clocks followed by the update
// within 256: this runs first thing from the reset handler, before RAM initialisation, so it
// is written in assembly (cortex-m-rt calls `__pre_init` if it exists).
core::arch::global_asm!(
    ".section .text.__pre_init, \"ax\"",
    ".global __pre_init",
    ".type __pre_init, %function",
    ".thumb_func",
    "__pre_init:",
    "movw r0, #{unlock_low}",
    "movt r0, #{unlock_high}",
    "movw r1, #0xC520",
    "strh r1, [r0]",
    "movw r1, #0xD928",
    "strh r1, [r0]",
    "movw r0, #{control_low}",
    "movt r0, #{control_high}",
    "movw r1, #{disabled}",
    "strh r1, [r0]",
    "bx lr",
    ".size __pre_init, . - __pre_init",
    unlock_low = const wdog::UNLOCK.address() & 0xFFFF,
    unlock_high = const wdog::UNLOCK.address() >> 16,
    control_low = const wdog::STCTRLH.address() & 0xFFFF,
    control_high = const wdog::STCTRLH.address() >> 16,
    disabled = const WDOG_STCTRLH_DISABLED,
);

/// The flash configuration field; `memory.x` places this section at 0x400 and checks its size.
#[used]
#[link_section = ".flash_config"]
static FLASH_CONFIG: [u8; 16] = board::FLASH_CONFIGURATION;

/// No heap: nothing allocates, RSA included (the library verifies it on the stack).
#[global_allocator]
static ALLOCATOR: NoHeap = NoHeap;

#[entry]
fn main() -> ! {
    stack::paint();
    let clocks = board::init();
    uptime::start(&clocks);
    let mut console = uart::Uart0::new(&clocks, config::CONSOLE_BAUD);
    let _ = write!(
        console,
        "\r\n{} {} on FRDM-K64F: MQTT over TLS 1.3 (embedded-mqtts)\r\n",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    );
    if let ClockSource::InternalFallback(step) = clocks.source {
        let _ = write!(
            console,
            "WARNING: running at {} Hz from the internal reference: {step}\r\n",
            clocks.core_hz
        );
    }
    let rtc = rtc::Rtc::init();
    let mut rng = rng::Rnga::new();
    let net = start_network(&clocks, &mut rng, &mut console);
    let mut firmware = Firmware {
        console,
        clocks,
        rtc,
        rng,
        net,
    };
    let Some(mut mqtt) = Mqtt::take() else {
        panic!("the MQTT statics were taken before main");
    };
    if firmware.rtc.now().is_none() {
        let _ = firmware
            .console
            .write_str("The time is not set: date dd.mm.yyyy, then time hh:mm:ss (UTC).\r\n");
    }
    let _ = firmware
        .console
        .write_str("Type help for the commands.\r\nCMD> ");

    let mut editor = LineEditor::new();
    loop {
        if !firmware.step(&mut editor) {
            continue;
        }
        match firmware.run(editor.line()) {
            ForMqtt::Nothing => {}
            ForMqtt::Status => mqtt.status(&mut firmware.console),
            ForMqtt::Command(MqttCommand::Connect) => {
                editor.clear();
                firmware.session(&mut mqtt, &mut editor);
            }
            ForMqtt::Command(_) => firmware.report(&MqttError::NotConnected),
        }
        editor.clear();
        let _ = firmware.console.write_str("CMD> ");
    }
}

/// MAC, PHY and smoltcp; `None` (with the reason printed) if the network cannot run. Not
/// inlined, so that its locals do not stay in `main`'s frame for good.
#[inline(never)]
fn start_network(clocks: &Clocks, rng: &mut rng::Rnga, out: &mut uart::Uart0) -> Option<NetHandle> {
    if clocks.source != ClockSource::Pll120MHz {
        let _ = out.write_str("Network disabled: no 50 MHz RMII clock from the PHY.\r\n");
        return None;
    }
    let mac = config::MAC_ADDRESS.unwrap_or_else(|| enet::mac_from_unique_id(board::unique_id()));
    let enet = match enet::Enet::new(clocks, mac) {
        Ok(enet) => enet,
        Err(error) => {
            let _ = write!(out, "Network disabled: {error}\r\n");
            return None;
        }
    };
    if let Err(error) = ksz8081::init(&enet) {
        let _ = write!(out, "PHY: {error}\r\n");
    }
    let seed = match (rng.try_next_word(), rng.try_next_word()) {
        (Ok(high), Ok(low)) => u64::from(high) << 32 | u64::from(low),
        (Err(error), _) | (_, Err(error)) => {
            let _ = write!(out, "RNG: {error}; TCP sequence numbers use the uptime\r\n");
            uptime::ticks()
        }
    };
    match net::start(enet, seed) {
        Ok(net) => {
            let _ = write!(
                out,
                "Network: MAC {}, waiting for link and DHCP\r\n",
                smoltcp::wire::EthernetAddress(mac)
            );
            Some(net)
        }
        Err(error) => {
            let _ = write!(out, "Network disabled: {error}\r\n");
            None
        }
    }
}

/// Everything the commands act on, apart from the MQTT side (which a connection borrows).
struct Firmware {
    console: uart::Uart0,
    clocks: Clocks,
    rtc: rtc::Rtc,
    rng: rng::Rnga,
    net: Option<NetHandle>,
}

/// What a console line leaves to the MQTT side; [`Firmware::run`] does the rest itself.
enum ForMqtt<'l> {
    /// Nothing: the command is done.
    Nothing,
    /// `status` (after the system part) or `mqtt status`: the MQTT part.
    Status,
    /// `mqtt connect|publish|subscribe|disconnect`.
    Command(MqttCommand<'l>),
}

impl Firmware {
    /// Network work and one console byte: `true` when a line is complete (in `editor`).
    fn step(&mut self, editor: &mut LineEditor) -> bool {
        if self.poll_network() {
            self.reprompt(editor);
        }
        let Some(byte) = self.console.try_read_byte() else {
            return false;
        };
        match editor.push(byte) {
            Edit::Nothing => {}
            Edit::Echo(byte) => self.console.write_byte(byte),
            Edit::Erase => {
                let _ = self.console.write_str("\x08 \x08");
            }
            Edit::Complete => {
                let _ = self.console.write_str("\r\n");
                return true;
            }
        }
        false
    }

    /// After a message printed in the middle of typing: the prompt and the line so far again.
    fn reprompt(&mut self, editor: &LineEditor) {
        let _ = write!(self.console, "CMD> {}", editor.line());
    }

    fn report(&mut self, error: &MqttError) {
        let _ = write!(self.console, "*** mqtt: {error}\r\n");
    }

    /// `mqtt connect` and the connection's life: returns after `mqtt disconnect` or a failure.
    /// This frame owns the TCP socket under TLS; the console works as before meanwhile. Not
    /// inlined, so that the connection's locals are on the stack only while it runs.
    #[inline(never)]
    fn session(&mut self, mqtt: &mut Mqtt, editor: &mut LineEditor) {
        let out = &mut self.console;
        let socket = match mqtt.open_tcp(self.net, &mut self.rng, self.rtc.now(), out) {
            Ok(socket) => socket,
            Err(error) => return self.report(&error),
        };
        let mut link = match mqtt.connect(&socket, &mut self.rng, out) {
            Ok(link) => link,
            Err(error) => return self.report(&error),
        };
        let _ = self.console.write_str("CMD> ");
        let failure = loop {
            match link.poll(&mut self.console) {
                Ok(printed) => {
                    if printed {
                        self.reprompt(editor);
                    }
                }
                Err(error) if error.is_fatal() => break Some(error),
                Err(error) => {
                    let _ = write!(self.console, "\r\n*** mqtt: {error}\r\n");
                    self.reprompt(editor);
                }
            }
            if !self.step(editor) {
                continue;
            }
            let request = self.run(editor.line());
            let out = &mut self.console;
            let result = match request {
                ForMqtt::Nothing => Ok(()),
                ForMqtt::Status => {
                    link.status(out);
                    Ok(())
                }
                ForMqtt::Command(MqttCommand::Publish(payload)) => link.publish(payload, out),
                ForMqtt::Command(MqttCommand::Subscribe) => link.subscribe(out),
                ForMqtt::Command(MqttCommand::Disconnect) => break None,
                ForMqtt::Command(_) => {
                    self.report(&MqttError::AlreadyConnected);
                    Ok(())
                }
            };
            editor.clear();
            match result {
                Err(error) if error.is_fatal() => break Some(error),
                Err(error) => self.report(&MqttError::Mqtt(error)),
                Ok(()) => {}
            }
            let _ = self.console.write_str("CMD> ");
        };
        editor.clear();
        link.close(failure, &mut self.console);
        drop(socket); // TCP FIN, or nothing if the connection is gone already
    }

    /// Network work between keystrokes; events are printed as they come. Returns whether
    /// anything was printed.
    fn poll_network(&mut self) -> bool {
        let Some(net) = self.net else {
            return false;
        };
        net.poll();
        let mut printed = false;
        while let Some(event) = net.take_event() {
            match event {
                NetEvent::DhcpConfigured { .. } | NetEvent::StaticFallback { .. } => {
                    board::set_led(Led::Green, true);
                }
                NetEvent::LinkDown | NetEvent::DhcpLost => board::set_led(Led::Green, false),
                _ => {}
            }
            let _ = write!(self.console, "\r\nnet: {event}\r\n");
            printed = true;
        }
        printed
    }

    /// Carries out a line, except for what only the MQTT side can do.
    fn run<'l>(&mut self, line: &'l str) -> ForMqtt<'l> {
        let command = match Command::parse(line) {
            Ok(command) => command,
            Err(error) => {
                let _ = write!(self.console, "*** {error}\r\n");
                return ForMqtt::Nothing;
            }
        };
        match command {
            Command::Nothing => {}
            Command::Help | Command::Mqtt(MqttCommand::Help) => {
                let _ = self.console.write_str(console::HELP);
            }
            Command::Status => {
                self.status();
                return ForMqtt::Status;
            }
            Command::Mqtt(MqttCommand::Status) => return ForMqtt::Status,
            Command::Mqtt(command) => return ForMqtt::Command(command),
            Command::Time(time) => self.time(time),
            Command::Date(date) => self.date(date),
            Command::DateToSec(date_time) => match date_time.to_unix() {
                Ok(unix) => {
                    let _ = write!(self.console, "{date_time} = {unix}\r\n");
                }
                Err(error) => {
                    let _ = write!(self.console, "*** {error}\r\n");
                }
            },
            Command::SecToDate(unix) => match DateTime::from_unix(unix) {
                Ok(date_time) => {
                    let _ = write!(self.console, "{unix} = {date_time}\r\n");
                }
                Err(error) => {
                    let _ = write!(self.console, "*** {error}\r\n");
                }
            },
        }
        ForMqtt::Nothing
    }

    /// The current date and time, or 01.01.1970 00:00:00 when the RTC is not set.
    fn now_or_epoch(&self) -> DateTime {
        let unix = self.rtc.now().unwrap_or(0);
        DateTime::from_unix(unix).unwrap_or(DateTime {
            date: Date {
                year: 1970,
                month: 1,
                day: 1,
            },
            time: TimeOfDay {
                hour: 0,
                minute: 0,
                second: 0,
            },
        })
    }

    fn set_clock(&mut self, date_time: DateTime) {
        let result = match date_time.to_unix() {
            Ok(unix) => self
                .rtc
                .set(unix)
                .map_err(|error| write!(self.console, "*** {error}\r\n")),
            Err(error) => Err(write!(self.console, "*** {error}\r\n")),
        };
        if result.is_ok() {
            let _ = write!(self.console, "{date_time}\r\n");
        }
    }

    fn time(&mut self, time: Option<TimeOfDay>) {
        match time {
            Some(time) => {
                let date = self.now_or_epoch().date;
                self.set_clock(DateTime { date, time });
            }
            None => self.show_clock(|date_time, out| {
                let _ = write!(out, "{} UTC\r\n", date_time.time);
            }),
        }
    }

    fn date(&mut self, date: Option<Date>) {
        match date {
            Some(date) => {
                let time = self.now_or_epoch().time;
                self.set_clock(DateTime { date, time });
            }
            None => self.show_clock(|date_time, out| {
                let _ = write!(out, "{}\r\n", date_time.date);
            }),
        }
    }

    fn show_clock(&mut self, show: impl FnOnce(DateTime, &mut uart::Uart0)) {
        match self.rtc.now().map(DateTime::from_unix) {
            Some(Ok(date_time)) => show(date_time, &mut self.console),
            _ => {
                let _ = self
                    .console
                    .write_str("not set (date dd.mm.yyyy, time hh:mm:ss)\r\n");
            }
        }
    }

    fn status(&mut self) {
        let micros = uptime::micros();
        let out = &mut self.console;
        let _ = write!(
            out,
            "System\r\n  firmware  : {} {}\r\n  clocks    : core {} Hz, bus {} Hz ({})\r\n  \
             uptime    : {}.{:03} s\r\n  time      : ",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            self.clocks.core_hz,
            self.clocks.bus_hz,
            match self.clocks.source {
                ClockSource::Pll120MHz => "PLL from the PHY's 50 MHz",
                ClockSource::InternalFallback(_) => "internal fallback",
            },
            micros / 1_000_000,
            micros / 1000 % 1000,
        );
        match self.rtc.now().map(DateTime::from_unix) {
            Some(Ok(date_time)) => {
                let _ = write!(out, "{date_time}\r\n");
            }
            _ => {
                let _ = out.write_str("not set\r\n");
            }
        }
        let _ = write!(
            out,
            "  random    : RNGA, {} words read{}\r\n  stack     : peak {} of {} bytes\r\n  \
             console   : {} receive errors\r\nNetwork\r\n",
            self.rng.words_read(),
            if self.rng.has_failed() {
                ", FAILED"
            } else {
                ""
            },
            stack::peak_bytes(),
            stack::size_bytes(),
            out.line_errors(),
        );
        match self.net.map(NetHandle::status) {
            Some(Some(status)) => {
                let _ = write!(out, "{status}");
            }
            Some(None) => {
                let _ = out.write_str("  busy\r\n");
            }
            None => {
                let _ = out.write_str("  not running\r\n");
            }
        }
        let _ = out.write_str("MQTT\r\n");
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    cortex_m::interrupt::disable();
    board::set_led(Led::Red, true);
    // The message and location with the feature `panic-info` only: see Cargo.toml for their cost.
    if cfg!(feature = "panic-info") {
        let _ = write!(uart::EmergencyWriter, "\r\n*** panic: {info}\r\n");
    } else {
        let _ = info;
        let _ = uart::EmergencyWriter
            .write_str("\r\n*** panic (build with --features panic-info for its message)\r\n");
    }
    loop {
        core::hint::spin_loop();
    }
}

// cortex-m-rt requires this signature (`unsafe fn`); the body only writes UART0 and GPIO.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    board::set_led(Led::Red, true);
    let _ = write!(
        uart::EmergencyWriter,
        "\r\n*** HardFault: pc {:#010x}, lr {:#010x}, xpsr {:#010x}\r\n",
        frame.pc(),
        frame.lr(),
        frame.xpsr()
    );
    loop {
        core::hint::spin_loop();
    }
}
