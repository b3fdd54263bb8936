//! Replay protection: a per-sender `(epoch, counter)` checked against a sliding
//! window in the manner of RFC 6479.
//!
//! A sender numbers its messages with a boot `epoch` (which the host persists
//! and increases before first use after every start) and a `counter` that
//! increases by one per message within the epoch. A receiver keeps one
//! [`ReplayWindow`] per sender:
//!
//! - a higher epoch starts afresh (the sender rebooted);
//! - a lower epoch is refused ([`ReplayError::StaleEpoch`]);
//! - within the epoch, a counter above the highest seen is new; one at most
//!   [`ReplayWindow::WINDOW`] − 1 below it is new unless already seen
//!   ([`ReplayError::Replayed`]); anything older is refused ([`ReplayError::TooOld`]).
//!
//! The window is a ring of `BLOCKS` 64-bit words (RFC 6479): moving forward
//! clears only the words passed over, so every operation is O(1) amortised
//! and the state is `BLOCKS × 8 + 24` bytes.
//!
//! [`ReplayWindow::check`] changes nothing; [`ReplayWindow::accept`] commits.
//! Receivers `check` before verifying the tag (cheap rejection of replays) and
//! `accept` only after it verified, so a forged packet never moves the window.

/// Why a message's `(epoch, counter)` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The epoch is older than the sender's current one.
    StaleEpoch {
        /// The epoch the window is in.
        current: u64,
    },
    /// The counter is below the window.
    TooOld,
    /// The counter was already accepted.
    Replayed,
}

crate::error::error_impls! {
    ReplayError, f;
    ReplayError::StaleEpoch { current } => ErrorKind::Replayed, write!(f, "message from an epoch before {current}");
    ReplayError::TooOld => ErrorKind::Replayed, f.write_str("message counter is below the replay window");
    ReplayError::Replayed => ErrorKind::Replayed, f.write_str("message was already received");
}

/// One sender's replay state: `BLOCKS` (a power of two, at least 2) words of
/// 64 bits, of which `BLOCKS − 1` are the window. The default, 16, gives a
/// 960-message window in 152 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayWindow<const BLOCKS: usize = 16> {
    /// `None` until the first accepted message.
    epoch: Option<u64>,
    /// The highest counter accepted in `epoch`.
    top: u64,
    bitmap: [u64; BLOCKS],
}

impl<const BLOCKS: usize> Default for ReplayWindow<BLOCKS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BLOCKS: usize> ReplayWindow<BLOCKS> {
    const SHAPE: () = assert!(BLOCKS >= 2 && BLOCKS.is_power_of_two(), "BLOCKS must be a power of two >= 2");

    /// How far below the highest counter a message is still accepted.
    pub const WINDOW: u64 = (BLOCKS as u64 - 1) * 64;

    /// A window that has seen nothing.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::SHAPE;
        ReplayWindow { epoch: None, top: 0, bitmap: [0; BLOCKS] }
    }

    /// The current epoch and highest accepted counter, if any message was accepted.
    pub const fn position(&self) -> Option<(u64, u64)> {
        match self.epoch {
            Some(e) => Some((e, self.top)),
            None => None,
        }
    }

    fn slot(counter: u64) -> (usize, u64) {
        // `BLOCKS` is a power of two: the remainder is a mask, and fits `usize`.
        let block = ((counter >> 6) & (BLOCKS as u64 - 1)) as usize;
        (block, 1u64 << (counter & 63))
    }

    /// Whether `(epoch, counter)` would be accepted. Changes nothing.
    pub fn check(&self, epoch: u64, counter: u64) -> Result<(), ReplayError> {
        let Some(current) = self.epoch else { return Ok(()) };
        if epoch < current {
            return Err(ReplayError::StaleEpoch { current });
        }
        if epoch > current || counter > self.top {
            return Ok(());
        }
        if self.top - counter >= Self::WINDOW {
            return Err(ReplayError::TooOld);
        }
        let (block, bit) = Self::slot(counter);
        match self.bitmap.get(block) {
            Some(word) if word & bit == 0 => Ok(()),
            _ => Err(ReplayError::Replayed),
        }
    }

    /// Checks `(epoch, counter)` and, if it is new, records it. Call only after
    /// the message's tag or signature verified.
    pub fn accept(&mut self, epoch: u64, counter: u64) -> Result<(), ReplayError> {
        self.check(epoch, counter)?;
        if self.epoch != Some(epoch) {
            self.epoch = Some(epoch);
            self.top = counter;
            self.bitmap = [0; BLOCKS];
        } else if counter > self.top {
            let (old, new) = (self.top >> 6, counter >> 6);
            let passed = (new - old).min(BLOCKS as u64);
            for i in 1..=passed {
                let (block, _) = Self::slot((old + i) << 6);
                if let Some(word) = self.bitmap.get_mut(block) {
                    *word = 0;
                }
            }
            self.top = counter;
        }
        let (block, bit) = Self::slot(counter);
        if let Some(word) = self.bitmap.get_mut(block) {
            *word |= bit;
        }
        Ok(())
    }
}

