//! The outbound in-flight table: QoS 1 and 2 PUBLISH packets the broker has not finished
//! acknowledging, kept encoded so that they can be sent again, byte for byte, after a reconnect;
//! and SUBSCRIBE/UNSUBSCRIBE requests awaiting their answer (they share the packet-id space).
//!
//! MQTT 3.1.1 §4.4 [MQTT-4.4.0-1]: when a client reconnects with CleanSession = 0 it must re-send
//! every unacknowledged PUBLISH (QoS > 0) and PUBREL, with their original packet identifiers, and
//! in the original order ([MQTT-4.6.0-1]). A PUBLISH past PUBREC no longer needs its bytes: only
//! the PUBREL is re-sent, so its bytes are dropped at that point to make room.
//!
//! Storage is two caller-owned slices: [`Slot`]s (one per message or request in flight) and a
//! byte store holding the encoded packets back to back in slot order. Live slots are packed at
//! the front (a free slot has packet id 0, which MQTT never uses); removing one moves the later
//! ones and their bytes down (small copies, bounded by the slices, no fragmentation).

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

/// A request awaiting its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// SUBSCRIBE with this many filters: SUBACK must answer each.
    Subscribe {
        /// Filters sent.
        filters: usize,
    },
    /// UNSUBSCRIBE: UNSUBACK answers it.
    Unsubscribe,
}

// `repr(u8)` with `Free` first: a free slot is all zero bytes, so a `static` [`Storage`](crate::Storage)
// goes to `.bss` (no flash for initial values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Free,
    Puback,
    Pubrec,
    Pubcomp,
    Subscribe,
    Unsubscribe,
}

/// One message or request in flight: the storage unit of a connection's in-flight window
/// (see [`Buffers`](crate::Buffers)). Opaque; start with [`Slot::EMPTY`].
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pid: u16,
    kind: Kind,
    /// Still to be sent again on this connection (set when a session resumes).
    resend: bool,
    /// A message: the length of its encoded PUBLISH in the store (0 once past PUBREC). A
    /// SUBSCRIBE: its number of filters.
    len: usize,
}

impl Slot {
    /// A free slot.
    pub const EMPTY: Slot = Slot {
        pid: 0,
        kind: Kind::Free,
        resend: false,
        len: 0,
    };

    /// Bytes of the store this slot's message takes.
    fn stored(&self) -> usize {
        match self.kind {
            Kind::Subscribe | Kind::Unsubscribe => 0,
            _ => self.len,
        }
    }

    fn is_message(&self) -> bool {
        matches!(self.kind, Kind::Puback | Kind::Pubrec | Kind::Pubcomp)
    }
}

/// Why a message could not be taken into the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Full {
    /// All slots hold unacknowledged messages or requests.
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
#[derive(Debug, PartialEq, Eq)]
pub enum Resend<'a> {
    /// The stored PUBLISH (the caller sets DUP, which stays set for later re-sends).
    Publish(&'a mut [u8]),
    /// A PUBREL for this packet id.
    Pubrel(u16),
}

/// Outbound messages and requests in flight, over caller-owned slices.
#[derive(Debug)]
pub struct InFlight<'b> {
    slots: &'b mut [Slot],
    /// Slots in use, from the start.
    used: usize,
    bytes: &'b mut [u8],
    /// Bytes of `bytes` in use, from the start.
    filled: usize,
}

impl<'b> InFlight<'b> {
    /// An empty table over `slots` and `bytes` (their old contents are forgotten).
    pub fn new(slots: &'b mut [Slot], bytes: &'b mut [u8]) -> Self {
        slots.fill(Slot::EMPTY);
        InFlight {
            slots,
            used: 0,
            bytes,
            filled: 0,
        }
    }

    /// The slots in use (`used` never passes the end).
    #[inline(never)]
    fn live(&self) -> &[Slot] {
        self.slots.get(..self.used).unwrap_or_default()
    }

    fn position(&self, pid: u16) -> Option<usize> {
        self.live().iter().position(|s| s.pid == pid)
    }

    /// Number of messages in flight (requests not counted).
    pub fn len(&self) -> usize {
        self.live().iter().filter(|s| s.is_message()).count()
    }

    /// Whether `pid` is in use by a message or request in flight.
    pub fn contains(&self, pid: u16) -> bool {
        self.position(pid).is_some()
    }

    /// The stage of the message with packet id `pid` (for tests: the session changes a
    /// stage with the one search of [`InFlight::complete`] and [`InFlight::received`]).
    #[cfg(test)]
    pub fn stage(&self, pid: u16) -> Option<Awaiting> {
        self.flow(pid).map(|(_, stage)| stage)
    }

