//! The fixed-point path's tests. Every case runs at every level this machine has
//! ([`simd::each_level`]; the tables are built inside, so they take that level's kernel:
//! AVX-512 VNNI, AVX2 or portable), names the level in its failure messages, and compares
//! that level's kernels with the portable pass, paired rows with single rows, and each
//! level's bytes with the portable level's.

use super::horizontal::{horizontal, horizontal_portable};
use super::tables::Kernel;
use super::{BITS, Fixed, GROUP, run_rgba8};
use crate::cpu::bands::Bands;
use crate::cpu::resample::plan::Plan;
use crate::cpu::resample::tests::against_portable;
use crate::cpu::resample::vertical::Pairing;
use crate::cpu::resample::{Output, run};
use crate::cpu::simd::{self, Avx512, Level};
use crate::frame::Filter;
use crate::place::Rect;
use crate::wall::ResampleMode;

/// A deterministic photo-like RGBA8 image: gradients plus a hash, so neighbouring
/// pixels differ like real content does.
fn image(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..4u32 {
                let mut z = x.wrapping_mul(73_856_093)
                    ^ y.wrapping_mul(19_349_663)
                    ^ c.wrapping_mul(83_492_791)
                    ^ seed;
                z = z.wrapping_mul(0x9E37_79B1) ^ (z >> 15);
                let smooth = (x * 255 / w.max(1) + y * 97 / h.max(1) + c * 40) % 256;
                out.push(((smooth + (z % 48)) % 256) as u8);
            }
        }
    }
    out
}

/// A fast-mode plan (built at the current level) for the whole source onto `dst`.
fn plan(sw: u32, sh: u32, dst: Rect, filter: Filter) -> Plan {
    let crop = [0.0, 0.0, sw as f64, sh as f64];
    Plan::new(sw, sh, ResampleMode::Fast, crop, dst, filter)
}

/// The level's fixed-point tables of `p` (a source `sw` wide); panics without them.
fn fixed(p: &Plan, level: Level, sw: u32) -> &Fixed {
    let fx = p.fixed.as_ref();
    fx.unwrap_or_else(|| panic!("{level}: {sw}: no fixed-point tables"))
}

/// The kernel the tables of each level take: the level's best.
fn check_kernel(level: Level, kernel: Kernel) {
    let want = match level {
        Level::Portable => 0,
        Level::Avx2 => 2,
        Level::Avx512 if simd::features().avx512vnni && simd::features().avx512vbmi => 4,
        Level::Avx512 => 2,
    };
    assert_eq!(kernel.per(), want, "{level}: kernel {kernel:?}");
}

/// The level's kernel gives the bits of the portable pass, one row and two rows at once;
/// on the AVX-512 level, each of its step kinds runs.
#[test]
fn simd_rows_are_the_bits_of_the_portable_rows() {
    simd::each_level(|level| {
        for (sw, dw, filter) in [
            (3840, 1920, Filter::Lanczos3),
            (301, 97, Filter::Lanczos3),
            (97, 301, Filter::CatmullRom),
            (57, 41, Filter::Area),
            (57, 89, Filter::CatmullRom),
            (640, 63, Filter::Bilinear),
            (33, 33, Filter::Nearest),
        ] {
            let dst = Rect {
                x: 0,
                y: 0,
                w: dw,
                h: 8,
            };
            let p = plan(sw, 16, dst, filter);
            let fx = fixed(&p, level, sw);
            let t = &fx.t;
            check_kernel(level, t.kernel);
            let job = format!("{level}: {sw}->{dw} {filter:?} ({:?})", t.kernel);
            if let Kernel::Avx512(_) = t.kernel {
                // The AVX-512 step kinds run: one load a block where the windows fit
                // in 64 bytes (not at 10x), five pixels a block in runs of 20 pixels
                // where the row has them, four loads at the right edge.
                let (q, fit) = (t.quint.len() * 5, t.rel.len() * 4);
                eprintln!("{sw}->{dw}: {q} + {fit} of {dw} pixels with one load");
                assert!(q + fit < dw as usize, "{job}");
                assert_eq!(q + fit == 0, sw > 10 * dw, "{job}");
                assert_eq!(q > 0, sw <= 3 * dw && dw >= 20, "{job}");
            }
            let src = image(sw, 1, sw ^ dw);
            let n = dw as usize * 3;
            let bits = |v: &[f32]| v[..n].iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut want = vec![f32::NAN; t.row_len];
            horizontal_portable(&mut want, &src, t);
            // One row, and two rows at once (different contents).
            let mut a = vec![f32::NAN; t.row_len];
            horizontal([&mut a], [&src], t);
            assert_eq!(bits(&a), bits(&want), "{job}");
            let other = image(sw, 1, 99);
            let mut want2 = vec![f32::NAN; t.row_len];
            horizontal_portable(&mut want2, &other, t);
            let (mut b, mut c) = (vec![0f32; t.row_len], vec![0f32; t.row_len]);
            horizontal([&mut b, &mut c], [&src, &other], t);
            assert_eq!(bits(&b), bits(&want), "{job}, row 0 of 2");
            assert_eq!(bits(&c), bits(&want2), "{job}, row 1 of 2");
        }
    });
}