/// The sending side: this node's epoch and its next counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendCounter {
    epoch: u64,
    next: u64,
}

/// Why no counter can be handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterExhausted {
    /// The epoch's 2^64 − 1 counters are used up: start a new epoch.
    Exhausted,
}

crate::error::error_impls! {
    CounterExhausted, f;
    CounterExhausted::Exhausted => ErrorKind::InvalidState, f.write_str("message counter of this epoch is exhausted");
}

impl SendCounter {
    /// Counting from 0 in `epoch`, which the host has persisted as used (and
    /// which is higher than every epoch this node used before).
    pub const fn new(epoch: u64) -> Self {
        SendCounter { epoch, next: 0 }
    }

    /// The epoch.
    pub const fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The `(epoch, counter)` for the next message.
    pub fn next_message(&mut self) -> Result<(u64, u64), CounterExhausted> {
        let counter = self.next;
        self.next = self.next.checked_add(1).ok_or(CounterExhausted::Exhausted)?;
        Ok((self.epoch, counter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// The obvious model: every counter seen in the current epoch.
    #[derive(Default)]
    struct Reference {
        epoch: Option<u64>,
        seen: BTreeSet<u64>,
        window: u64,
    }

    impl Reference {
        fn check(&self, epoch: u64, counter: u64) -> Result<(), ReplayError> {
            let Some(current) = self.epoch else { return Ok(()) };
            if epoch < current {
                return Err(ReplayError::StaleEpoch { current });
            }
            if epoch > current {
                return Ok(());
            }
            let top = *self.seen.last().unwrap();
            if counter > top {
                Ok(())
            } else if top - counter >= self.window {
                Err(ReplayError::TooOld)
            } else if self.seen.contains(&counter) {
                Err(ReplayError::Replayed)
            } else {
                Ok(())
            }
        }

        fn accept(&mut self, epoch: u64, counter: u64) -> Result<(), ReplayError> {
            self.check(epoch, counter)?;
            if self.epoch != Some(epoch) {
                self.epoch = Some(epoch);
                self.seen.clear();
            }
            self.seen.insert(counter);
            Ok(())
        }
    }

    fn ops() -> impl Strategy<Value = std::vec::Vec<(bool, u64, u64)>> {
        // Mostly forward, with jumps and reaches back around the window's edge.
        proptest::collection::vec((any::<bool>(), 0u64..3, 0u64..1200), 1..400)
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_set(ops in ops()) {
            let mut window = ReplayWindow::<4>::new();
            let mut reference = Reference { window: ReplayWindow::<4>::WINDOW, ..Reference::default() };
            for (commit, epoch, counter) in ops {
                prop_assert_eq!(window.check(epoch, counter), reference.check(epoch, counter));
                if commit {
                    prop_assert_eq!(window.accept(epoch, counter), reference.accept(epoch, counter));
                }
            }
        }

        #[test]
        fn agrees_with_the_reference_set_on_a_wide_window(ops in ops()) {
            let mut window = ReplayWindow::<16>::new();
            let mut reference = Reference { window: ReplayWindow::<16>::WINDOW, ..Reference::default() };
            for (commit, epoch, counter) in ops {
                let counter = counter * 3;
                prop_assert_eq!(window.check(epoch, counter), reference.check(epoch, counter));
                if commit {
                    prop_assert_eq!(window.accept(epoch, counter), reference.accept(epoch, counter));
                }
            }
        }
    }

    #[test]
    fn named_cases() {
        let mut w = ReplayWindow::<2>::new();
        assert_eq!(ReplayWindow::<2>::WINDOW, 64);
        w.accept(5, 100).unwrap();
        assert_eq!(w.accept(5, 100), Err(ReplayError::Replayed));
        w.check(5, 37).unwrap();
        assert_eq!(w.check(5, 36), Err(ReplayError::TooOld));
        assert_eq!(w.accept(4, 1000), Err(ReplayError::StaleEpoch { current: 5 }));
        // check never commits.
        w.check(5, 101).unwrap();
        w.check(5, 101).unwrap();
        w.accept(5, u64::MAX).unwrap();
        assert_eq!(w.accept(5, 101), Err(ReplayError::TooOld));
        w.accept(6, 0).unwrap();
        assert_eq!(w.position(), Some((6, 0)));
        let mut s = SendCounter::new(3);
        assert_eq!(s.next_message(), Ok((3, 0)));
        assert_eq!(s.next_message(), Ok((3, 1)));
        let mut last = SendCounter { epoch: 3, next: u64::MAX };
        assert_eq!(last.next_message(), Err(CounterExhausted::Exhausted));
    }
}
