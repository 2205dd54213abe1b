//! The fixed-point horizontal pass: source rows of RGBA8 through the quantized weights,
//! `out[3·ox + c] = Σ_k w_q[k] · src[4·(start[ox] + k) + c]` in i32, as f32. The dispatch
//! to the kernel the tables were laid out for (`avx512.rs`, `avx2.rs`), and the portable
//! pass. The sums are integers, exact in any order, so every kernel gives the same floats.

use super::GROUP;
use super::tables::Tables;

/// Source rows through the horizontal pass: `out[i][3·ox + c] = Σ_k w_q · src[i]` as f32,
/// `R` rows at once (the SIMD kernels share each weight load between them). Each `src[i]`
/// holds at least [`Tables::reads`] bytes and each `out[i]` [`Tables::row_len`] floats.
pub(super) fn horizontal<const R: usize>(out: [&mut [f32]; R], src: [&[u8]; R], t: &Tables) {
    match t.kernel {
        #[cfg(target_arch = "x86_64")]
        super::tables::Kernel::Avx512(k) => super::avx512::horizontal(k, out, src, t),
        #[cfg(target_arch = "x86_64")]
        super::tables::Kernel::Avx2(k) => super::avx2::horizontal(k, out, src, t),
        _ => {
            for (o, s) in out.into_iter().zip(src) {
                horizontal_portable(o, s, t);
            }
        }
    }
}

/// The portable [`horizontal`] for one row: the same integer sums, so the same floats.
pub(super) fn horizontal_portable(out: &mut [f32], src: &[u8], t: &Tables) {
    let span = t.groups * GROUP;
    for ox in 0..t.width {
        let s = t.start[ox] as usize * 4;
        let w = &t.weights[ox * span..(ox + 1) * span];
        let px = &src[s..s + span * 4];
        let mut acc = [0i32; 3];
        for (wk, p) in w.iter().zip(px.chunks_exact(4)) {
            for c in 0..3 {
                acc[c] += *wk as i32 * p[c] as i32;
            }
        }
        for c in 0..3 {
            out[ox * 3 + c] = acc[c] as f32;
        }
    }
}