/// The level's kernel against the portable pass over a spread of scale factors (both
/// ways) and every filter: windows that start out of order where leading zero weights
/// were trimmed, blocks too wide for one load, the right edge.
#[test]
fn simd_rows_match_the_portable_rows_at_every_scale() {
    simd::each_level(|level| {
        for sw in [13u32, 57, 100, 301, 640, 1001] {
            for dw in [5u32, 41, 89, 97, 333, 1920] {
                for filter in Filter::ALL {
                    let dst = Rect {
                        x: 0,
                        y: 0,
                        w: dw,
                        h: 2,
                    };
                    let p = plan(sw, 4, dst, filter);
                    let Some(Fixed { t, .. }) = p.fixed.as_ref() else {
                        continue;
                    };
                    check_kernel(level, t.kernel);
                    let (a, b) = (image(sw, 1, sw ^ dw), image(sw, 1, dw));
                    let want = [&a, &b].map(|src| {
                        let mut o = vec![f32::NAN; t.row_len];
                        horizontal_portable(&mut o, src, t);
                        o
                    });
                    let n = dw as usize * 3;
                    let mut got = [vec![0f32; t.row_len], vec![0f32; t.row_len]];
                    let [g0, g1] = &mut got;
                    horizontal([g0, g1], [&a, &b], t);
                    for (g, w) in got.iter().zip(&want) {
                        let same = g[..n]
                            .iter()
                            .zip(&w[..n])
                            .all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(same, "{level}: {sw}->{dw} {filter:?} ({:?})", t.kernel);
                    }
                }
            }
        }
    });
}

#[test]
fn weights_sum_to_one_exactly() {
    simd::each_level(|level| {
        let dst = Rect {
            x: 0,
            y: 0,
            w: 777,
            h: 5,
        };
        let p = plan(1999, 10, dst, Filter::Lanczos3);
        let t = &fixed(&p, level, 1999).t;
        let span = t.groups * GROUP;
        for ox in 0..t.width {
            let s: i32 = t.weights[ox * span..(ox + 1) * span]
                .iter()
                .map(|w| *w as i32)
                .sum();
            assert_eq!(s, 1 << BITS, "{level}: pixel {ox}");
        }
        // Flat input comes out exact.
        let src = vec![200u8; 1999 * 4];
        let mut out = vec![0f32; t.row_len];
        horizontal([&mut out], [&src], t);
        let flat = out[..777 * 3].iter().all(|v| *v == (200 << BITS) as f32);
        assert!(flat, "{level} ({:?}): flat input not exact", t.kernel);
    });
}

