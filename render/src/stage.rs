//! The six stages of design §1, named once for both backends, and the per-stage times
//! they report.

use std::ops::{Add, AddAssign, Index, IndexMut};
use std::time::Duration;

/// A stage of the pipeline, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Code values → linear light through the transfer curve's LUT (and, on the GPU, the
    /// upload of the source).
    Linearize = 0,
    /// Scale the source onto its rect of the canvas.
    Resample = 1,
    /// Background outside the layer's rect; weighted mix of the layers.
    Compose = 2,
    /// Brightness, white point and per-module calibration.
    Color = 3,
    /// To each port's bit depth, with ordered or temporal dithering.
    Quantize = 4,
    /// Port bytes: bit planes in scan order or pixel streams in wiring order (and, on the
    /// GPU, the readback).
    Pack = 5,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 6] = [
        Stage::Linearize,
        Stage::Resample,
        Stage::Compose,
        Stage::Color,
        Stage::Quantize,
        Stage::Pack,
    ];

    /// Its name as reports and labels spell it: `linearize`, `resample`, `compose`,
    /// `color`, `quantize`, `pack`.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Linearize => "linearize",
            Stage::Resample => "resample",
            Stage::Compose => "compose",
            Stage::Color => "color",
            Stage::Quantize => "quantize",
            Stage::Pack => "pack",
        }
    }

    /// Its place in pipeline order, `0..6`.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Wall-clock time spent in each stage during one frame (zero for skipped stages),
/// indexed by [`Stage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes([Duration; 6]);

impl StageTimes {
    /// Each stage with its time, in pipeline order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, Duration)> + '_ {
        Stage::ALL.into_iter().map(|s| (s, self[s]))
    }

    /// The sum over the stages.
    pub fn total(&self) -> Duration {
        self.0.iter().sum()
    }
}

impl Index<Stage> for StageTimes {
    type Output = Duration;
    fn index(&self, s: Stage) -> &Duration {
        &self.0[s.index()]
    }
}

impl IndexMut<Stage> for StageTimes {
    fn index_mut(&mut self, s: Stage) -> &mut Duration {
        &mut self.0[s.index()]
    }
}

impl Add for StageTimes {
    type Output = StageTimes;
    fn add(mut self, o: StageTimes) -> StageTimes {
        self += o;
        self
    }
}

impl AddAssign for StageTimes {
    fn add_assign(&mut self, o: StageTimes) {
        for s in Stage::ALL {
            self[s] += o[s];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_by_stage_in_pipeline_order() {
        let mut t = StageTimes::default();
        for s in Stage::ALL {
            t[s] = Duration::from_micros(s.index() as u64 + 1);
        }
        let names: Vec<_> = t.iter().map(|(s, _)| s.name()).collect();
        assert_eq!(
            names,
            [
                "linearize",
                "resample",
                "compose",
                "color",
                "quantize",
                "pack"
            ]
        );
        assert_eq!(t[Stage::Pack], Duration::from_micros(6));
        assert_eq!(t.total(), Duration::from_micros(21));
        assert_eq!((t + t)[Stage::Color], Duration::from_micros(8));
    }
}
