//! Transfer curves and the lookup tables built from them (design §3).
//!
//! Linear light is carried as u16 (0 = dark, 65535 = full): enough for 16-bit output, half the
//! memory traffic of f32, and the same values on the GPU.

use crate::error::RenderError;
use crate::wall::{ColorSpec, Transfer};

/// Full scale of linear light.
pub const LINEAR_MAX: u16 = u16::MAX;

/// The transfer curve T(u), code value fraction → linear light fraction, both 0..1.
pub fn transfer(curve: Transfer, gamma: f64, u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    match curve {
        Transfer::Power => u.powf(gamma),
        Transfer::Srgb => {
            if u <= 0.04045 {
                u / 12.92
            } else {
                ((u + 0.055) / 1.055).powf(2.4)
            }
        }
        Transfer::Cie1931 => {
            let l = 100.0 * u;
            if l <= 8.0 {
                l / 903.3
            } else {
                ((l + 16.0) / 116.0).powi(3)
            }
        }
        Transfer::Linear => u,
    }
}

/// Inverse of the sRGB curve: linear fraction → display code fraction (for previews).
pub fn srgb_encode(l: f64) -> f64 {
    let l = l.clamp(0.0, 1.0);
    if l <= 0.0031308 {
        l * 12.92
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

/// The inverse of the transfer curve: linear light fraction → code value fraction, both
/// 0..1 (what `encoding = "display"` ports send, design §7.1). Monotonic: the two branches
/// of CIE 1931 do not quite meet, so the upper one is held at the knee.
pub fn inverse_transfer(curve: Transfer, gamma: f64, l: f64) -> f64 {
    let l = l.clamp(0.0, 1.0);
    match curve {
        Transfer::Power => l.powf(1.0 / gamma),
        Transfer::Srgb => srgb_encode(l),
        Transfer::Cie1931 => {
            let lightness = if l <= 8.0 / 903.3 {
                l * 903.3
            } else {
                (116.0 * l.cbrt() - 16.0).max(8.0)
            };
            lightness / 100.0
        }
        Transfer::Linear => l,
    }
}

/// Fractional bits of [`EncodeLut`] entries.
pub const ENCODE_FRACTION_BITS: u32 = 8;

/// Linear u16 → display-encoded 8-bit code with [`ENCODE_FRACTION_BITS`] fractional bits:
/// `round(inverse_transfer(L / 65535) · 255 · 256)`, for the quantize stage of
/// display-encoded `canvas` ports. Both backends read this table and dither in integers,
/// `code = min((lut[L] + round(t · 256)) >> 8, 255)` with the frame's threshold `t` (0.5
/// without dithering: rounding), so they agree to the bit.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodeLut {
    lut: Box<[u16]>,
}

impl std::fmt::Debug for EncodeLut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeLut").finish_non_exhaustive()
    }
}

impl EncodeLut {
    /// The table for the wall's transfer curve.
    pub fn new(color: &ColorSpec) -> Self {
        let scale = 255.0 * f64::from(1u32 << ENCODE_FRACTION_BITS);
        let lut = (0..=u16::MAX as u32)
            .map(|v| {
                let e = inverse_transfer(color.transfer, color.gamma, v as f64 / 65535.0);
                (e * scale).round().clamp(0.0, scale) as u16
            })
            .collect();
        EncodeLut { lut }
    }

    /// The 65536 entries.
    pub fn table(&self) -> &[u16] {
        &self.lut
    }

    /// The code of linear value `l` under threshold `t` (from [`threshold_fx`]).
    #[inline(always)]
    pub fn code(&self, l: u16, t: u32) -> u16 {
        let e = self.lut.get(l as usize).copied().unwrap_or(0) as u32;
        ((e + t) >> ENCODE_FRACTION_BITS).min(255) as u16
    }
}

/// A dither threshold (0..1, multiples of 1/128) in the fixed point of [`EncodeLut`].
#[inline(always)]
pub fn threshold_fx(t: f32) -> u32 {
    (t * (1u32 << ENCODE_FRACTION_BITS) as f32) as u32
}

/// Code value → linear u16 tables for 8- and 16-bit sources.
#[derive(Clone)]
pub struct Luts {
    /// 8-bit code → linear.
    pub lut8: Box<[u16; 256]>,
    /// 16-bit code → linear (65536 entries).
    pub lut16: Box<[u16]>,
}

