//! [`Plan`]: everything needed to resample one placement, built once and reused every
//! frame: the coefficient tables and read region ([`crate::filter::Tables`]), the cache key
//! the renderer finds it by ([`Plan::matches`]), the scratch rows of each band and the
//! rings of the linear-light path ([`LinearRing`]; the fixed-point path's are in
//! `fixed/`), and the horizontal weights laid out for the SIMD kernels ([`HSimd`],
//! [`Blocks`]).
//!
//! The SIMD layouts are built for the level [`crate::cpu::simd`] allows when the plan is
//! built, and each holds the token of the kernel that reads it.

use super::fixed::Fixed;
use super::vertical::{Pairing, pair_ring};
use crate::cpu::bands::{Bands, MAX_BANDS};
use crate::cpu::simd::{Avx2, Avx512};
use crate::filter::Tables;
use crate::frame::Filter;
use crate::place::{Rect, Span};
use crate::wall::ResampleMode;

/// Everything needed to resample one placement, built once and reused every frame.
#[derive(Debug)]
pub struct Plan {
    key: PlanKey,
    /// The coefficient tables and the source region they read (what the GPU uploads for
    /// the same placement).
    pub tables: Tables,
    /// The bands of the float passes ([`super::run`]).
    pub(super) bands: Bands,
    /// Per band: the vertical sum of one output row (source stride, then zeros the
    /// horizontal pass may read past the end with zero weights), then one filtered row.
    pub(super) scratch: Vec<Vec<f32>>,
    /// The fixed-point path's tables and rings (`Fast` plans whose source is at least a
    /// filter window wide; see `fixed/`).
    pub(super) fixed: Option<Fixed>,
    /// The linear-light path's rings of linearized source rows (`Linear` plans).
    pub(super) linear: Option<LinearRing>,
    /// The horizontal weights laid out for the SIMD kernels, with their tokens.
    pub(super) h_simd: HSimd,
}

/// What a plan is found by: the job it resamples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlanKey {
    src: (u32, u32),
    crop: [f64; 4],
    dst: Rect,
    span: Span,
    filter: Filter,
    mode: ResampleMode,
}

impl Plan {
    /// Build the plan for a `sw` × `sh` source resampled in `mode` (which fixes what the
    /// passes filter: linear RGB, or RGBA code values; see [`Plan::stride`]), its `crop`,
    /// onto the canvas rect `dst`. The SIMD layouts and kernels are those the current
    /// [`crate::cpu::simd::level`] allows.
    pub fn new(
        sw: u32,
        sh: u32,
        mode: ResampleMode,
        crop: [f64; 4],
        dst: Rect,
        filter: Filter,
    ) -> Plan {
        Plan::windowed(sw, sh, mode, crop, dst, Span::of(dst), filter)
    }

    /// Like [`Plan::new`], for the `span` part of a placement on a show canvas (see
    /// [`Tables::windowed`]): `dst` is that part on the canvas, not empty.
    pub fn windowed(
        sw: u32,
        sh: u32,
        mode: ResampleMode,
        crop: [f64; 4],
        dst: Rect,
        span: Span,
        filter: Filter,
    ) -> Plan {
        let tables = Tables::windowed(sw, sh, crop, dst, span, filter);
        let mut plan = Plan {
            key: PlanKey {
                src: (sw, sh),
                crop,
                dst,
                span,
                filter,
                mode,
            },
            tables,
            bands: Bands::new(dst.h as usize, MAX_BANDS, &[]),
            scratch: Vec::new(),
            fixed: None,
            linear: None,
            h_simd: HSimd::default(),
        };
        let len = plan.sum_len() + dst.w as usize * 3;
        plan.scratch = (0..plan.bands.len()).map(|_| vec![0f32; len]).collect();
        plan.h_simd = HSimd::new(&plan);
        match mode {
            ResampleMode::Fast => plan.fixed = Fixed::new(&plan, sw),
            ResampleMode::Linear => plan.linear = Some(LinearRing::new(&plan, Pairing::best())),
        }
        plan
    }

