//! Where the bit-plane kernels write, and the pack fused into the render bands.
//!
//! * [`BlockOut`]: one row address's block of a port buffer (`planes` rows of `positions`
//!   bytes); [`GroupOut`]: the plane rows of one group of positions in it. Every kernel
//!   writes through [`GroupOut::row`] and nothing else.
//! * [`PortOut`]: a whole port buffer as a raw pointer, shared by the render bands.
//! * [`Fused`]: the plan that packs each group inside the band that completes the canvas
//!   rows it reads, while they are still in cache, in [`Unit`]s of consecutive groups.
//!
//! # Why several bands may write one port buffer at once
//!
//! This is the one aliasing argument behind every write of pack; the `unsafe` blocks and
//! contracts elsewhere refer to it.
//!
//! 1. **A kernel call writes only its positions.** [`Kernel::span`](super::Kernel::span)
//!    packs positions `ps` of one address `a`: it writes bytes `p ∈ ps` of each plane row of
//!    block `a` and nothing else. It goes group by group, and per group plane row by plane
//!    row, through [`GroupOut::row`], which lends at most 32 bytes of one row; each such
//!    slice is dropped before the next is made. The kernels read only the quantized codes,
//!    never a port buffer.
//! 2. **Units are disjoint.** [`Fused::new`] sweeps the groups of each address of each
//!    bit-plane port once, in order, and cuts them into units; so the units of an address
//!    partition its positions, and units of different addresses or ports lie in different
//!    blocks or buffers. By 1, no two units write the same byte, whichever threads run
//!    them.
//! 3. **Each unit runs once per frame.** A unit is either local (its rows lie in one band,
//!    and [`Fused::row`] packs it when that band has written its last row, which the band
//!    does once) or rest (packed by [`Fused::rest`] after every band has finished).
//! 4. **Nothing else touches the buffers meanwhile.** The renderer makes the [`PortOut`]s
//!    from `&mut` borrows of this frame's port buffers and holds those borrows, touching
//!    the buffers no other way, from before the first band until [`Fused::rest`] returns;
//!    that, and running each row's units in the band that owns the row, is the contract
//!    of [`Fused::row`] and [`Fused::rest`].
//!
//! So while the bands run, the only accesses to a port buffer are unit writes to pairwise
//! disjoint bytes: sending or sharing a [`PortOut`] across threads hands out nothing more,
//! which is why it is `Send` and `Sync`. The plain [`bitplanes`](super::bitplanes) needs
//! none of this: it gives each address's kernel call a block that `par_chunks_mut` borrows
//! exclusively.

use super::bitplanes::groups;
use super::{Codes, Kernel};
use crate::cpu::bands::Bands;
use crate::geometry::{Geometry, PortMap};
use crate::wall::OutputFormat;
use rayon::prelude::*;

/// An address block of a bit-plane buffer: `planes` rows of `positions` bytes at `base`.
/// Kernels write positions `p0 .. p1` of every row (see [`Kernel::span`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct BlockOut {
    base: *mut u8,
    positions: usize,
    /// Plane rows.
    pub(super) planes: usize,
}

impl BlockOut {
    /// `block`, if it holds `planes` rows of `positions` bytes.
    pub(super) fn new(block: &mut [u8], planes: usize, positions: usize) -> Option<BlockOut> {
        (block.len() >= planes * positions).then_some(BlockOut {
            base: block.as_mut_ptr(),
            positions,
            planes,
        })
    }

    /// Address `a`'s block of a whole port buffer `out`.
    fn in_port(out: PortOut, port: &PortMap, a: usize) -> Option<BlockOut> {
        let (positions, planes) = (port.positions as usize, port.depth as usize);
        let at = a.checked_mul(planes * positions)?;
        (at + planes * positions <= out.len).then(|| BlockOut {
            // Within the buffer (checked just above); not dereferenced here.
            base: out.ptr.wrapping_add(at),
            positions,
            planes,
        })
    }

    /// The plane rows of the `n` positions from `p`.
    #[inline(always)]
    pub(super) fn group(self, p: usize, n: usize) -> GroupOut {
        GroupOut {
            // Not dereferenced here; `Kernel::span`'s callers keep `p + n` within a row.
            base: self.base.wrapping_add(p),
            stride: self.positions,
            n,
        }
    }
}

