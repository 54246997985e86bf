//! The outbound in-flight table: QoS 1 and 2 PUBLISH packets the broker has not finished
//! acknowledging, kept encoded so that they can be sent again, byte for byte, after a reconnect.
//!
//! MQTT 3.1.1 §4.4 [MQTT-4.4.0-1]: when a client reconnects with CleanSession = 0 it must re-send
//! every unacknowledged PUBLISH (QoS > 0) and PUBREL, with their original packet identifiers, and
//! in the original order ([MQTT-4.6.0-1]). A PUBLISH past PUBREC no longer needs its bytes: only
//! the PUBREL is re-sent, so its bytes are dropped at that point to make room.
//!
//! Storage is two fixed arrays: up to `N` slots, and `STORE` bytes holding the encoded packets
//! back to back in slot order. Removing a slot moves the later bytes down (a copy within the
//! store: small, bounded by `STORE`, and no fragmentation).

use heapless::Vec;

/// Where an outbound QoS 1 or 2 message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Awaiting {
    /// QoS 1, PUBLISH sent, waiting for PUBACK.
    Puback,
    /// QoS 2, PUBLISH sent, waiting for PUBREC.
    Pubrec,
    /// QoS 2, PUBREL sent, waiting for PUBCOMP.
    Pubcomp,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    pid: u16,
    stage: Awaiting,
    /// Length of the encoded PUBLISH in the store (0 once past PUBREC).
    len: usize,
    /// Still to be sent again on this connection (set when a session resumes).
    resend: bool,
}

/// Why a message could not be taken into the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Full {
    /// All `N` slots hold unacknowledged messages.
    Window {
        /// The window size.
        slots: usize,
    },
    /// The encoded message does not fit in what is left of the byte store.
    Store {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes free in the store.
        free: usize,
    },
}

/// What to re-send next after a session resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend<'a> {
    /// The stored PUBLISH (the caller sets DUP).
    Publish(&'a [u8]),
    /// A PUBREL for this packet id.
    Pubrel(u16),
}

/// Outbound messages in flight: at most `N` of them, `STORE` bytes of encoded packets in all.
#[derive(Debug)]
pub struct InFlight<const N: usize, const STORE: usize> {
    slots: Vec<Slot, N>,
    bytes: Vec<u8, STORE>,
}

impl<const N: usize, const STORE: usize> Default for InFlight<N, STORE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const STORE: usize> InFlight<N, STORE> {
    /// An empty table.
    pub const fn new() -> Self {
        InFlight {
            slots: Vec::new(),
            bytes: Vec::new(),
        }
    }

    /// Number of messages in flight.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether `pid` is in use by a message in flight.
    pub fn contains(&self, pid: u16) -> bool {
        self.slots.iter().any(|s| s.pid == pid)
    }

    /// The stage of the message with packet id `pid`.
    pub fn stage(&self, pid: u16) -> Option<Awaiting> {
        self.slots.iter().find(|s| s.pid == pid).map(|s| s.stage)
    }

    /// Whether a message of `len` encoded bytes could be taken now.
    pub fn check_room(&self, len: usize) -> Result<(), Full> {
        if self.slots.is_full() {
            return Err(Full::Window { slots: N });
        }
        let free = STORE - self.bytes.len();
        if len > free {
            return Err(Full::Store { needed: len, free });
        }
        Ok(())
    }

    /// Take a freshly sent PUBLISH (`encoded`, as sent) with packet id `pid`.
    pub fn insert(&mut self, pid: u16, stage: Awaiting, encoded: &[u8]) -> Result<(), Full> {
        self.check_room(encoded.len())?;
        self.bytes
            .extend_from_slice(encoded)
            .map_err(|_| Full::Store {
                needed: encoded.len(),
                free: STORE - self.bytes.len(),
            })?;
        let slot = Slot {
            pid,
            stage,
            len: encoded.len(),
            resend: false,
        };
        if self.slots.push(slot).is_err() {
            // check_room said there was a slot; undo the bytes to stay consistent regardless.
            self.bytes.truncate(self.bytes.len() - encoded.len());
            return Err(Full::Window { slots: N });
        }
        Ok(())
    }

