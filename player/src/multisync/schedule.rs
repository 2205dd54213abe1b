//! When a master sends: a start on an item's first frame shown, a sync on that frame and
//! then every 4 frames up to frame 32 and every 10 frames after (FPP's
//! `SendSeqSyncPacket` counts from the last frame it sent, so a frame skipped by the pacer
//! delays the next sync instead of losing it), and a stop when the item ends.

/// The first frames, synced more often so a remote starting with the item locks on fast.
pub const DENSE_UNTIL: u32 = 32;
/// Frames between syncs up to [`DENSE_UNTIL`].
pub const DENSE_EVERY: u32 = 4;
/// Frames between syncs after [`DENSE_UNTIL`].
pub const SPARSE_EVERY: u32 = 10;

/// Whether a sync is due at `frame`, given the frame of the last sync sent for this item
/// (`None`: none yet). A frame before the last one sent (the item was sought back) is due
/// at once; FPP would stay quiet until the position passed the old one again.
pub fn sync_due(frame: u32, last_sent: Option<u32>) -> bool {
    let Some(last) = last_sent else {
        return true;
    };
    if frame < last {
        return true;
    }
    let every = if frame > DENSE_UNTIL {
        SPARSE_EVERY
    } else {
        DENSE_EVERY
    };
    frame - last >= every
}

/// The packets due on one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Due {
    /// A start (the item's first frame shown).
    pub start: bool,
    /// A sync.
    pub sync: bool,
}

/// The master's schedule for the item on screen.
#[derive(Debug, Clone, Default)]
pub struct MasterSchedule {
    last_sent: Option<u32>,
    started: bool,
}

impl MasterSchedule {
    /// No item started yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The item's `frame` is shown: what to send.
    pub fn frame(&mut self, frame: u32) -> Due {
        let start = !self.started;
        self.started = true;
        let sync = sync_due(frame, self.last_sent);
        if sync {
            self.last_sent = Some(frame);
        }
        Due { start, sync }
    }

    /// The item ended: whether a stop is due (it was started). The next frame starts anew.
    pub fn end(&mut self) -> bool {
        let stop = self.started;
        *self = Self::default();
        stop
    }

    /// Whether the item has been started.
    pub fn started(&self) -> bool {
        self.started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(frames: impl IntoIterator<Item = u32>) -> Vec<u32> {
        let mut s = MasterSchedule::new();
        frames.into_iter().filter(|&f| s.frame(f).sync).collect()
    }

    #[test]
    fn every_4_then_every_10() {
        assert_eq!(
            sent(0..100),
            [0, 4, 8, 12, 16, 20, 24, 28, 32, 42, 52, 62, 72, 82, 92]
        );
    }

    #[test]
    fn counts_from_the_last_frame_sent() {
        // The pacer skipped frames 3 … 5 and 40 … 43: the next sync comes at the first
        // frame at least the interval after the last one sent.
        let frames = (0..3).chain(6..40).chain(44..70);
        assert_eq!(sent(frames), [0, 6, 10, 14, 18, 22, 26, 30, 44, 54, 64]);
    }

    #[test]
    fn a_late_join_and_a_seek_back_send_at_once() {
        // A master that joins an item at frame 500 (epoch join) syncs at once.
        assert_eq!(sent(500..530), [500, 510, 520]);
        // Seeking back from 60 to 10 syncs at 10, then every 4 until 32.
        assert_eq!(
            sent((40..61).chain(10..40)),
            [40, 50, 60, 10, 14, 18, 22, 26, 30]
        );
    }

    #[test]
    fn start_on_the_first_frame_and_stop_at_the_end() {
        let mut s = MasterSchedule::new();
        assert!(!s.end(), "no stop before a start");
        assert_eq!(
            s.frame(0),
            Due {
                start: true,
                sync: true
            }
        );
        assert_eq!(s.frame(1), Due::default());
        assert!(s.started());
        assert!(s.end());
        assert!(!s.started());
        // The next item: a start again, and its counting starts afresh.
        assert_eq!(
            s.frame(0),
            Due {
                start: true,
                sync: true
            }
        );
        assert_eq!(s.frame(3), Due::default());
        assert!(s.frame(4).sync);
    }
}
