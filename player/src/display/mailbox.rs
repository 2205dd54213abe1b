//! The hand-over of frames from the output thread to a display's presenter: a triple buffer.
//!
//! Three slots of the frame's size, allocated once, play three roles that only ever swap:
//! `back` (the publisher copies into it), `middle` (the newest complete frame) and `front`
//! (the frame the presenter shows). Publishing copies into `back` outside any shared lock,
//! then swaps `back` and `middle` under the state lock; the presenter swaps `middle` and
//! `front` when `middle` is fresh. Each slot also sits in its own mutex, which is never
//! contended (a slot has one owner at a time by construction): it only lets the slots be
//! shared without `unsafe`. So the presenter always takes the newest frame and never a
//! half-written one, and nothing is allocated after [`Mailbox::new`].
//!
//! A slot may instead hold a GPU buffer ([`Mailbox::publish_gpu`]): a frame the GPU renderer
//! kept on the presenter's device. Publishing it is a handle clone (no call into wgpu on the
//! output thread, whose ticks must not wait for the device); the presenter draws from the
//! buffer. The renderer rewrites a frame's buffer only when it renders into that frame
//! again, after the output thread has moved on to newer frames; so the presenter draws the
//! published frame, or, only if it fell behind by the frames in flight, a newer one (the
//! device's queue order never lets a draw see a half-written buffer).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// What a display's presenter is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PresenterState {
    /// Not opened yet ([`run_with_displays`](super::run_with_displays) has not reached it).
    #[default]
    Starting,
    /// The monitor is missing, or its window could not be opened: retried every 2 s.
    WaitingForMonitor,
    /// A window is open and frames are presented.
    Showing,
    /// Closed: the displays were shut down.
    Stopped,
}

/// Counters of one [`Mailbox`]: what was published and what the presenter made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MailboxStats {
    /// Frames published (with the right length).
    pub published: u64,
    /// New frames presented (redraws of the same frame not counted).
    pub presented: u64,
    /// Frames published but overwritten by a newer one before the presenter took them.
    pub replaced_unseen: u64,
    /// Presents of a frame already shown (the window was exposed, resized or reopened).
    pub redraws: u64,
    /// Publishes ignored because the byte length was wrong.
    pub errors: u64,
    /// The tick of the newest frame presented, if any.
    pub presented_tick: Option<u64>,
    /// Time of the last present: from taking the frame to `present()` returning.
    pub present_last: Duration,
    /// The longest present time.
    pub present_max: Duration,
    /// The sum of all present times (of new frames), for a mean.
    pub present_total: Duration,
    /// What the presenter is doing.
    pub state: PresenterState,
}

impl MailboxStats {
    /// The mean present time of new frames, if any was presented.
    pub fn present_mean(&self) -> Option<Duration> {
        let n = u32::try_from(self.presented).ok().filter(|&n| n > 0)?;
        Some(self.present_total / n)
    }
}

/// What woke the presenter up ([`Mailbox::wait`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// A new frame is in the front slot.
    Frame,
    /// Nothing new, but the window needs drawing again.
    Redraw,
    /// The timeout passed with nothing to do.
    Timeout,
    /// The mailbox was closed or the presenter was asked to stop.
    Stop,
}

/// Where a slot's newest frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// In the slot's host bytes ([`Mailbox::publish`]).
    Host,
    /// In the slot's GPU buffer ([`Mailbox::publish_gpu`]).
    Gpu,
}

struct State {
    /// Where each slot's frame is.
    kinds: [SlotKind; 3],
    back: usize,
    middle: usize,
    front: usize,
    /// `middle` holds a frame the presenter has not taken.
    fresh: bool,
    middle_tick: u64,
    /// The tick of the frame in `front`, if the presenter ever took one.
    front_tick: Option<u64>,
    closed: bool,
    redraw: bool,
    stop: bool,
    stats: MailboxStats,
}