    /// Where the message with packet id `pid` is, and its stage: one search, for the
    /// acknowledgements that look at the stage and then change it.
    fn flow(&self, pid: u16) -> Option<(usize, Awaiting)> {
        let index = self.position(pid)?;
        let stage = match self.live().get(index)?.kind {
            Kind::Puback => Awaiting::Puback,
            Kind::Pubrec => Awaiting::Pubrec,
            Kind::Pubcomp => Awaiting::Pubcomp,
            Kind::Subscribe | Kind::Unsubscribe | Kind::Free => return None,
        };
        Some((index, stage))
    }

    /// The window size (slots in all).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Whether a message of `len` encoded bytes could be taken now.
    pub fn check_room(&self, len: usize) -> Result<(), Full> {
        if self.used >= self.slots.len() {
            return Err(Full::Window {
                slots: self.slots.len(),
            });
        }
        let free = self.bytes.len().saturating_sub(self.filled);
        if len > free {
            return Err(Full::Store { needed: len, free });
        }
        Ok(())
    }

    fn push(&mut self, slot: Slot, encoded: &[u8]) -> Result<(), Full> {
        self.check_room(encoded.len())?;
        let end = self.filled + encoded.len();
        match (
            self.bytes.get_mut(self.filled..end),
            self.slots.get_mut(self.used),
        ) {
            (Some(dst), Some(free)) => {
                dst.copy_from_slice(encoded);
                *free = slot;
                self.filled = end;
                self.used += 1;
                Ok(())
            }
            // check_room said both fit.
            _ => Err(Full::Window {
                slots: self.slots.len(),
            }),
        }
    }

    /// Take a freshly sent PUBLISH (`encoded`, as sent) with packet id `pid`.
    pub fn insert(&mut self, pid: u16, stage: Awaiting, encoded: &[u8]) -> Result<(), Full> {
        let kind = match stage {
            Awaiting::Puback => Kind::Puback,
            Awaiting::Pubrec => Kind::Pubrec,
            Awaiting::Pubcomp => Kind::Pubcomp,
        };
        let slot = Slot {
            pid,
            kind,
            resend: false,
            len: encoded.len(),
        };
        self.push(slot, encoded)
    }

    /// Take a request with packet id `pid` that awaits its answer.
    pub fn insert_request(&mut self, pid: u16, request: Request) -> Result<(), Full> {
        let (kind, len) = match request {
            Request::Subscribe { filters } => (Kind::Subscribe, filters),
            Request::Unsubscribe => (Kind::Unsubscribe, 0),
        };
        let slot = Slot {
            pid,
            kind,
            resend: false,
            len,
        };
        self.push(slot, &[])
    }

    /// Byte offset of slot `index` in the store.
    fn offset(&self, index: usize) -> usize {
        self.live().iter().take(index).map(Slot::stored).sum()
    }

    /// Drop the stored bytes of slot `index`, keeping the slot.
    fn drop_bytes(&mut self, index: usize) {
        let start = self.offset(index);
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        let removed = slot.stored();
        if slot.is_message() {
            slot.len = 0;
        }
        if let Some(tail) = self.bytes.get_mut(start..self.filled) {
            if removed <= tail.len() {
                tail.copy_within(removed.., 0);
                self.filled -= removed;
            }
        }
    }

    /// Remove slot `index` and its bytes; the later slots move down.
    fn remove(&mut self, index: usize) {
        self.drop_bytes(index);
        let Some(tail) = self.slots.get_mut(index..self.used) else {
            return;
        };
        // Each slot takes the one after it, from the last (which becomes empty) down: no
        // `rotate_left`, whose length assertion and generic rotation cost flash.
        let mut next = Slot::EMPTY;
        for slot in tail.iter_mut().rev() {
            next = core::mem::replace(slot, next);
        }
        if !tail.is_empty() {
            self.used -= 1;
        }
    }

    /// The acknowledgement that ends a flow at `stage` (PUBACK at [`Awaiting::Puback`],
    /// PUBCOMP at [`Awaiting::Pubcomp`]) came for `pid`: the message is forgotten if it is at
    /// that stage. Returns the stage it was at (`None`: no message `pid`).
    pub fn complete(&mut self, pid: u16, stage: Awaiting) -> Option<Awaiting> {
        let (index, at) = self.flow(pid)?;
        if at == stage {
            self.remove(index);
        }
        Some(at)
    }

    /// The answer to request `pid` came: forget the request and return it.
    pub fn take_request(&mut self, pid: u16) -> Option<Request> {
        let index = self.position(pid)?;
        let request = match self.live().get(index)? {
            Slot {
                kind: Kind::Subscribe,
                len,
                ..
            } => Request::Subscribe { filters: *len },
            Slot {
                kind: Kind::Unsubscribe,
                ..
            } => Request::Unsubscribe,
            _ => return None,
        };
        self.remove(index);
        Some(request)
    }

