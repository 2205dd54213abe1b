//! The float path's bit-exactness tests. Every case runs at every level this machine has
//! ([`simd::each_level`]; plans are built inside, so they take that level's layouts and
//! kernels), names the level in its failure messages, and compares kernels of one level
//! with each other (paired rows with single rows, pixel blocks and pairs with single
//! pixels) and each level's bytes with the portable level's.

use super::lut::{lut_out, lut_row, split};
use super::plan::{LinearRing, Plan};
use super::vertical::Pairing;
use super::{Output, run, run_linear};
use crate::cpu::bands::Bands;
use crate::cpu::simd::{self, Avx2, Avx512, Level};
use crate::frame::Filter;
use crate::place::Rect;
use crate::wall::ResampleMode;

/// Holds one level's outputs (`got`, named, in case order) against the first level's
/// (each_level starts at portable), which it keeps in `reference`.
pub(super) fn against_portable<T: PartialEq + std::fmt::Debug>(
    reference: &mut Option<Vec<(String, Vec<T>)>>,
    level: Level,
    got: Vec<(String, Vec<T>)>,
) {
    let Some(want) = reference else {
        assert_eq!(level, Level::Portable, "each_level starts at portable");
        *reference = Some(got);
        return;
    };
    assert_eq!(got.len(), want.len(), "{level}: cases");
    for ((what, g), (_, w)) in got.iter().zip(want.iter()) {
        if let Some(i) = g.iter().zip(w).position(|(a, b)| a != b) {
            panic!(
                "{level}: {what}: value {i} is {:?}, the portable level gives {:?}",
                g[i], w[i]
            );
        }
        assert_eq!(g.len(), w.len(), "{level}: {what}: length");
    }
}

/// Linear-light rows paired in the vertical pass give the bits of rows one at a time,
/// 8- and 16-bit sources, on the plan's bands and on one band, every row reaching `each`
/// once: with the AVX-512 paired kernel on that level, the portable one below it.
#[test]
fn paired_linear_rows_are_the_same_bits_as_single_rows() {
    let lut8: Vec<u16> = (0..256u32).map(|i| (i * i) as u16).collect();
    let lut16: Vec<u16> = (0..65536u32).map(|i| ((i * i) >> 16) as u16).collect();
    let mut reference = None;
    simd::each_level(|level| {
        let mut paired_any = false;
        let mut all = Vec::new();
        for (sw, sh, dw, dh, filter) in [
            (384, 216, 192, 108, Filter::Lanczos3),
            (301, 197, 120, 71, Filter::Lanczos3),
            (160, 90, 200, 150, Filter::CatmullRom),
            (640, 480, 80, 60, Filter::Lanczos3),
        ] {
            let job = format!("{sw}x{sh}->{dw}x{dh} {filter:?}");
            let px = (sw * sh * 4) as usize;
            let src8: Vec<u8> = (0..px).map(|i| (i * 7 % 251) as u8).collect();
            let src16: Vec<u16> = (0..px).map(|i| (i * 7919 % 65521) as u16).collect();
            let (cw, ch) = (dw + 2, dh + 3);
            let dst = Rect {
                x: 2,
                y: 1,
                w: dw,
                h: dh,
            };
            let crop = [0.0, 0.0, sw as f64, sh as f64];
            let mut outs = Vec::new();
            for pairing in [Pairing::Single, Pairing::Paired(Avx512::new())] {
                let mut p = Plan::new(sw, sh, ResampleMode::Linear, crop, dst, filter);
                let ring = LinearRing::new(&p, pairing);
                paired_any |= ring.pairing != Pairing::Single;
                p.linear = Some(ring);
                for bands in [None, Some(Bands::new(dh as usize, 1, &[]))] {
                    for bits in [8, 16] {
                        let mut canvas = vec![5u16; (cw * ch * 3) as usize];
                        let seen = std::sync::Mutex::new(0usize);
                        let each = |_: usize, _: &mut [u16]| *seen.lock().unwrap() += 1;
                        let b = bands.as_ref();
                        let ok = if bits == 8 {
                            run_linear(&mut p, &src8, sw, &lut8, &mut canvas, cw, b, each)
                        } else {
                            run_linear(&mut p, &src16, sw, &lut16, &mut canvas, cw, b, each)
                        };
                        assert!(ok, "{level}: {job}: no ring");
                        let seen = seen.into_inner().unwrap();
                        assert_eq!(seen, dh as usize, "{level}: {job}: every row once");
                        outs.push(canvas);
                    }
                }
            }
            let half = outs.len() / 2;
            assert!(
                outs[..half] == outs[half..],
                "{level}: {job}: paired rows differ"
            );
            all.extend(outs.into_iter().take(half).map(|c| (job.clone(), c)));
        }
        assert!(paired_any, "{level}: no case paired its rows");
        against_portable(&mut reference, level, all);
    });
}