/// Frames handed from the output thread to a display's presenter: a triple buffer of RGB8
/// frames (`size[0] * size[1] * 3` bytes, rows top to bottom, pixels left to right, R, G, B).
/// [`publish`](Mailbox::publish) copies into a free buffer and makes it the newest; the
/// presenter always takes the newest, never a half-written one. No allocation after
/// [`new`](Mailbox::new); thread-safe (the locks guard index swaps, the copy happens outside
/// them).
pub struct Mailbox {
    byte_len: usize,
    /// The three slots, each `padded_len` bytes (the frame's bytes, then zeros up to a
    /// multiple of 4: GPU buffer writes go in whole words).
    slots: [Mutex<Vec<u8>>; 3],
    state: Mutex<State>,
    wake: Condvar,
    /// Serializes publishers, so the `back` slot has one writer.
    publishing: Mutex<()>,
    /// Per slot: the GPU buffer of a frame published on the GPU.
    handles: [Mutex<Option<wgpu::Buffer>>; 3],
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("byte_len", &self.byte_len)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the wall down with it: the data are plain counters
    // and bytes, consistent at every unlock.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Mailbox {
    /// A mailbox for frames of `byte_len` bytes (width × height × 3).
    pub fn new(byte_len: usize) -> Mailbox {
        let padded = byte_len.div_ceil(4).max(1) * 4;
        Mailbox {
            byte_len,
            slots: std::array::from_fn(|_| Mutex::new(vec![0; padded])),
            state: Mutex::new(State {
                kinds: [SlotKind::Host; 3],
                back: 0,
                middle: 1,
                front: 2,
                fresh: false,
                middle_tick: 0,
                front_tick: None,
                closed: false,
                redraw: false,
                stop: false,
                stats: MailboxStats::default(),
            }),
            wake: Condvar::new(),
            publishing: Mutex::new(()),
            handles: std::array::from_fn(|_| Mutex::new(None)),
        }
    }

    /// The length of a frame in bytes.
    pub fn byte_len(&self) -> usize {
        self.byte_len
    }

    /// Make `bytes` the newest frame, for display tick `tick`. A frame of the wrong length is
    /// ignored and counted in [`MailboxStats::errors`] (logged the first time); after
    /// [`close`](Mailbox::close), publishing does nothing.
    pub fn publish(&self, bytes: &[u8], tick: u64) {
        if bytes.len() != self.byte_len {
            let mut st = lock(&self.state);
            if st.stats.errors == 0 {
                tracing::warn!(
                    got = bytes.len(),
                    want = self.byte_len,
                    "display: a frame of the wrong length was ignored (counted from now on)"
                );
            }
            st.stats.errors += 1;
            return;
        }
        let _one_writer = lock(&self.publishing);
        let back = {
            let st = lock(&self.state);
            if st.closed {
                return;
            }
            st.back
        };
        // Only publishers (serialized above) move `back`, so it is still ours.
        lock(&self.slots[back])[..bytes.len()].copy_from_slice(bytes);
        self.swap_in(SlotKind::Host, tick);
    }

    /// Make the frame in `src` (a GPU buffer on the presenter's device holding at least the
    /// frame's bytes rounded up to whole words, 4 bytes a word, little-endian) the newest
    /// frame, for display tick `tick`. No copy and no call into wgpu: the slot keeps a
    /// handle and the presenter draws from the buffer (see the module docs for why that is
    /// the published frame). False, with nothing published, when `src` is too short
    /// (counted in [`MailboxStats::errors`]) or the mailbox is closed.
    pub fn publish_gpu(&self, src: &wgpu::Buffer, tick: u64) -> bool {
        let padded = self.byte_len.div_ceil(4).max(1) as u64 * 4;
        if src.size() < padded {
            lock(&self.state).stats.errors += 1;
            return false;
        }
        let _one_writer = lock(&self.publishing);
        let back = {
            let st = lock(&self.state);
            if st.closed {
                return false;
            }
            st.back
        };
        // A handle clone: a reference count, no allocation.
        let old = lock(&self.handles[back]).replace(src.clone());
        drop(old);
        self.swap_in(SlotKind::Gpu, tick);
        true
    }

