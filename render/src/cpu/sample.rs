//! What the per-sample kernels of the CPU stages share: the sample types they read, the run
//! length they vectorize over, and the float → u16 conversion that vectorizes.

/// Samples of packed RGB that the per-sample kernels ([`multiversion!`] ones) take at a
/// time: 16 pixels, a whole number of periods of the 3-sample channel pattern and of the
/// 8-pixel (24-sample) dither row, and whole registers of f32 in both builds (three of
/// 512 bits, six of 256). Runs of 24 samples left the AVX-512 builds on 256-bit halves.
pub(crate) const RUN: usize = 48;

/// A per-sample pattern of period `N` (3 channels, 24 dither samples) laid over [`RUN`]
/// samples, so a kernel indexes it with the sample's place in the run.
#[inline(always)]
pub(crate) fn tile<T: Copy, const N: usize>(p: &[T; N]) -> [T; RUN] {
    std::array::from_fn(|j| p[j % N])
}

/// Float → u16, clamped to `0..=65535`, truncating: a plain conversion that vectorizes.
/// (`as u16` saturates, and LLVM turns saturating conversions in vector loops into scalar
/// code: measured 7x slower on the colour stage.) Add 0.5 first to round.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` passes NaN through; max-then-min maps it to 0
pub(crate) fn to_u16(x: f32) -> u16 {
    // `max` returns the non-NaN operand, so NaN becomes 0; the result is finite and in range.
    let x = x.max(0.0).min(65535.0);
    // SAFETY: `x` is finite and within 0..=65535, which i32 represents exactly.
    unsafe { x.to_int_unchecked::<i32>() as u16 }
}

/// A sample the stages read: u8 or u16 code values, u16 linear light, or f32 (the rows the
/// 8-bit resampler filters horizontally before its vertical pass).
pub trait Sample: Copy + Send + Sync {
    /// As a LUT index.
    fn index(self) -> usize;
    /// As f32.
    fn f(self) -> f32;
    /// The samples as bytes, when they are u8 (the 8-bit kernels' input).
    fn as_u8(s: &[Self]) -> Option<&[u8]>;
}
macro_rules! impl_sample {
    ($($t:ty => $as_u8:expr),*) => {$(
        impl Sample for $t {
            #[inline(always)]
            fn index(self) -> usize {
                self as usize
            }
            #[inline(always)]
            fn f(self) -> f32 {
                self as f32
            }
            #[inline(always)]
            fn as_u8(s: &[Self]) -> Option<&[u8]> {
                $as_u8(s)
            }
        }
    )*};
}
impl_sample!(u8 => Some, u16 => |_| None, f32 => |_| None);