#[test]
fn same_size_bilinear_is_the_identity() {
    simd::each_level(|level| {
        let src: Vec<u16> = (0..5 * 3 * 3).map(|v| (v * 1000) as u16).collect();
        let dst = Rect {
            x: 0,
            y: 0,
            w: 5,
            h: 3,
        };
        let crop = [0.0, 0.0, 5.0, 3.0];
        let mut plan = Plan::new(5, 3, ResampleMode::Linear, crop, dst, Filter::Bilinear);
        let mut canvas = vec![0u16; 5 * 3 * 3];
        run(&mut plan, &src, 15, (0, 0), &mut canvas, 5, Output::Linear);
        assert_eq!(canvas, src, "{level}");
    });
}

/// The horizontal pass's five-pixel blocks (AVX-512) and two-pixel pairs (AVX2) give the
/// bits of the per-pixel pass of the same level (same FMA chains), and every level those
/// of the portable pass: even and odd widths, down- and upscales, linear output.
#[test]
fn pixel_pairs_and_blocks_equal_single_pixels() {
    let mut reference = None;
    simd::each_level(|level| {
        let mut blocked = false;
        let mut all = Vec::new();
        for (sw, sh, dw, dh, filter) in [
            (384, 20, 192, 10, Filter::Lanczos3),
            (400, 12, 263, 7, Filter::Lanczos3),
            (301, 40, 120, 17, Filter::Lanczos3),
            (57, 20, 201, 31, Filter::CatmullRom),
            (100, 9, 99, 9, Filter::Bilinear),
            (640, 30, 63, 4, Filter::Area),
        ] {
            let job = format!("{sw}x{sh} -> {dw}x{dh} {filter:?}");
            let src: Vec<u16> = (0..sw * sh * 3)
                .map(|i| ((i as u64 * 2_654_435_761) >> 7) as u16)
                .collect();
            let crop = [0.0, 0.0, sw as f64, sh as f64];
            let dst = Rect {
                x: 1,
                y: 2,
                w: dw,
                h: dh,
            };
            let (cw, ch) = (dw + 2, dh + 3);
            let new = || Plan::new(sw, sh, ResampleMode::Linear, crop, dst, filter);
            let mut blocks = new();
            blocked |= blocks.h_simd.blocks.is_some();
            let mut paired = new();
            paired.h_simd.blocks = None;
            let mut single = new();
            single.h_simd.pairs.clear();
            single.h_simd.blocks = None;
            let mut a = vec![0u16; (cw * ch * 3) as usize];
            let (mut b, mut c) = (a.clone(), a.clone());
            let row = sw as usize * 3;
            run(&mut blocks, &src, row, (0, 0), &mut a, cw, Output::Linear);
            run(&mut paired, &src, row, (0, 0), &mut b, cw, Output::Linear);
            run(&mut single, &src, row, (0, 0), &mut c, cw, Output::Linear);
            assert!(a == c, "{level}: {job}: blocks differ from single pixels");
            assert!(b == c, "{level}: {job}: pairs differ from single pixels");
            assert!(a.iter().any(|v| *v != 0), "{level}: {job}: all zero");
            all.push((job, c));
        }
        if level == Level::Avx512 {
            assert!(blocked, "{level}: no case had five-pixel blocks");
        }
        against_portable(&mut reference, level, all);
    });
}

