//! FPP MultiSync (design §10): interoperate with the sync protocol LED shows already use.
//!
//! * [`packet`]: the bytes of a control packet; [`encode_sync`] into a caller's buffer and
//!   [`decode`] borrowing the name, both allocation-free and panic-free.
//! * [`schedule`]: when a master sends start, sync and stop for the item on screen.
//! * [`follow`]: how a remote follows: switch item, jump, skip or hold frames, stretch the
//!   tick period by at most 1 %, or report the master lost.
//! * [`net`]: the sockets: a [`Master`] sender (multicast 239.70.80.80 or unicast) and a
//!   [`Remote`] listener thread that publishes the master's latest packets.
//!
//! The engine's side, per tick:
//!
//! * master: `master.show(source, frame_in_item, seconds_in_item)` for the item on screen,
//!   `master.end()` when it ends or playback stops;
//! * remote: `remote.latest_into(&mut latest)`, then
//!   `follower.decide(Instant::now(), &latest, &Local { .. }, |name| playlist has it)` and
//!   act on the [`Decision`]: its step once, its period factor until the next decision.

pub mod follow;
pub mod net;
pub mod packet;
pub mod schedule;

pub use follow::{Decision, Follower, Latest, Local, MasterSync, NameMatch, Step, find_item};
pub use net::{
    Destination, Master, MasterConfig, MasterStats, MultisyncError, Remote, RemoteConfig,
    RemoteStats, resolve_masters,
};
pub use packet::{
    Action, DecodeError, EncodeError, FileType, Packet, SyncPacket, decode, encode_sync,
};
pub use schedule::MasterSchedule;

use std::net::Ipv4Addr;

/// FPP's control port (`FPP_CTRL_PORT`).
pub const PORT: u16 = 32320;
/// FPP's MultiSync multicast group ("239.F.P.P").
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(239, 70, 80, 80);