    /// The mode the plan resamples in.
    pub fn mode(&self) -> ResampleMode {
        self.key.mode
    }

    /// Samples a pixel of what the plan's float passes filter, and of the source
    /// [`super::run`] reads: 3 (linear RGB) for a `Linear` plan, 4 (RGBA code values) for
    /// a `Fast` one.
    pub fn stride(&self) -> usize {
        match self.key.mode {
            ResampleMode::Linear => 3,
            ResampleMode::Fast => 4,
        }
    }

    /// Length of a band's vertical-sum row: the source samples read, then zeros for the
    /// horizontal pass's reads past the last pixel (a pixel near the right edge with fewer
    /// taps than [`Plan::h_used`] reads zeros with zero weights; one extra pixel because
    /// the pass reads four lanes a pixel at stride 3).
    pub(super) fn sum_len(&self) -> usize {
        (self.tables.width as usize + self.tables.h_used + 1) * self.stride()
    }

    /// Whether this plan resamples exactly this job.
    pub fn matches(
        &self,
        sw: u32,
        sh: u32,
        mode: ResampleMode,
        crop: [f64; 4],
        dst: Rect,
        filter: Filter,
    ) -> bool {
        self.matches_span(sw, sh, mode, crop, dst, Span::of(dst), filter)
    }

    /// Whether this plan resamples exactly this part (`span`) of a placement.
    #[allow(clippy::too_many_arguments)]
    pub fn matches_span(
        &self,
        sw: u32,
        sh: u32,
        mode: ResampleMode,
        crop: [f64; 4],
        dst: Rect,
        span: Span,
        filter: Filter,
    ) -> bool {
        self.key
            == PlanKey {
                src: (sw, sh),
                crop,
                dst,
                span,
                filter,
                mode,
            }
    }
}

/// Scratch of [`super::run_linear`]: per band, a ring of linearized source rows (the
/// plan's read columns, RGB u16; as many rows as the vertical filter has taps, more when
/// rows are paired), then two vertical sum rows and the filtered row of
/// [`Plan::scratch`].
#[derive(Debug)]
pub(super) struct LinearRing {
    /// Rows in each band's ring.
    pub(super) ring: usize,
    /// How the vertical pass takes the output rows (its ring depth is `ring`).
    pub(super) pairing: Pairing,
    pub(super) bands: Bands,
    pub(super) scratch: Vec<(Vec<u16>, Vec<f32>)>,
}

impl LinearRing {
    /// The rings of `plan`, pairing rows as `want` asks where the windows allow.
    pub(super) fn new(plan: &Plan, want: Pairing) -> LinearRing {
        let (pairing, ring) = pair_ring(&plan.tables.v, want);
        let bands = Bands::per_thread(plan.tables.dst.h as usize, &[]);
        let row = plan.tables.width as usize * 3;
        // Two vertical sums (the second for paired rows), then the filtered row.
        let floats = 2 * plan.sum_len() + plan.tables.dst.w as usize * 3;
        LinearRing {
            ring,
            pairing,
            bands,
            scratch: (0..bands.len())
                .map(|_| (vec![0u16; ring * row], vec![0f32; floats]))
                .collect(),
        }
    }
}

/// The horizontal weights laid out for the SIMD kernels of the float horizontal pass,
/// built for the level in force when the plan is; empty (and no token) on the portable
/// level.
#[derive(Debug, Default)]
pub(super) struct HSimd {
    /// The AVX2 + FMA pass's token (None: the portable pass).
    pub(super) avx2: Option<Avx2>,
    /// For the AVX2 pass, which filters two output pixels per 256-bit register: per pixel
    /// pair and tap, the even pixel's weight four times, then the odd one's (empty:
    /// per-pixel pass).
    pub(super) pairs: Vec<f32>,
    /// The AVX-512 pass's blocks of five output pixels (linear-light plans on the AVX-512
    /// level, where some fit).
    pub(super) blocks: Option<Blocks>,
}

