//! The bytes of an FPP MultiSync control packet (design §10), as FPP's `src/MultiSync.h`
//! lays them out (packed, little-endian):
//!
//! | offset | size | field                                                        |
//! |-------:|-----:|--------------------------------------------------------------|
//! | 0      | 4    | `"FPPD"`                                                     |
//! | 4      | 1    | packet type (1 = sync; FPP has 0, 2 … 6 for other jobs)      |
//! | 5      | 2    | extra-data length: the bytes that follow this 7-byte header  |
//! | 7      | 1    | sync action: 0 start, 1 stop, 2 sync, 3 open                 |
//! | 8      | 1    | file type: 0 sequence (`.fseq`), 1 media                     |
//! | 9      | 4    | frame number (u32)                                           |
//! | 13     | 4    | seconds elapsed (f32)                                        |
//! | 17     | n+1  | file name, NUL-terminated                                    |
//!
//! A sync packet is therefore `18 + n` bytes and declares `11 + n` extra bytes (the NUL
//! counts). FPP drops a datagram whose length is not exactly `7 +` the declared length, and
//! so does [`decode`].

use std::fmt;

/// The magic at the start of every packet.
pub const MAGIC: [u8; 4] = *b"FPPD";
/// Bytes of the control header (magic, packet type, extra-data length).
pub const HEADER_LEN: usize = 7;
/// Bytes of the sync payload before the name (action, file type, frame, seconds).
pub const SYNC_FIXED_LEN: usize = 10;
/// Offset of the file name in a sync packet.
pub const NAME_OFFSET: usize = HEADER_LEN + SYNC_FIXED_LEN;
/// The control packet type of sync packets.
pub const PACKET_SYNC: u8 = 1;
/// The buffer FPP encodes into and receives into; a packet is never longer.
pub const MAX_PACKET: usize = 2048;
/// The longest name a [`MAX_PACKET`] buffer can carry (the NUL takes one byte).
pub const MAX_NAME: usize = MAX_PACKET - NAME_OFFSET - 1;

/// What a sync packet asks of a remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The master starts playing the file (position in the packet, 0 from FPP).
    Start,
    /// The master stopped the file.
    Stop,
    /// The master's position in the file.
    Sync,
    /// The master is about to play the file (a remote may open it in advance).
    Open,
}

impl Action {
    /// The byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            Action::Start => 0,
            Action::Stop => 1,
            Action::Sync => 2,
            Action::Open => 3,
        }
    }

    /// The action of a wire byte, if it is one.
    pub fn from_code(code: u8) -> Option<Action> {
        Some(match code {
            0 => Action::Start,
            1 => Action::Stop,
            2 => Action::Sync,
            3 => Action::Open,
            _ => return None,
        })
    }
}

/// Which kind of file a sync packet is about. FPP keeps the two apart: a player playing a
/// sequence with audio sends both, the sequence's name and the audio file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// An FPP sequence (`.fseq`).
    Sequence,
    /// A media file (audio or video); what ledwall's master sends (design §10).
    Media,
}

impl FileType {
    /// The byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            FileType::Sequence => 0,
            FileType::Media => 1,
        }
    }

    /// The file type of a wire byte, if it is one.
    pub fn from_code(code: u8) -> Option<FileType> {
        match code {
            0 => Some(FileType::Sequence),
            1 => Some(FileType::Media),
            _ => None,
        }
    }
}

/// A decoded sync packet; the name borrows the received bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncPacket<'a> {
    /// Start, stop, sync or open.
    pub action: Action,
    /// Sequence or media.
    pub file_type: FileType,
    /// The master's frame number in the file (FPP's media syncs send 0 here).
    pub frame: u32,
    /// The master's position in the file, in seconds.
    pub seconds: f32,
    /// The file name, as the master's playlist names it.
    pub name: &'a str,
}

