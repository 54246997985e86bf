//! embassy-net over the LAN9118: the stack, its runner task, DHCP, and the interrupt.
//!
//! QEMU's user-mode network (`-nic user,model=lan9118`) answers DHCP with 10.0.2.15/24 and
//! routes 10.0.2.2 to the host's loopback, where the broker listens. Should no lease come
//! within [`DHCP_TIMEOUT`], the stack takes that same address statically.

use core::fmt;

use cortex_m::peripheral::NVIC;
use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_net::{Config, ConfigV4, Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources};
use embassy_time::{Duration, with_timeout};
use firmware_net::lan9118::embassy::{InterruptSignal, Lan9118Driver};
use firmware_net::lan9118::{self, Lan9118, MPS2_AN386_IRQ};
use static_cell::StaticCell;

/// The host, as QEMU's user-mode network shows it to the guest.
pub const HOST: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
/// How long to wait for a DHCP lease before taking the static address.
const DHCP_TIMEOUT: Duration = Duration::from_secs(5);
/// Sockets: DHCP and the one TCP connection (a spare for a reconnect's overlap).
const SOCKETS: usize = 3;

/// The LAN9118 driver's interrupt half, shared with [`on_interrupt`].
static ETHERNET: InterruptSignal = InterruptSignal::new();

/// The LAN9118's NVIC line.
#[derive(Clone, Copy)]
struct EthernetIrq;

// SAFETY: 13 is the LAN9118's line on mps2-an386, a valid external interrupt number.
unsafe impl cortex_m::interrupt::InterruptNumber for EthernetIrq {
    fn number(self) -> u16 {
        MPS2_AN386_IRQ
    }
}

/// Whether interrupt `irqn` (cortex-m-rt's `DefaultHandler` argument) is the LAN9118's; if
/// so, masks it at the controller and wakes the network runner.
pub fn on_interrupt(irqn: i16) -> bool {
    if irqn != MPS2_AN386_IRQ as i16 {
        return false;
    }
    ETHERNET.on_interrupt();
    true
}

/// Why the network did not come up.
#[derive(Clone, Copy, Debug)]
pub struct NoNetwork(lan9118::Error);

impl fmt::Display for NoNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ethernet: {}", self.0)
    }
}

type Driver = Lan9118Driver<'static>;

#[embassy_executor::task]
async fn run_stack(mut runner: Runner<'static, Driver>) -> ! {
    runner.run().await
}

/// Starts the LAN9118 and embassy-net on it (the runner as its own task), and waits for an
/// IPv4 address.
pub async fn start(spawner: Spawner, seed: u64) -> Result<Stack<'static>, NoNetwork> {
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    let chip = Lan9118::mps2_an386().map_err(NoNetwork)?;
    let driver = Lan9118Driver::new(chip, &ETHERNET);
    // SAFETY: the handler (`on_interrupt`) only touches the `InterruptSignal`, which the
    // driver set up just before; no critical section depends on the line being masked.
    unsafe { NVIC::unmask(EthernetIrq) };
    let config = Config::dhcpv4(Default::default());
    let (stack, runner) =
        embassy_net::new(driver, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(run_stack(runner).expect("the network task is spawned once"));

    if with_timeout(DHCP_TIMEOUT, stack.wait_config_up())
        .await
        .is_err()
    {
        hprintln!("mps2-embassy: no DHCP lease: static 10.0.2.15/24");
        stack.set_config_v4(ConfigV4::Static(embassy_net::StaticConfigV4 {
            address: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
            gateway: Some(HOST),
            dns_servers: Default::default(),
        }));
    }
    if let Some(config) = stack.config_v4() {
        match config.gateway {
            Some(gateway) => hprintln!("mps2-embassy: IPv4 {} gateway {}", config.address, gateway),
            None => hprintln!("mps2-embassy: IPv4 {} without a gateway", config.address),
        }
    }
    Ok(stack)
}