    /// PUBREC arrived for `pid`: a QoS 2 message (awaiting PUBREC, or PUBCOMP already) awaits
    /// PUBCOMP from now on, and only its PUBREL is re-sent; a QoS 1 message is left as it is.
    /// Returns the stage it was at (`None`: no message `pid`).
    pub fn received(&mut self, pid: u16) -> Option<Awaiting> {
        let (index, at) = self.flow(pid)?;
        if at != Awaiting::Puback {
            self.drop_bytes(index);
            if let Some(slot) = self.slots.get_mut(index) {
                slot.kind = Kind::Pubcomp;
                slot.resend = false;
            }
        }
        Some(at)
    }

    /// A session resumed: every message is to be sent again, in order; requests are dropped
    /// (the broker forgot them with the old connection).
    pub fn mark_all_for_resend(&mut self) {
        self.forget_requests();
        let used = self.used;
        for slot in self.slots.iter_mut().take(used) {
            slot.resend = true;
        }
    }

    /// Drop the requests still awaiting an answer (a new connection starts).
    pub fn forget_requests(&mut self) {
        while let Some(index) = self.live().iter().position(|s| !s.is_message()) {
            self.remove(index);
        }
    }

    /// Whether anything is still waiting to be sent again.
    pub fn resend_pending(&self) -> bool {
        self.live().iter().any(|s| s.resend)
    }

    /// The next message to send again, marked as sent.
    pub fn next_resend(&mut self) -> Option<Resend<'_>> {
        let index = self.live().iter().position(|s| s.resend)?;
        let start = self.offset(index);
        let slot = self.slots.get_mut(index)?;
        slot.resend = false;
        match slot.kind {
            Kind::Pubcomp => Some(Resend::Pubrel(slot.pid)),
            Kind::Puback | Kind::Pubrec => {
                let end = start + slot.len;
                self.bytes.get_mut(start..end).map(Resend::Publish)
            }
            Kind::Subscribe | Kind::Unsubscribe | Kind::Free => None,
        }
    }

    /// Forget everything (a clean session starts).
    pub fn clear(&mut self) {
        self.slots.fill(Slot::EMPTY);
        self.used = 0;
        self.filled = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_complete_and_compaction() {
        let mut slots = [Slot::EMPTY; 3];
        let mut bytes = [0u8; 16];
        let mut t = InFlight::new(&mut slots, &mut bytes);
        t.insert(1, Awaiting::Puback, b"aaaa").unwrap();
        t.insert(2, Awaiting::Pubrec, b"bbbbbb").unwrap();
        t.insert(3, Awaiting::Puback, b"cc").unwrap();
        assert_eq!(
            t.insert(4, Awaiting::Puback, b"d"),
            Err(Full::Window { slots: 3 })
        );
        assert_eq!(t.complete(1, Awaiting::Pubcomp), Some(Awaiting::Puback));
        assert!(t.contains(1));
        assert_eq!(t.complete(1, Awaiting::Puback), Some(Awaiting::Puback));
        assert_eq!(t.complete(1, Awaiting::Puback), None);
        assert_eq!(
            t.insert(4, Awaiting::Puback, &[0; 9]),
            Err(Full::Store { needed: 9, free: 8 })
        );
        assert_eq!(t.received(3), Some(Awaiting::Puback));
        assert_eq!(t.stage(3), Some(Awaiting::Puback));
        assert_eq!(t.received(2), Some(Awaiting::Pubrec));
        assert_eq!(t.stage(2), Some(Awaiting::Pubcomp));
        t.mark_all_for_resend();
        assert_eq!(t.next_resend(), Some(Resend::Pubrel(2)));
        assert_eq!(t.next_resend(), Some(Resend::Publish(&mut b"cc".to_vec())));
        assert_eq!(t.next_resend(), None);
        assert_eq!(t.len(), 2);
        assert!(t.contains(2) && t.contains(3) && !t.contains(1));
        t.insert(5, Awaiting::Puback, &[7; 14]).unwrap();
        t.mark_all_for_resend();
        t.next_resend();
        t.next_resend();
        assert_eq!(t.next_resend(), Some(Resend::Publish(&mut [7; 14])));
    }

    #[test]
    fn requests_share_the_window_and_are_dropped_on_resume() {
        let mut slots = [Slot::EMPTY; 3];
        let mut bytes = [0u8; 8];
        let mut t = InFlight::new(&mut slots, &mut bytes);
        t.insert_request(1, Request::Subscribe { filters: 2 })
            .unwrap();
        t.insert(2, Awaiting::Puback, b"pp").unwrap();
        t.insert_request(3, Request::Unsubscribe).unwrap();
        assert_eq!(
            t.insert_request(4, Request::Unsubscribe),
            Err(Full::Window { slots: 3 })
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.stage(1), None);
        assert_eq!(t.take_request(2), None);
        assert_eq!(t.take_request(1), Some(Request::Subscribe { filters: 2 }));
        assert_eq!(t.take_request(1), None);
        t.mark_all_for_resend();
        assert!(!t.contains(3));
        assert_eq!(t.next_resend(), Some(Resend::Publish(&mut b"pp".to_vec())));
        assert_eq!(t.next_resend(), None);
    }
}