/// A decoded control packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Packet<'a> {
    /// A sync packet (type 1).
    Sync(SyncPacket<'a>),
    /// A well-formed packet of another type (FPP's pings, commands, blanking …): ignored.
    Other {
        /// The control packet type.
        packet_type: u8,
    },
}

/// Why bytes are not a MultiSync packet a remote can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Shorter than the header, or than a sync packet's fixed fields.
    #[error("truncated: {len} bytes, a {what} needs at least {need}")]
    Truncated {
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        need: usize,
        /// The part that did not fit.
        what: &'static str,
    },
    /// The first four bytes are not `FPPD`.
    #[error("not a MultiSync packet: the first bytes are not \"FPPD\"")]
    Magic,
    /// The datagram's length disagrees with the header's extra-data length.
    #[error("length field: the header declares {declared} extra bytes, {actual} arrived")]
    Length {
        /// Extra bytes the header declares.
        declared: usize,
        /// Extra bytes received.
        actual: usize,
    },
    /// A sync action other than 0 … 3.
    #[error("sync action {0} is not start (0), stop (1), sync (2) or open (3)")]
    Action(u8),
    /// A file type other than 0 (sequence) or 1 (media).
    #[error("file type {0} is not sequence (0) or media (1)")]
    FileType(u8),
    /// Seconds elapsed is NaN or infinite.
    #[error("seconds elapsed is not a finite number")]
    Seconds,
    /// The name is empty (FPP never sends one).
    #[error("file name is empty")]
    EmptyName,
    /// The name is not UTF-8 (playlist sources are).
    #[error("file name is not UTF-8")]
    NameNotUtf8,
}

/// Why a sync packet cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The packet does not fit the buffer.
    #[error(
        "file name of {name_len} bytes is too long: the packet needs {need} bytes, the buffer \
         holds {capacity} (names up to {MAX_NAME} bytes fit FPP's {MAX_PACKET}-byte packets)"
    )]
    TooLong {
        /// Bytes of the name.
        name_len: usize,
        /// Bytes the packet needs.
        need: usize,
        /// Bytes of the buffer.
        capacity: usize,
    },
    /// An empty name (a remote could not match it; FPP sends none).
    #[error("file name is empty")]
    EmptyName,
    /// A NUL inside the name would end it early on the wire.
    #[error("file name contains a NUL byte")]
    NulInName,
    /// Seconds elapsed is NaN or infinite.
    #[error("seconds elapsed is not a finite number")]
    Seconds,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Sync => "sync",
            Action::Open => "open",
        })
    }
}

/// Write a sync packet into `out`; its length. Allocates nothing.
pub fn encode_sync(
    action: Action,
    file_type: FileType,
    frame: u32,
    seconds: f32,
    name: &str,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    if name.is_empty() {
        return Err(EncodeError::EmptyName);
    }
    if name.as_bytes().contains(&0) {
        return Err(EncodeError::NulInName);
    }
    if !seconds.is_finite() {
        return Err(EncodeError::Seconds);
    }
    let need = NAME_OFFSET + name.len() + 1;
    let extra = u16::try_from(need - HEADER_LEN);
    let (Some(packet), Ok(extra)) = (out.get_mut(..need), extra) else {
        return Err(EncodeError::TooLong {
            name_len: name.len(),
            need,
            capacity: out.len(),
        });
    };
    packet[0..4].copy_from_slice(&MAGIC);
    packet[4] = PACKET_SYNC;
    packet[5..7].copy_from_slice(&extra.to_le_bytes());
    packet[7] = action.code();
    packet[8] = file_type.code();
    packet[9..13].copy_from_slice(&frame.to_le_bytes());
    packet[13..17].copy_from_slice(&seconds.to_le_bytes());
    packet[NAME_OFFSET..need - 1].copy_from_slice(name.as_bytes());
    packet[need - 1] = 0;
    Ok(need)
}