/// Code values through the float passes and the LUT (`resample = "fast"` on 16-bit media,
/// and on 8-bit media without the fixed-point path): every level gives the portable
/// level's bytes, widths that leave LUT tails included.
#[test]
fn float_passes_through_the_lut_give_the_same_bits_at_every_level() {
    let lut8: Vec<u16> = (0..256u32)
        .map(|i| ((i * i * 3 + i * 7) % 65536) as u16)
        .collect();
    let lut16: Vec<u16> = (0..65536u32)
        .map(|i| ((i * i) >> 16) as u16 ^ (i as u16 & 7))
        .collect();
    let mut reference = None;
    simd::each_level(|level| {
        let mut all = Vec::new();
        for (sw, sh, dw, dh, filter) in [
            (384, 216, 191, 107, Filter::Lanczos3),
            (57, 41, 203, 91, Filter::CatmullRom),
            (640, 360, 65, 37, Filter::Area),
            (100, 80, 77, 61, Filter::Bilinear),
        ] {
            let px = (sw * sh * 4) as usize;
            let src8: Vec<u8> = (0..px).map(|i| (i * 31 % 253) as u8).collect();
            let src16: Vec<u16> = (0..px).map(|i| (i * 7919 % 65521) as u16).collect();
            let (cw, ch) = (dw + 3, dh + 2);
            let dst = Rect {
                x: 2,
                y: 1,
                w: dw,
                h: dh,
            };
            let crop = [0.0, 0.0, sw as f64, sh as f64];
            let mut plan = Plan::new(sw, sh, ResampleMode::Fast, crop, dst, filter);
            plan.fixed = None;
            let row = sw as usize * plan.stride();
            for deep in [false, true] {
                let mut canvas = vec![3u16; (cw * ch * 3) as usize];
                if deep {
                    let out = Output::Lut(&lut16);
                    run(&mut plan, &src16, row, (0, 0), &mut canvas, cw, out);
                } else {
                    let out = Output::Lut(&lut8);
                    run(&mut plan, &src8, row, (0, 0), &mut canvas, cw, out);
                }
                all.push((
                    format!("{sw}x{sh}->{dw}x{dh} {filter:?} deep {deep}"),
                    canvas,
                ));
            }
        }
        against_portable(&mut reference, level, all);
    });
}

/// The LUT on the way out (the float path's rows, and the fixed-point path's with the
/// AVX-512 VBMI kernel first) gives the portable level's bits at every level, on values
/// all over (and outside) the code range, NaN included, for lengths around the eight- and
/// 64-value groups.
#[test]
fn lut_rows_give_the_portable_bits_at_every_level() {
    let lut8: Vec<u16> = (0..256u32)
        .map(|i| ((i * i * 3 + i * 7) % 65536) as u16)
        .collect();
    let lut16: Vec<u16> = (0..65536u32).map(|i| ((i * i) >> 16) as u16).collect();
    let value = |i: usize, top: f32| match i % 11 {
        0 => f32::NAN,
        1 => -3.5,
        2 => top,
        3 => top + 45.0,
        4 => top - 0.001,
        5 => (i % 256) as f32,
        _ => (i as f32 * 0.731 * top / 255.0) % top,
    };
    let mut reference = None;
    simd::each_level(|level| {
        let vbmi = Avx512::new().and_then(|t| t.vbmi());
        let split8 = split(vbmi, &lut8);
        if level == Level::Avx512 && simd::features().avx512vbmi {
            assert!(split8.is_some(), "{level}: no VBMI LUT");
        }
        let mut all = Vec::new();
        for n in [1usize, 7, 8, 9, 63, 64, 65, 127, 128, 200, 1920 * 3] {
            let vals8: Vec<f32> = (0..n).map(|i| value(i, 255.0)).collect();
            let vals16: Vec<f32> = (0..n).map(|i| value(i, 65535.0)).collect();
            let mut out = vec![0u16; n];
            lut_row(Avx2::new(), &mut out, &vals8, &lut8);
            all.push((format!("lut_row 8-bit, {n} values"), out.clone()));
            lut_row(Avx2::new(), &mut out, &vals16, &lut16);
            all.push((format!("lut_row 16-bit, {n} values"), out.clone()));
            lut_out(&mut out, &vals8, &lut8, split8.as_ref(), Avx2::new());
            all.push((format!("lut_out (VBMI first), {n} values"), out));
        }
        against_portable(&mut reference, level, all);
    });
}