/// Where the plane rows of one group of positions go: plane `b`'s `n` bytes at
/// `base + b · stride`.
#[derive(Debug, Clone, Copy)]
pub(super) struct GroupOut {
    base: *mut u8,
    stride: usize,
    /// Positions in the group (at most [`GROUP`](super::GROUP)).
    pub(super) n: usize,
}

impl GroupOut {
    /// Plane `b`'s bytes.
    ///
    /// # Safety
    /// The group must lie within a [`BlockOut`] that is valid for writes, `b` below its
    /// plane count, and no other reference to these bytes may be live while the result is
    /// (see the module docs).
    #[inline(always)]
    pub(super) unsafe fn row<'a>(self, b: usize) -> &'a mut [u8] {
        // SAFETY: the caller's contract: `base + b · stride .. + n` is inside a block valid
        // for writes, and nothing else refers to it.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(b * self.stride), self.n) }
    }
}

/// A port buffer the fused pack writes while the render bands run: its bytes, as a raw
/// pointer, because bands on different threads write disjoint parts of the same buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortOut {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `PortOut` is only written through `Fused`, whose units write pairwise disjoint
// bytes, each unit once, while the frame that owns the buffer is mutably borrowed and not
// otherwise accessed (the module docs, points 1-4).
unsafe impl Send for PortOut {}
// SAFETY: as for `Send`: shared `PortOut`s are only used for those disjoint writes.
unsafe impl Sync for PortOut {}

impl PortOut {
    /// The buffer of `bytes`. Valid while `bytes` is neither moved nor otherwise accessed.
    pub(crate) fn new(bytes: &mut [u8]) -> PortOut {
        PortOut {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
        }
    }
}

/// A run of groups of one address of one bit-plane port whose two lines read canvas rows
/// `lo ..= hi` only (plus the extra pixels).
#[derive(Debug, Clone, Copy)]
struct Unit {
    port: u32,
    a: u32,
    p0: u32,
    p1: u32,
    lo: u32,
    hi: u32,
}

/// Packing fused into the render bands (the direct paths): every bit-plane port's groups,
/// as units of consecutive groups that read the same canvas rows. A unit whose rows
/// lie in one band is packed by that band right after it writes the unit's last row, while
/// the rows are still in cache; the others (rows in two bands) are packed after the bands,
/// from the whole buffer. Pixel-stream ports are packed after the frame as before.
///
/// The units of a port partition its positions, so bands on different threads can write
/// one port buffer (see the module docs of `fused.rs`).
#[derive(Debug)]
pub struct Fused {
    /// The bands the units are sorted for; the render pass must use them.
    bands: Bands,
    /// Units inside one band, by last row.
    local: Vec<Unit>,
    /// `local[by_row[y] .. by_row[y + 1]]` end at canvas row `y`.
    by_row: Vec<u32>,
    /// Units that span two bands.
    rest: Vec<Unit>,
    /// Ports whose every byte the units cover (bit planes).
    covered: Vec<bool>,
    /// Chosen once, when planned.
    kernel: Kernel,
}