impl HSimd {
    /// The layouts for `plan` at the current level.
    fn new(plan: &Plan) -> HSimd {
        let Some(avx2) = Avx2::new() else {
            return HSimd::default();
        };
        let blocks = match (plan.mode(), Avx512::new()) {
            (ResampleMode::Linear, Some(avx512)) => Blocks::new(avx512, plan),
            _ => None,
        };
        let (h, used) = (&plan.tables.h, plan.tables.h_used);
        let half = plan.tables.dst.w as usize / 2;
        let mut pairs = Vec::with_capacity(half * used * 8);
        for j in 0..half {
            for k in 0..used {
                for px in [2 * j, 2 * j + 1] {
                    pairs.extend_from_slice(&[h.weights[px * h.taps + k]; 4]);
                }
            }
        }
        HSimd {
            avx2: Some(avx2),
            pairs,
            blocks,
        }
    }
}

/// The AVX-512 horizontal pass's blocks of five output pixels ([`HBlock`]), from pixel 0,
/// in runs of two (so the pairs after them start at an even pixel), with their weights.
#[derive(Debug)]
pub(super) struct Blocks {
    /// The proof that the kernel reading the blocks may run.
    pub(super) avx512: Avx512,
    /// The blocks.
    pub(super) list: Vec<HBlock>,
    /// Per block and tap, sixteen weights: lane `3p + c` pixel `p`'s, lane 15 zero.
    pub(super) weights: Vec<f32>,
}

/// Five output pixels' RGB in one AVX-512 register (lanes `3p + c`, lane 15 spare) where
/// their windows start within ten source pixels: tap `k` reads the 32 floats at
/// `base + 3k` and picks each lane's float with one two-source permute.
#[derive(Debug, Clone)]
pub(super) struct HBlock {
    /// First float of the block's window in the vertical sum row (3 × the first pixel's
    /// first source column).
    pub(super) base: u32,
    /// Per lane, its float among the 32 (lane 15: 0, with zero weights).
    pub(super) idx: [u32; 16],
}

impl Blocks {
    /// The blocks of a linear-light (stride 3) plan, or None when none fits.
    fn new(avx512: Avx512, plan: &Plan) -> Option<Blocks> {
        let (h, used, width) = (
            &plan.tables.h,
            plan.tables.h_used,
            plan.tables.dst.w as usize,
        );
        let (mut list, mut weights) = (Vec::new(), Vec::new());
        let block = |q: usize| {
            let s0 = h.start[q] as usize;
            let fits = (q..q + 5).all(|p| {
                let s = h.start[p] as usize;
                s >= s0 && 3 * (s - s0) + 2 < 32
            });
            let inside = 3 * s0 + 3 * (used.max(1) - 1) + 32 <= plan.sum_len();
            (fits && inside).then(|| HBlock {
                base: 3 * s0 as u32,
                idx: std::array::from_fn(|lane| match lane {
                    15 => 0,
                    _ => (3 * (h.start[q + lane / 3] as usize - s0) + lane % 3) as u32,
                }),
            })
        };
        let mut p0 = 0;
        while p0 + 10 <= width {
            let (Some(a), Some(b)) = (block(p0), block(p0 + 5)) else {
                break;
            };
            for (q, blk) in [(p0, a), (p0 + 5, b)] {
                for k in 0..used {
                    weights.extend((0..16).map(|lane| match lane {
                        15 => 0.0,
                        _ => h.weights[(q + lane / 3) * h.taps + k],
                    }));
                }
                list.push(blk);
            }
            p0 += 10;
        }
        (!list.is_empty()).then_some(Blocks {
            avx512,
            list,
            weights,
        })
    }
}
