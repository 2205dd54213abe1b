//! The playlist item on screen at each tick, handed from the render thread to the output
//! thread, which tells an FPP MultiSync master (design §10) after the tick's frame went out.
//!
//! The render thread runs up to `lead` ticks ahead, so it writes one [`Entry`] per tick it
//! handles into a small ring indexed by the tick; the output thread reads the entry of the
//! tick it just sent. Names are `Arc<str>` made once per playlist (when its items change),
//! so handing them over is a reference count, never an allocation.

use crate::multisync::Master;
use crate::playlist::Playlist;
use std::sync::{Arc, Mutex};

/// What was on screen at one tick.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The tick (`u64::MAX`: none yet).
    pub tick: u64,
    /// The item's source as written in the playlist; `None`: nothing plays.
    pub item: Option<Arc<str>>,
    /// The item's index in the playlist (from 0); `None`: nothing plays.
    pub index: Option<usize>,
    /// Ticks since the item started.
    pub local_tick: u64,
}

/// The ring of entries, one slot per tick modulo its length.
#[derive(Debug)]
pub struct OnScreen {
    slots: Box<[Mutex<Entry>]>,
}

impl OnScreen {
    /// A ring for a render thread at most `lead` ticks ahead of the output.
    pub fn new(lead: u64) -> OnScreen {
        let len = usize::try_from(lead).unwrap_or(64).clamp(1, 64) + 4;
        OnScreen {
            slots: (0..len)
                .map(|_| {
                    Mutex::new(Entry {
                        tick: u64::MAX,
                        ..Entry::default()
                    })
                })
                .collect(),
        }
    }

    fn slot(&self, tick: u64) -> &Mutex<Entry> {
        &self.slots[(tick % self.slots.len() as u64) as usize]
    }

    /// The render thread: item `index` named `item` (`local_tick` ticks in) is on screen
    /// at `tick`.
    pub fn record(
        &self,
        tick: u64,
        index: Option<usize>,
        item: Option<&Arc<str>>,
        local_tick: u64,
    ) {
        let mut e = match self.slot(tick).lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        e.tick = tick;
        match (item, &mut e.item) {
            (Some(new), Some(old)) if Arc::ptr_eq(new, old) => {}
            (new, old) => *old = new.cloned(),
        }
        e.index = index;
        e.local_tick = local_tick;
    }

    /// The output thread: the entry of `tick` into `out`; false when the render thread did
    /// not handle that tick (it fell behind and skipped it, or has not reached it).
    pub fn read(&self, tick: u64, out: &mut Entry) -> bool {
        let e = match self.slot(tick).lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if e.tick != tick {
            return false;
        }
        out.tick = tick;
        match (&e.item, &mut out.item) {
            (Some(new), Some(old)) if Arc::ptr_eq(new, old) => {}
            (new, old) => old.clone_from(new),
        }
        out.index = e.index;
        out.local_tick = e.local_tick;
        true
    }
}

/// The render thread's names of the playlist's items, made again when the items change.
#[derive(Debug, Default)]
pub struct Names {
    names: Vec<Arc<str>>,
}

impl Names {
    /// The name of item `i` of `playlist` (the list is made again when it no longer matches
    /// the playlist: a reload, a switch, a schedule change).
    pub fn get(&mut self, playlist: &Playlist, i: usize) -> Option<&Arc<str>> {
        let item = playlist.items.get(i)?;
        if self.names.len() != playlist.items.len()
            || self.names.get(i).is_none_or(|n| **n != *item.source)
        {
            self.names.clear();
            self.names.extend(
                playlist
                    .items
                    .iter()
                    .map(|it| Arc::<str>::from(it.source.as_str())),
            );
        }
        self.names.get(i)
    }
}

/// The output thread's side: tells the master what each tick sent.
#[derive(Debug)]
pub struct Feed {
    entry: Entry,
    /// The entry of the last tick shown to the master.
    prev: Entry,
    hz: f32,
}

impl Feed {
    /// For a wall refreshing at `hz`.
    pub fn new(hz: u32) -> Feed {
        let none = Entry {
            tick: u64::MAX,
            ..Entry::default()
        };
        Feed {
            entry: none.clone(),
            prev: none,
            hz: hz.max(1) as f32,
        }
    }

    /// Tick `tick` went out: show its item to `master`. An item that holds its last frame
    /// (a playlist without `loop` that ended) or no item at all ends the item (a stop).
    pub fn tick(&mut self, master: &mut Master, screen: &OnScreen, tick: u64) {
        if !screen.read(tick, &mut self.entry) {
            return;
        }
        let e = &self.entry;
        match &e.item {
            None => master.end(),
            Some(name) => {
                let held = self.prev.tick.wrapping_add(1) == tick
                    && self.prev.local_tick == e.local_tick
                    && self.prev.item.as_deref() == Some(&**name);
                if held {
                    master.end();
                } else {
                    let frame = u32::try_from(e.local_tick).unwrap_or(u32::MAX);
                    master.show(name, frame, e.local_tick as f32 / self.hz);
                }
            }
        }
        std::mem::swap(&mut self.prev, &mut self.entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multisync::{Action, MasterConfig, Packet, decode};
    use std::net::UdpSocket;
    use std::time::Duration;

    /// Every packet on `socket` until it is quiet: (action, frame, name).
    fn received(socket: &UdpSocket) -> Vec<(Action, u32, String)> {
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let mut out = Vec::new();
        while let Ok(n) = socket.recv(&mut buf) {
            match decode(&buf[..n]) {
                Ok(Packet::Sync(s)) => out.push((s.action, s.frame, s.name.to_string())),
                other => panic!("{other:?}"),
            }
        }
        out
    }

    #[test]
    fn a_held_last_frame_or_nothing_playing_ends_the_item() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = socket.local_addr().unwrap().to_string();
        let mut master = Master::new(&MasterConfig::unicast([to.as_str()], 1).unwrap()).unwrap();
        let screen = OnScreen::new(2);
        let mut feed = Feed::new(60);
        let a: Arc<str> = Arc::from("a.mp4");
        // Frames 0..=5 of `a`, then its last frame held (a playlist without loop ended),
        // then a tick the render thread skipped (no entry: nothing sent), then nothing.
        let local = [0, 1, 2, 3, 4, 5, 5, 5];
        for (tick, l) in local.into_iter().enumerate() {
            screen.record(tick as u64, Some(0), Some(&a), l);
            feed.tick(&mut master, &screen, tick as u64);
        }
        let got = received(&socket);
        let a = || "a.mp4".to_string();
        assert_eq!(
            got,
            [
                (Action::Start, 0, a()),
                (Action::Sync, 0, a()),
                (Action::Sync, 4, a()),
                (Action::Stop, 5, a()),
            ]
        );
        // Ended already: a skipped tick and then no item send nothing more.
        feed.tick(&mut master, &screen, 8);
        screen.record(9, None, None, 0);
        feed.tick(&mut master, &screen, 9);
        assert_eq!(received(&socket), []);
        // Nothing playing, then an item: it starts.
        screen.record(10, Some(1), Some(&Arc::from("b.png")), 0);
        feed.tick(&mut master, &screen, 10);
        let b = || "b.png".to_string();
        assert_eq!(
            received(&socket),
            [(Action::Start, 0, b()), (Action::Sync, 0, b())]
        );
        // A ring slot written for a later tick is not read for an earlier one.
        let mut e = Entry::default();
        screen.record(9 + 6, None, None, 0);
        assert!(!screen.read(9, &mut e));
        assert!(screen.read(15, &mut e));
    }
}