impl Fused {
    /// Plan the units of `geometry`'s bit-plane ports for `bands` bands (cut, within
    /// reach, where the fewest units span the cut).
    pub fn new(geometry: &Geometry, bands: usize) -> Fused {
        let (w, h) = (geometry.width as usize, geometry.height as usize);
        let canvas = w * h;
        let mut units = Vec::new();
        for (pi, port) in geometry.ports.iter().enumerate() {
            if port.format != OutputFormat::Bitplanes {
                continue;
            }
            let positions = port.positions as usize;
            for a in 0..port.addresses as usize {
                // One sweep of the address's groups, in order: its units partition its
                // positions (point 2 of the module docs).
                let mut cur: Option<Unit> = None;
                for (p, n) in groups(0..positions) {
                    let slots = &port.slots[(a * positions + p) * 2..(a * positions + p + n) * 2];
                    let rows = slots
                        .iter()
                        .filter(|&&s| (s as usize) < canvas)
                        .map(|&s| s as usize / w);
                    let (lo, hi) = rows.fold((usize::MAX, 0), |(lo, hi), y| (lo.min(y), hi.max(y)));
                    let (lo, hi) = if lo > hi {
                        (0, 0)
                    } else {
                        (lo as u32, hi as u32)
                    };
                    match &mut cur {
                        Some(u) if u.lo == lo && u.hi == hi => u.p1 = (p + n) as u32,
                        _ => {
                            units.extend(cur.take());
                            cur = Some(Unit {
                                port: pi as u32,
                                a: a as u32,
                                p0: p as u32,
                                p1: (p + n) as u32,
                                lo,
                                hi,
                            });
                        }
                    }
                }
                units.extend(cur);
            }
        }
        // What cutting just before row y costs: the positions of units spanning it.
        let mut cost = vec![0i64; h + 1];
        for u in &units {
            if u.lo < u.hi {
                let n = i64::from(u.p1 - u.p0);
                cost[u.lo as usize + 1] += n;
                cost[u.hi as usize + 1] -= n;
            }
        }
        let mut run = 0i64;
        let cost: Vec<u32> = cost
            .iter()
            .map(|c| {
                run += c;
                run.clamp(0, i64::from(u32::MAX)) as u32
            })
            .collect();
        let bands = Bands::new(h, bands, &cost);
        let (mut local, rest): (Vec<Unit>, Vec<Unit>) = units
            .into_iter()
            .partition(|u| bands.of(u.lo as usize) == bands.of(u.hi as usize));
        local.sort_by_key(|u| u.hi);
        let by_row = (0..=h)
            .map(|y| local.partition_point(|u| (u.hi as usize) < y) as u32)
            .collect();
        let covered = geometry
            .ports
            .iter()
            .map(|p| p.format == OutputFormat::Bitplanes)
            .collect();
        Fused {
            bands,
            local,
            by_row,
            rest,
            covered,
            kernel: Kernel::new(),
        }
    }

    /// Units packed inside a band, and after the bands.
    pub fn units(&self) -> (usize, usize) {
        (self.local.len(), self.rest.len())
    }

    /// The bands the render pass must use.
    pub fn bands(&self) -> &Bands {
        &self.bands
    }

    /// Whether port `i`'s buffer is packed here (the caller packs the others).
    pub fn covers(&self, i: usize) -> bool {
        self.covered.get(i).copied().unwrap_or(false)
    }

    /// Pack the units that end at canvas row `y`, reading `q` (the band's rows so far).
    /// Returns whether there were any.
    ///
    /// # Safety
    /// `outs` must be the buffers of the geometry's ports, valid for writes and not
    /// otherwise accessed until the frame's units are all packed; each row's units are
    /// packed once per frame, by the band that owns the row (module docs, points 3 and 4).
    pub(crate) unsafe fn row(
        &self,
        y: usize,
        q: &Codes<'_>,
        ports: &[PortMap],
        outs: &[PortOut],
    ) -> bool {
        let (Some(&a), Some(&b)) = (self.by_row.get(y), self.by_row.get(y + 1)) else {
            return false;
        };
        for u in &self.local[a as usize..b as usize] {
            // SAFETY: the caller's contract.
            unsafe { self.unit(u, q, ports, outs) };
        }
        a < b
    }

    /// Pack the units that span two bands, from the whole quantized buffer `q`, in
    /// parallel.
    ///
    /// # Safety
    /// As for [`Fused::row`], after every band has finished.
    pub(crate) unsafe fn rest(&self, q: &[u16], ports: &[PortMap], outs: &[PortOut]) {
        let q = Codes::whole(q);
        self.rest.par_iter().for_each(|u| {
            // SAFETY: the caller's contract; each rest unit is packed once, here.
            unsafe { self.unit(u, &q, ports, outs) }
        });
    }

    /// Pack one unit.
    ///
    /// # Safety
    /// As for [`Fused::row`], and `u` is packed once per frame.
    unsafe fn unit(&self, u: &Unit, q: &Codes<'_>, ports: &[PortMap], outs: &[PortOut]) {
        let (Some(port), Some(&out)) = (ports.get(u.port as usize), outs.get(u.port as usize))
        else {
            return;
        };
        let Some(block) = BlockOut::in_port(out, port, u.a as usize) else {
            return;
        };
        let ps = u.p0 as usize..(u.p1 as usize).min(port.positions as usize);
        // SAFETY: the block lies within `out` (`in_port`), which is valid for writes (the
        // caller's contract); the unit's positions of it are written by this call only
        // (module docs: units are disjoint and each runs once).
        unsafe { self.kernel.span(port, q, u.a as usize, ps, block) };
    }
}