/// Read one datagram. Never panics; allocates nothing; the name borrows `bytes`.
///
/// A missing NUL at the end of the name is tolerated (the name runs to the end); bytes
/// after the first NUL are ignored.
pub fn decode(bytes: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let Some((header, extra)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Truncated {
            len: bytes.len(),
            need: HEADER_LEN,
            what: "control header",
        });
    };
    if header[0..4] != MAGIC {
        return Err(DecodeError::Magic);
    }
    let declared = usize::from(u16::from_le_bytes([header[5], header[6]]));
    if declared != extra.len() {
        return Err(DecodeError::Length {
            declared,
            actual: extra.len(),
        });
    }
    if header[4] != PACKET_SYNC {
        return Ok(Packet::Other {
            packet_type: header[4],
        });
    }
    let Some((fixed, rest)) = extra.split_first_chunk::<SYNC_FIXED_LEN>() else {
        return Err(DecodeError::Truncated {
            len: bytes.len(),
            need: NAME_OFFSET,
            what: "sync packet",
        });
    };
    let action = Action::from_code(fixed[0]).ok_or(DecodeError::Action(fixed[0]))?;
    let file_type = FileType::from_code(fixed[1]).ok_or(DecodeError::FileType(fixed[1]))?;
    let frame = u32::from_le_bytes([fixed[2], fixed[3], fixed[4], fixed[5]]);
    let seconds = f32::from_le_bytes([fixed[6], fixed[7], fixed[8], fixed[9]]);
    if !seconds.is_finite() {
        return Err(DecodeError::Seconds);
    }
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let name = std::str::from_utf8(&rest[..end]).map_err(|_| DecodeError::NameNotUtf8)?;
    if name.is_empty() {
        return Err(DecodeError::EmptyName);
    }
    Ok(Packet::Sync(SyncPacket {
        action,
        file_type,
        frame,
        seconds,
        name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start of "clip.mp4" (media) at frame 0, written out from the layout above.
    const START_CLIP: [u8; 26] = [
        b'F', b'P', b'P', b'D', // magic
        0x01, // packet type: sync
        0x13, 0x00, // extra data: 10 fixed + 8 name + 1 NUL = 19
        0x00, // action: start
        0x01, // file type: media
        0x00, 0x00, 0x00, 0x00, // frame 0
        0x00, 0x00, 0x00, 0x00, // 0.0 s
        b'c', b'l', b'i', b'p', b'.', b'm', b'p', b'4', 0x00,
    ];

    /// A sync of "clip.mp4" at frame 1234 (0x04D2), 20.567 s (f32 0x41A48937).
    const SYNC_1234: [u8; 26] = [
        b'F', b'P', b'P', b'D', 0x01, 0x13, 0x00, // header
        0x02, // action: sync
        0x01, // media
        0xD2, 0x04, 0x00, 0x00, // frame 1234
        0x37, 0x89, 0xA4, 0x41, // 20.567 s
        b'c', b'l', b'i', b'p', b'.', b'm', b'p', b'4', 0x00,
    ];

    fn encode(action: Action, frame: u32, seconds: f32, name: &str) -> Vec<u8> {
        let mut buf = [0u8; MAX_PACKET];
        let n = encode_sync(action, FileType::Media, frame, seconds, name, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn golden_start_and_sync() {
        assert_eq!(encode(Action::Start, 0, 0.0, "clip.mp4"), START_CLIP);
        assert_eq!(encode(Action::Sync, 1234, 20.567, "clip.mp4"), SYNC_1234);
        let Packet::Sync(p) = decode(&SYNC_1234).unwrap() else {
            panic!("not sync")
        };
        assert_eq!(
            p,
            SyncPacket {
                action: Action::Sync,
                file_type: FileType::Media,
                frame: 1234,
                seconds: 20.567,
                name: "clip.mp4"
            }
        );
    }

    /// A packet as FPP's SendSeqSyncPacket builds it: a 2048-byte zeroed buffer, the packed
    /// structs filled in, `extraDataLen = sizeof(SyncPkt) + strlen(name)` with
    /// `sizeof(SyncPkt) == 11`, and `sizeof(ControlPkt) + sizeof(SyncPkt) + strlen` sent.
    #[test]
    fn decodes_a_packet_built_like_fpp() {
        let name = b"Show 1.fseq";
        let mut buf = [0u8; 2048];
        buf[0..4].copy_from_slice(b"FPPD");
        buf[4] = 1;
        let extra = 11 + name.len() as u16;
        buf[5..7].copy_from_slice(&extra.to_le_bytes());
        let spkt = &mut buf[7..];
        spkt[0] = 2; // SYNC_PKT_SYNC
        spkt[1] = 0; // SYNC_FILE_SEQ
        spkt[2..6].copy_from_slice(&400u32.to_le_bytes());
        spkt[6..10].copy_from_slice(&(400.0f32 / 40.0).to_le_bytes());
        spkt[10..10 + name.len()].copy_from_slice(name);
        let sent = &buf[..7 + 11 + name.len()];
        assert_eq!(
            decode(sent).unwrap(),
            Packet::Sync(SyncPacket {
                action: Action::Sync,
                file_type: FileType::Sequence,
                frame: 400,
                seconds: 10.0,
                name: "Show 1.fseq"
            })
        );
        // And ours is byte-identical to it.
        let mut ours = [0u8; 64];
        let n = encode_sync(
            Action::Sync,
            FileType::Sequence,
            400,
            10.0,
            "Show 1.fseq",
            &mut ours,
        )
        .unwrap();
        assert_eq!(&ours[..n], sent);
    }

    #[test]
    fn round_trips() {
        for action in [Action::Start, Action::Stop, Action::Sync, Action::Open] {
            for file_type in [FileType::Sequence, FileType::Media] {
                for (frame, seconds, name) in [
                    (0, 0.0, "a"),
                    (u32::MAX, 1e9, "media/dir/clip with spaces.mp4"),
                    (7, -0.25, "ünïcødé.png"),
                ] {
                    let mut buf = [0u8; 128];
                    let n = encode_sync(action, file_type, frame, seconds, name, &mut buf).unwrap();
                    assert_eq!(n, NAME_OFFSET + name.len() + 1);
                    assert_eq!(
                        decode(&buf[..n]).unwrap(),
                        Packet::Sync(SyncPacket {
                            action,
                            file_type,
                            frame,
                            seconds,
                            name
                        })
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_what_cannot_be_sent() {
        let mut buf = [0u8; 30];
        // 17 + 12 + 1 = 30 fits exactly; one more byte does not.
        assert_eq!(
            encode_sync(
                Action::Sync,
                FileType::Media,
                1,
                1.0,
                "abcdefghijkl",
                &mut buf
            ),
            Ok(30)
        );
        let err = encode_sync(
            Action::Sync,
            FileType::Media,
            1,
            1.0,
            "abcdefghijklm",
            &mut buf,
        )
        .unwrap_err();
        assert_eq!(
            err,
            EncodeError::TooLong {
                name_len: 13,
                need: 31,
                capacity: 30
            }
        );
        assert!(err.to_string().contains("too long"), "{err}");
        let long = "x".repeat(MAX_NAME + 1);
        let mut big = [0u8; MAX_PACKET];
        assert!(matches!(
            encode_sync(Action::Sync, FileType::Media, 1, 1.0, &long, &mut big),
            Err(EncodeError::TooLong { .. })
        ));
        assert!(encode_sync(Action::Sync, FileType::Media, 1, 1.0, &long[1..], &mut big).is_ok());
        // A buffer too large for the u16 length field is still bounded by it.
        let huge = "y".repeat(70_000);
        let mut vast = vec![0u8; 80_000];
        assert!(matches!(
            encode_sync(Action::Sync, FileType::Media, 1, 1.0, &huge, &mut vast),
            Err(EncodeError::TooLong { .. })
        ));
        assert_eq!(
            encode_sync(Action::Sync, FileType::Media, 1, 1.0, "", &mut big),
            Err(EncodeError::EmptyName)
        );
        assert_eq!(
            encode_sync(Action::Sync, FileType::Media, 1, 1.0, "a\0b", &mut big),
            Err(EncodeError::NulInName)
        );
        assert_eq!(
            encode_sync(Action::Sync, FileType::Media, 1, f32::NAN, "a", &mut big),
            Err(EncodeError::Seconds)
        );
    }

    #[test]
    fn recognises_other_types_and_rejects_bad_packets() {
        // An FPP blanking packet: header only.
        assert_eq!(
            decode(b"FPPD\x03\x00\x00"),
            Ok(Packet::Other { packet_type: 3 })
        );
        // A ping-sized packet of type 4.
        let mut ping = vec![0u8; 7 + 294];
        ping[..7].copy_from_slice(b"FPPD\x04\x26\x01");
        assert_eq!(decode(&ping), Ok(Packet::Other { packet_type: 4 }));
        let mut p = SYNC_1234;
        assert!(matches!(
            decode(&p[..6]),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            decode(&p[..25]),
            Err(DecodeError::Length {
                declared: 19,
                actual: 18
            })
        );
        p[0] = b'X';
        assert_eq!(decode(&p), Err(DecodeError::Magic));
        p = SYNC_1234;
        p[7] = 4;
        assert_eq!(decode(&p), Err(DecodeError::Action(4)));
        p = SYNC_1234;
        p[8] = 2;
        assert_eq!(decode(&p), Err(DecodeError::FileType(2)));
        p = SYNC_1234;
        p[13..17].copy_from_slice(&f32::INFINITY.to_le_bytes());
        assert_eq!(decode(&p), Err(DecodeError::Seconds));
        p = SYNC_1234;
        p[17] = 0;
        assert_eq!(decode(&p), Err(DecodeError::EmptyName));
        p = SYNC_1234;
        p[18] = 0xFF;
        assert_eq!(decode(&p), Err(DecodeError::NameNotUtf8));
        // A sync header whose extra data is shorter than the fixed fields.
        assert!(matches!(
            decode(b"FPPD\x01\x03\x00\x02\x01\x00"),
            Err(DecodeError::Truncated { .. })
        ));
        // No NUL: the name runs to the end; bytes after a NUL are ignored.
        let mut no_nul = SYNC_1234[..25].to_vec();
        no_nul[5] = 18;
        assert!(matches!(decode(&no_nul), Ok(Packet::Sync(s)) if s.name == "clip.mp4"));
        let mut trailing = SYNC_1234.to_vec();
        trailing.extend_from_slice(b"junk");
        trailing[5] = 23;
        assert!(matches!(decode(&trailing), Ok(Packet::Sync(s)) if s.name == "clip.mp4"));
    }

    /// Every prefix and thousands of random mutations of real packets decode to a value or
    /// an error, never a panic; a decoded name always lies within the input.
    #[test]
    fn never_panics_on_any_input() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut ok = 0;
        for base in [&START_CLIP[..], &SYNC_1234[..], b"FPPD\x03\x00\x00"] {
            for n in 0..=base.len() {
                let _ = decode(&base[..n]);
            }
            for _ in 0..20_000 {
                let mut p = base.to_vec();
                let flips = 1 + next() % 4;
                for _ in 0..flips {
                    let i = (next() as usize) % p.len();
                    p[i] = next() as u8;
                }
                let cut = (next() as usize) % (p.len() + 3);
                p.truncate(cut);
                if let Ok(Packet::Sync(s)) = decode(&p) {
                    assert!(s.name.len() <= p.len() - NAME_OFFSET);
                    ok += 1;
                }
            }
        }
        for len in 0..64 {
            let p: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = decode(&p);
        }
        assert!(
            ok > 100,
            "mutations too destructive to test acceptance: {ok}"
        );
    }
}