impl std::fmt::Debug for Luts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Luts").finish_non_exhaustive()
    }
}

fn to_linear_u16(v: f64) -> u16 {
    (v * LINEAR_MAX as f64)
        .round()
        .clamp(0.0, LINEAR_MAX as f64) as u16
}

impl Luts {
    /// Build the tables for a colour configuration.
    pub fn new(color: &ColorSpec) -> Self {
        let mut lut8 = Box::new([0u16; 256]);
        for (v, out) in lut8.iter_mut().enumerate() {
            *out = to_linear_u16(transfer(color.transfer, color.gamma, v as f64 / 255.0));
        }
        let lut16 = (0..=u16::MAX as u32)
            .map(|v| to_linear_u16(transfer(color.transfer, color.gamma, v as f64 / 65535.0)))
            .collect();
        Luts { lut8, lut16 }
    }
}

/// The per-channel gains of the colour stage: brightness × white point.
pub fn gains(color: &ColorSpec) -> [f32; 3] {
    gains_at(color, 1.0)
}

/// The per-channel gains at a runtime brightness `level` (the renderers'
/// `set_brightness`): `white_point[c] · brightness · level`, computed in f64 and rounded
/// once to f32, so level 1 gives exactly [`gains`].
pub fn gains_at(color: &ColorSpec, level: f32) -> [f32; 3] {
    color
        .white_point
        .map(|g| (g * color.brightness * f64::from(level)) as f32)
}

/// The colour stage's gains at runtime level `level`, and the level left to the hardware.
/// Normally the pipeline dims (`gains_at`) and the hardware gets 1. With `external`
/// dimming (receiving cards that dim themselves, `dim=card`), the pipeline keeps only the
/// white point, so pixels stay at full level and keep their grey levels, and the hardware
/// gets `brightness · level`.
pub fn gains_split(color: &ColorSpec, level: f32, external: bool) -> ([f32; 3], f32) {
    if external {
        let gains = color.white_point.map(|g| g as f32);
        (gains, (color.brightness * f64::from(level)) as f32)
    } else {
        (gains_at(color, level), 1.0)
    }
}

/// A runtime brightness level as the renderers keep it: clamped to `0..=1`, with NaN and
/// −0 made 0 (so that equal levels have equal bits).
pub fn clamp_level(level: f32) -> f32 {
    if level > 0.0 { level.min(1.0) } else { 0.0 }
}

/// What a `set_color` changes, or why it is refused: a colour section with invalid values
/// (the wall file's own checks), or another `bit_depth`, which sizes the port buffers.
pub(crate) fn check_change(current: &ColorSpec, new: &ColorSpec) -> Result<Change, RenderError> {
    if new.bit_depth != current.bit_depth {
        return Err(RenderError::BitDepthChange {
            current: current.bit_depth,
            requested: new.bit_depth,
        });
    }
    let problems = new.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.reason))
            .collect();
        return Err(RenderError::ColorChange(list.join("; ")));
    }
    let power = new.transfer == Transfer::Power;
    Ok(Change {
        curve: new.transfer != current.transfer
            || (power && new.gamma.to_bits() != current.gamma.to_bits()),
        dither: new.dither != current.dither,
        resample: new.resample != current.resample,
    })
}

/// What a colour change invalidates beyond the gains (which every renderer compares by
/// bits itself).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Change {
    /// The transfer curve: the LUTs, and every layer canvas and background made with them.
    pub curve: bool,
    /// The dither mode (the CPU's 1:1 code table has one table per threshold).
    pub dither: bool,
    /// The resample mode: layer canvases and resample plans.
    pub resample: bool,
}