    /// The back slot (just written) becomes the newest frame.
    fn swap_in(&self, kind: SlotKind, tick: u64) {
        let mut st = lock(&self.state);
        let s = &mut *st;
        s.kinds[s.back] = kind;
        std::mem::swap(&mut s.back, &mut s.middle);
        if st.fresh {
            st.stats.replaced_unseen += 1;
        }
        st.fresh = true;
        st.middle_tick = tick;
        st.stats.published += 1;
        drop(st);
        self.wake.notify_all();
    }

    /// The counters so far.
    pub fn stats(&self) -> MailboxStats {
        lock(&self.state).stats
    }

    /// Close the mailbox (the frames have ended): later publishes are ignored and the
    /// presenter is woken so it can exit; the window keeps its last frame until
    /// [`run_with_displays`](super::run_with_displays) returns.
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.wake.notify_all();
    }

    /// Whether [`close`](Mailbox::close) was called.
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    // --- the presenter's side ------------------------------------------------------------

    /// Wait until there is a new frame (then make it the front), a redraw or stop request,
    /// or `timeout` passes.
    pub(crate) fn wait(&self, timeout: Duration) -> Wake {
        let mut st = lock(&self.state);
        let mut waited = false;
        loop {
            if st.closed || st.stop {
                return Wake::Stop;
            }
            if st.fresh {
                let s = &mut *st;
                std::mem::swap(&mut s.front, &mut s.middle);
                s.fresh = false;
                s.front_tick = Some(s.middle_tick);
                s.redraw = false;
                return Wake::Frame;
            }
            if st.redraw {
                st.redraw = false;
                return Wake::Redraw;
            }
            if waited {
                return Wake::Timeout;
            }
            // One wait: a spurious wake-up only shortens this round.
            st = self
                .wake
                .wait_timeout(st, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            waited = true;
        }
    }

    /// Run `f` on the front slot's bytes (padded to a multiple of 4 with zeros), if the
    /// presenter ever took a frame.
    pub(crate) fn with_front<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let front = {
            let st = lock(&self.state);
            st.front_tick?;
            st.front
        };
        // Only the presenter (one at a time) moves `front`.
        let slot = lock(&self.slots[front]);
        Some(f(&slot))
    }

    /// Count a present: of a new frame (with its time) or a redraw.
    pub(crate) fn record_present(&self, new_frame: bool, took: Duration) {
        let mut st = lock(&self.state);
        if new_frame {
            let tick = st.front_tick;
            let s = &mut st.stats;
            s.presented += 1;
            s.presented_tick = tick;
            s.present_last = took;
            s.present_max = s.present_max.max(took);
            s.present_total += took;
        } else {
            st.stats.redraws += 1;
        }
    }

    /// Ask the presenter to draw the window again.
    pub(crate) fn request_redraw(&self) {
        lock(&self.state).redraw = true;
        self.wake.notify_all();
    }

    /// Ask the presenter to exit (its window is going away); [`Mailbox::start_presenter`]
    /// clears it.
    pub(crate) fn request_stop(&self) {
        lock(&self.state).stop = true;
        self.wake.notify_all();
    }

    /// A presenter starts: clear an old stop request and ask for a first draw.
    pub(crate) fn start_presenter(&self) {
        let mut st = lock(&self.state);
        st.stop = false;
        st.redraw = true;
    }

    pub(crate) fn set_state(&self, state: PresenterState) {
        lock(&self.state).stats.state = state;
    }

    /// The GPU buffer of the front slot's frame, if it was published on the GPU.
    pub(crate) fn front_gpu(&self) -> Option<wgpu::Buffer> {
        let front = {
            let st = lock(&self.state);
            st.front_tick?;
            if st.kinds[st.front] != SlotKind::Gpu {
                return None;
            }
            st.front
        };
        // Only the presenter (one at a time) moves `front`.
        lock(&self.handles[front]).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const T: Duration = Duration::from_millis(1);

    fn front(m: &Mailbox) -> Vec<u8> {
        m.with_front(|b| b[..m.byte_len()].to_vec()).unwrap()
    }

    #[test]
    fn presenter_takes_the_newest_and_counts_the_rest() {
        let m = Mailbox::new(6);
        assert_eq!(m.with_front(|_| ()), None);
        assert_eq!(m.wait(T), Wake::Timeout);
        m.publish(&[1; 6], 1);
        m.publish(&[2; 6], 2);
        m.publish(&[3; 6], 3);
        assert_eq!(m.wait(T), Wake::Frame);
        assert_eq!(front(&m), [3; 6]);
        m.record_present(true, Duration::from_millis(4));
        assert_eq!(m.wait(T), Wake::Timeout);
        let s = m.stats();
        assert_eq!((s.published, s.presented, s.replaced_unseen), (3, 1, 2));
        assert_eq!(s.presented_tick, Some(3));
        assert_eq!(s.present_mean(), Some(Duration::from_millis(4)));
        // The front frame stays while newer ones come and go.
        m.publish(&[4; 6], 4);
        assert_eq!(front(&m), [3; 6]);
        assert_eq!(m.wait(T), Wake::Frame);
        assert_eq!(front(&m), [4; 6]);
    }

    #[test]
    fn wrong_length_is_counted_and_ignored() {
        let m = Mailbox::new(6);
        m.publish(&[1; 5], 1);
        m.publish(&[1; 7], 2);
        assert_eq!(m.wait(T), Wake::Timeout);
        let s = m.stats();
        assert_eq!((s.published, s.errors), (0, 2));
    }

    #[test]
    fn padding_is_zero_and_whole_words() {
        let m = Mailbox::new(9);
        m.publish(&[0xff; 9], 0);
        assert_eq!(m.wait(T), Wake::Frame);
        let all = m.with_front(<[u8]>::to_vec).unwrap();
        assert_eq!(all.len(), 12);
        assert_eq!(&all[9..], [0, 0, 0]);
    }

    #[test]
    fn redraw_stop_and_close_wake_the_presenter() {
        let m = Mailbox::new(3);
        m.start_presenter();
        assert_eq!(m.wait(T), Wake::Redraw);
        m.request_stop();
        assert_eq!(m.wait(T), Wake::Stop);
        m.start_presenter();
        assert_eq!(m.wait(T), Wake::Redraw);
        m.close();
        assert!(m.is_closed());
        assert_eq!(m.wait(Duration::from_secs(10)), Wake::Stop);
        m.publish(&[1; 3], 1);
        assert_eq!(m.stats().published, 0);
    }

    #[test]
    fn never_a_half_written_frame() {
        // Every frame is its tick (u16) repeated: a torn frame would mix two.
        let m = Arc::new(Mailbox::new(64 * 1024));
        let writer = {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; m.byte_len()];
                for tick in 0..2000u16 {
                    for pair in buf.chunks_exact_mut(2) {
                        pair.copy_from_slice(&tick.to_le_bytes());
                    }
                    m.publish(&buf, u64::from(tick));
                }
                m.close();
            })
        };
        let mut last_tick: Option<u16> = None;
        loop {
            match m.wait(Duration::from_millis(50)) {
                Wake::Frame => {
                    let (tick, uniform) = m
                        .with_front(|b| {
                            let v = &b[..m.byte_len()];
                            let first = [v[0], v[1]];
                            let same = v.chunks_exact(2).all(|p| p == first);
                            (u16::from_le_bytes(first), same)
                        })
                        .unwrap();
                    assert!(uniform, "torn frame");
                    assert!(last_tick.is_none_or(|l| tick > l), "not the newest frame");
                    assert_eq!(m.stats().presented_tick, last_tick.map(u64::from));
                    last_tick = Some(tick);
                    m.record_present(true, Duration::ZERO);
                }
                Wake::Stop => break,
                Wake::Redraw | Wake::Timeout => {}
            }
        }
        writer.join().unwrap();
        let s = m.stats();
        assert_eq!(s.published, 2000);
        // Each frame was taken or replaced, except perhaps the last (closed before taken).
        let accounted = s.presented + s.replaced_unseen;
        assert!(accounted == 2000 || accounted == 1999, "{s:?}");
    }
}