    /// Byte offset of slot `index` in the store.
    fn offset(&self, index: usize) -> usize {
        self.slots.iter().take(index).map(|s| s.len).sum()
    }

    /// Drop the stored bytes of slot `index`, keeping the slot.
    fn drop_bytes(&mut self, index: usize) {
        let start = self.offset(index);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let end = start + slot.len;
        slot.len = 0;
        let total = self.bytes.len();
        if end <= total {
            self.bytes.copy_within(end..total, start);
            self.bytes.truncate(total - (end - start));
        }
    }

    /// The message `pid` is done (PUBACK or PUBCOMP): forget it. Returns whether it was there.
    pub fn complete(&mut self, pid: u16) -> bool {
        let Some(index) = self.slots.iter().position(|s| s.pid == pid) else {
            return false;
        };
        self.drop_bytes(index);
        self.slots.remove(index);
        true
    }

    /// PUBREC arrived for `pid`: from now on only its PUBREL is re-sent.
    pub fn received(&mut self, pid: u16) -> bool {
        let Some(index) = self.slots.iter().position(|s| s.pid == pid) else {
            return false;
        };
        self.drop_bytes(index);
        if let Some(slot) = self.slots.get_mut(index) {
            slot.stage = Awaiting::Pubcomp;
            slot.resend = false;
        }
        true
    }

    /// A session resumed: every message is to be sent again, in order.
    pub fn mark_all_for_resend(&mut self) {
        for slot in self.slots.iter_mut() {
            slot.resend = true;
        }
    }

    /// Whether anything is still waiting to be sent again.
    pub fn resend_pending(&self) -> bool {
        self.slots.iter().any(|s| s.resend)
    }

    /// The next message to send again, marked as sent.
    pub fn next_resend(&mut self) -> Option<Resend<'_>> {
        let index = self.slots.iter().position(|s| s.resend)?;
        let start = self.offset(index);
        let slot = self.slots.get_mut(index)?;
        slot.resend = false;
        match slot.stage {
            Awaiting::Pubcomp => Some(Resend::Pubrel(slot.pid)),
            Awaiting::Puback | Awaiting::Pubrec => {
                let end = start + slot.len;
                self.bytes.get(start..end).map(Resend::Publish)
            }
        }
    }

    /// Forget everything (a clean session starts).
    pub fn clear(&mut self) {
        self.slots.clear();
        self.bytes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_complete_and_compaction() {
        let mut t = InFlight::<3, 16>::new();
        t.insert(1, Awaiting::Puback, b"aaaa").unwrap();
        t.insert(2, Awaiting::Pubrec, b"bbbbbb").unwrap();
        t.insert(3, Awaiting::Puback, b"cc").unwrap();
        assert_eq!(
            t.insert(4, Awaiting::Puback, b"d"),
            Err(Full::Window { slots: 3 })
        );
        assert!(t.complete(1));
        assert!(!t.complete(1));
        assert_eq!(
            t.insert(4, Awaiting::Puback, &[0; 9]),
            Err(Full::Store { needed: 9, free: 8 })
        );
        assert!(t.received(2));
        assert_eq!(t.stage(2), Some(Awaiting::Pubcomp));
        t.mark_all_for_resend();
        assert_eq!(t.next_resend(), Some(Resend::Pubrel(2)));
        assert_eq!(t.next_resend(), Some(Resend::Publish(b"cc")));
        assert_eq!(t.next_resend(), None);
        assert_eq!(t.len(), 2);
        assert!(t.contains(2) && t.contains(3) && !t.contains(1));
        t.insert(5, Awaiting::Puback, &[7; 14]).unwrap();
        t.mark_all_for_resend();
        t.next_resend();
        t.next_resend();
        assert_eq!(t.next_resend(), Some(Resend::Publish(&[7; 14])));
    }
}