/// The exact output code of design §3 for one channel (the reference the tests hold the
/// pipeline to): `round(clamp(L · brightness · gain) · (2^bits − 1))`.
pub fn reference_code(linear: f64, gain: f64, bits: u32) -> u32 {
    let max = ((1u64 << bits) - 1) as f64;
    ((linear * gain).clamp(0.0, 1.0) * max).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_hit_their_end_points_and_knees() {
        for t in [
            Transfer::Power,
            Transfer::Srgb,
            Transfer::Cie1931,
            Transfer::Linear,
        ] {
            assert_eq!(transfer(t, 2.2, 0.0), 0.0);
            assert!((transfer(t, 2.2, 1.0) - 1.0).abs() < 1e-12, "{t:?}");
        }
        assert!((transfer(Transfer::Power, 2.2, 0.5) - 0.5f64.powf(2.2)).abs() < 1e-12);
        assert!((transfer(Transfer::Srgb, 0.0, 0.04045) - 0.04045 / 12.92).abs() < 1e-12);
        assert!((transfer(Transfer::Cie1931, 0.0, 0.08) - 8.0 / 903.3).abs() < 1e-12);
        // The two branches of CIE 1931 meet (within the curve's published rounding).
        let below = transfer(Transfer::Cie1931, 0.0, 0.08);
        let above = ((8.0f64 + 16.0) / 116.0).powi(3);
        assert!((below - above).abs() < 1e-4);
    }

    #[test]
    fn levels_clamp_and_multiply_the_gains() {
        assert_eq!(clamp_level(f32::NAN).to_bits(), 0);
        assert_eq!(clamp_level(-0.0).to_bits(), 0);
        assert_eq!(clamp_level(-3.0), 0.0);
        assert_eq!(clamp_level(7.0), 1.0);
        assert_eq!(clamp_level(0.25), 0.25);
        let spec = ColorSpec {
            brightness: 0.8,
            white_point: [1.0, 0.5, 0.25],
            ..ColorSpec::default()
        };
        assert_eq!(gains_at(&spec, 1.0), gains(&spec));
        assert_eq!(gains_at(&spec, 0.5), [0.4, 0.2, 0.1]);
        assert_eq!(gains_at(&spec, 0.0), [0.0; 3]);
        assert_eq!(gains_split(&spec, 0.5, false), ([0.4, 0.2, 0.1], 1.0));
        assert_eq!(gains_split(&spec, 0.5, true), ([1.0, 0.5, 0.25], 0.4));
    }

    /// The 8-bit codes that do not survive linearize → display encoding at full level.
    fn lossy(spec: &ColorSpec) -> Vec<usize> {
        let (luts, enc) = (Luts::new(spec), EncodeLut::new(spec));
        (0..256)
            .filter(|&v| enc.code(luts.lut8[v], threshold_fx(0.5)) != v as u16)
            .collect()
    }

    #[test]
    fn inverse_curves_invert_and_the_encode_lut_round_trips_code_values() {
        for t in [
            Transfer::Power,
            Transfer::Srgb,
            Transfer::Cie1931,
            Transfer::Linear,
        ] {
            for i in 0..=1000 {
                let u = i as f64 / 1000.0;
                let back = inverse_transfer(t, 2.2, transfer(t, 2.2, u));
                assert!((back - u).abs() < 1e-4, "{t:?} {u} -> {back}");
            }
            let spec = ColorSpec {
                transfer: t,
                ..ColorSpec::default()
            };
            let enc = EncodeLut::new(&spec);
            assert!(enc.table().windows(2).all(|w| w[0] <= w[1]), "{t:?}");
            assert_eq!(enc.table()[65535], 255 * 256);
            // An 8-bit source code through linear u16 and back, rounded, is itself, except
            // the darkest codes of steep curves (16-bit linear has no room for them): the
            // README states these.
            let want: &[usize] = if t == Transfer::Power { &[1] } else { &[] };
            assert_eq!(lossy(&spec), want, "{t:?}");
        }
        for (gamma, want) in [(2.5, &[1usize, 2][..]), (2.8, &[1, 2, 3, 4][..])] {
            let spec = ColorSpec {
                gamma,
                ..ColorSpec::default()
            };
            assert_eq!(lossy(&spec), want, "gamma {gamma}");
        }
        assert_eq!(threshold_fx(0.5), 128);
        assert_eq!(threshold_fx((63.0 + 0.5) / 64.0), 254);
    }

    #[test]
    fn luts_are_monotonic_and_match_the_curve() {
        let spec = ColorSpec {
            transfer: Transfer::Srgb,
            ..ColorSpec::default()
        };
        let l = Luts::new(&spec);
        assert!(l.lut8.windows(2).all(|w| w[0] <= w[1]));
        assert!(l.lut16.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(l.lut8[255], LINEAR_MAX);
        assert_eq!(l.lut8[128], l.lut16[128 * 257]);
    }
}
