//! Puts packets back in sequence order. Over WebTransport every packet travels on its own
//! QUIC stream, so packets can overtake each other; the recorder must not mistake that for
//! loss.
//!
//! Queue policy: at most `window` packets wait for a missing one; when one more arrives, the
//! missing ones are given up as lost and the oldest waiting packet is released. Packets older
//! than the ones already released (or repeated) are dropped and counted in `late`.

use std::collections::BTreeMap;

/// The reordering buffer of one track.
#[derive(Debug)]
pub struct Reorder<T> {
    next: Option<u64>,
    pending: BTreeMap<u64, T>,
    window: usize,
    /// Packets dropped because they came after their turn or twice.
    pub late: u64,
}

impl<T> Reorder<T> {
    /// A buffer holding at most `window` packets.
    pub fn new(window: usize) -> Self {
        Self { next: None, pending: BTreeMap::new(), window: window.max(1), late: 0 }
    }

    /// Adds packet `sequence`; returns the packets now in order, each with the number of
    /// sequence numbers given up as lost just before it.
    pub fn push(&mut self, sequence: u64, item: T) -> Vec<(u64, T)> {
        let next = *self.next.get_or_insert(sequence);
        if sequence < next || self.pending.contains_key(&sequence) {
            self.late += 1;
            return Vec::new();
        }
        self.pending.insert(sequence, item);
        let mut out = Vec::new();
        while let Some(ready) = self.pop(false) {
            out.push(ready);
        }
        out
    }

    /// Releases everything still waiting, in order (at the end of a recording).
    pub fn flush(&mut self) -> Vec<(u64, T)> {
        let mut out = Vec::new();
        while let Some(ready) = self.pop(true) {
            out.push(ready);
        }
        out
    }

    fn pop(&mut self, force: bool) -> Option<(u64, T)> {
        let next = self.next?;
        let (&first, _) = self.pending.first_key_value()?;
        if first != next && !force && self.pending.len() <= self.window {
            return None;
        }
        let (sequence, item) = self.pending.pop_first()?;
        self.next = Some(sequence.saturating_add(1));
        Some((sequence - next, item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_that_overtake_each_other_come_out_in_order() {
        let mut r = Reorder::new(4);
        assert_eq!(r.push(0, 'a'), [(0, 'a')]);
        assert_eq!(r.push(2, 'c'), []);
        assert_eq!(r.push(1, 'b'), [(0, 'b'), (0, 'c')]);
        assert_eq!(r.late, 0);
    }

    #[test]
    fn a_lost_packet_is_given_up_when_the_window_overflows() {
        let mut r = Reorder::new(2);
        r.push(0, 0);
        assert_eq!(r.push(2, 2), []);
        assert_eq!(r.push(3, 3), []);
        // A third waiting packet: 1 is lost.
        assert_eq!(r.push(4, 4), [(1, 2), (0, 3), (0, 4)]);
        assert_eq!(r.push(1, 1), [], "too late now");
        assert_eq!(r.late, 1);
    }

    #[test]
    fn a_hostile_sequence_number_does_not_overflow() {
        let mut r = Reorder::new(1);
        r.push(0, 'a');
        assert_eq!(r.push(u64::MAX, 'b'), []);
        assert_eq!(r.push(5, 'c'), [(4, 'c')]);
        assert_eq!(r.flush(), [(u64::MAX - 6, 'b')]);
        assert_eq!(r.push(7, 'd'), [], "everything below the largest number is late now");
    }

    #[test]
    fn repeats_are_late_and_flush_releases_the_rest() {
        let mut r = Reorder::new(8);
        r.push(5, 'x');
        assert_eq!(r.push(5, 'y'), []);
        assert_eq!(r.late, 1);
        r.push(8, 'z');
        assert_eq!(r.flush(), [(2, 'z')]);
    }
}