/// Output rows paired in the vertical pass give the bits of rows one at a time (the
/// AVX-512 paired kernel on that level, the portable one below it), and every row reaches
/// `each` once, in order: downscales whose neighbouring windows share rows (2x, 3x, odd
/// ratios), an upscale, a filter with few taps, a window too wide to pair (8x Lanczos3:
/// 48 taps), on one band and on several. Every level gives the portable level's bytes.
#[test]
fn paired_vertical_rows_are_the_same_bits_as_single_rows() {
    let lut: Vec<u16> = (0..256u32).map(|i| (i * i + 3 * i) as u16).collect();
    let mut reference = None;
    simd::each_level(|level| {
        let mut paired_any = false;
        let mut all = Vec::new();
        for (sw, sh, dw, dh, filter) in [
            (384, 216, 192, 108, Filter::Lanczos3),
            (300, 240, 100, 80, Filter::Lanczos3),
            (301, 197, 120, 71, Filter::Lanczos3),
            (160, 90, 200, 150, Filter::CatmullRom),
            (200, 120, 100, 60, Filter::Bilinear),
            (640, 480, 80, 60, Filter::Lanczos3),
        ] {
            let job = format!("{sw}x{sh}->{dw}x{dh} {filter:?}");
            let src = image(sw, sh, 11);
            let (cw, ch) = (dw + 4, dh + 2);
            let dst = Rect {
                x: 1,
                y: 1,
                w: dw,
                h: dh,
            };
            let mut out = Vec::new();
            for pairing in [Pairing::Single, Pairing::Paired(Avx512::new())] {
                let mut p = plan(sw, sh, dst, filter);
                p.fixed = Fixed::with_pairing(&p, sw, pairing);
                let fx = fixed(&p, level, sw);
                paired_any |= fx.t.pairing != Pairing::Single;
                let own_bands = fx.t.bands.len();
                for bands in [None, Some(Bands::new(dh as usize, 1, &[]))] {
                    let mut canvas = vec![9u16; (cw * ch * 3) as usize];
                    let seen = std::sync::Mutex::new(Vec::new());
                    let each = |y: usize, rows: &mut [u16]| {
                        seen.lock()
                            .unwrap()
                            .push((y, rows.len() / (cw as usize * 3)));
                    };
                    let row = sw as usize * 4;
                    let b = bands.as_ref();
                    let ok = run_rgba8(&mut p, &src, row, &mut canvas, cw, &lut, b, each);
                    assert!(ok, "{level}: {job}: not on the fixed-point path");
                    let mut seen = seen.into_inner().unwrap();
                    seen.sort_unstable();
                    let band_count = bands.map_or(own_bands, |b| b.len());
                    assert_eq!(seen.len(), dh as usize, "{level}: {job}: every row once");
                    assert_eq!(
                        seen.iter().filter(|(_, n)| *n == 1).count(),
                        band_count,
                        "{level}: {job}: each band starts at its first row"
                    );
                    out.push(canvas);
                }
            }
            assert!(
                out[1..].iter().all(|c| *c == out[0]),
                "{level}: {job}: paired rows differ"
            );
            all.push((job, out.swap_remove(0)));
        }
        assert!(paired_any, "{level}: no case paired its rows");
        against_portable(&mut reference, level, all);
    });
}

/// Against the float resampler on the same jobs, through an identity-like LUT (code
/// `i` → `257 i`, so one code is 257 units): within the error bound of the module docs.
#[test]
fn matches_the_float_resampler_within_the_rounding_bound() {
    let lut: Vec<u16> = (0..256u32).map(|i| (i * 257) as u16).collect();
    simd::each_level(|level| {
        for (sw, sh, dw, dh, filter) in [
            (384, 216, 192, 108, Filter::Lanczos3),
            (301, 97, 120, 200, Filter::Lanczos3),
            (57, 41, 200, 90, Filter::CatmullRom),
            (640, 360, 64, 36, Filter::Area),
            (100, 80, 77, 61, Filter::Bilinear),
        ] {
            let job = format!("{level}: {sw}x{sh}->{dw}x{dh} {filter:?}");
            let src = image(sw, sh, 7);
            let (cw, ch) = (dw + 5, dh + 3);
            let dst = Rect {
                x: 3,
                y: 2,
                w: dw,
                h: dh,
            };
            let mut fixed = plan(sw, sh, dst, filter);
            assert!(fixed.fixed.is_some(), "{job}: no fixed-point tables");
            let mut float = plan(sw, sh, dst, filter);
            float.fixed = None;
            let mut a = vec![7u16; (cw * ch * 3) as usize];
            let mut b = a.clone();
            let row = sw as usize * 4;
            let out = Output::Lut(&lut);
            run(&mut fixed, &src, row, (0, 0), &mut a, cw, out);
            run(&mut float, &src, row, (0, 0), &mut b, cw, out);
            let taps = fixed.tables.h_used as f64;
            let bound = (taps * 0.5f64.powi(BITS as i32 + 1) * 255.0 * 257.0).ceil() as i32 + 1;
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as i32 - *y as i32).abs())
                .max();
            let worst = worst.unwrap_or(0);
            eprintln!("{job}: worst {worst} of bound {bound}");
            assert!(worst <= bound, "{job}: {worst} > {bound}");
            // Outside the rect: untouched.
            assert_eq!(a[..3], [7, 7, 7], "{job}");
        }
    });
}
