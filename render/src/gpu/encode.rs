//! Recording a frame's compute passes, one pass per [`Stage`] (labelled with its name), for
//! any set of stages ([`Stages`]): every stage for a frame, one stage alone for profiling,
//! pack alone for the bit-exactness test of pack.

use super::Renderer;
use super::placement::Work;
use super::work::{ColorInput, FrameWork};
use crate::stage::Stage;

/// A set of stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stages(u8);

impl Stages {
    /// Every stage.
    pub(super) const ALL: Stages = Stages((1 << Stage::ALL.len()) - 1);

    /// `stage` alone.
    pub(super) const fn only(stage: Stage) -> Stages {
        Stages(1 << stage.index())
    }

    /// Whether `stage` is in the set.
    pub(super) const fn contains(self, stage: Stage) -> bool {
        self.0 & (1 << stage.index()) != 0
    }
}

/// A compute pass labelled with `stage`'s name.
fn pass(encoder: &mut wgpu::CommandEncoder, stage: Stage) -> wgpu::ComputePass<'_> {
    encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(stage.name()),
        timestamp_writes: None,
    })
}

impl Renderer {
    /// Record the compute passes of `work` for the stages in `stages`, in pipeline order
    /// within each layer and then for the frame.
    pub(super) fn encode(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        work: &FrameWork,
        stages: Stages,
    ) {
        let (k, res) = (&self.k, &self.res);
        // Linearize, resample and the fill outside the rect (compose) for each rendered
        // layer: the fill first, as the layer's own passes then write inside its rect.
        for job in work.jobs.iter().flatten() {
            let plan = self.plans.get(job.plan);
            let s = job.slot;
            if stages.contains(Stage::Compose)
                && let Some(fill) = &plan.fill
            {
                let mut p = pass(encoder, Stage::Compose);
                k.fill.dispatch(&mut p, &fill[s], res.groups);
            }
            match &plan.work {
                Work::Copy { bind, groups } => {
                    if stages.contains(Stage::Linearize) {
                        let mut p = pass(encoder, Stage::Linearize);
                        plan.linearize(k).dispatch(&mut p, &bind[s], *groups);
                    }
                }
                Work::Scaled {
                    linearize,
                    vertical,
                    vgroups,
                    horizontal,
                    hgroups,
                    ..
                } => {
                    if stages.contains(Stage::Linearize)
                        && let Some((bind, groups)) = linearize
                    {
                        let mut p = pass(encoder, Stage::Linearize);
                        plan.linearize(k).dispatch(&mut p, bind, *groups);
                    }
                    if stages.contains(Stage::Resample) {
                        let mut p = pass(encoder, Stage::Resample);
                        plan.vertical(k).dispatch(&mut p, vertical, *vgroups);
                        k.horizontal.dispatch(&mut p, &horizontal[s], *hgroups);
                    }
                }
            }
        }
        let color_bind = match work.input {
            ColorInput::Mix(a, b) => {
                if stages.contains(Stage::Compose) {
                    let mut p = pass(encoder, Stage::Compose);
                    k.mix.dispatch(&mut p, &res.layers.mix[a][b], res.groups);
                }
                &res.color.bind[0]
            }
            ColorInput::Slot(s) => &res.color.bind[1 + s],
        };
        if stages.contains(Stage::Color) {
            let mut p = pass(encoder, Stage::Color);
            k.color.dispatch(&mut p, color_bind, res.groups);
        }
        if stages.contains(Stage::Quantize) {
            let mut p = pass(encoder, Stage::Quantize);
            for q in &res.quant {
                let kernel = match q.quant.encoding {
                    crate::wall::Encoding::Display => &k.quantize_display,
                    crate::wall::Encoding::Linear => &k.quantize,
                };
                kernel.dispatch(&mut p, &q.bind, res.groups);
            }
        }
        if stages.contains(Stage::Pack) {
            let mut p = pass(encoder, Stage::Pack);
            for port in &res.ports {
                for piece in &port.pieces {
                    let kernel = if piece.grouped { &k.pack4 } else { &k.pack };
                    kernel.dispatch(&mut p, &piece.bind, piece.groups);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_set_holds_what_it_was_made_of() {
        for s in Stage::ALL {
            assert!(Stages::ALL.contains(s));
            let only = Stages::only(s);
            for t in Stage::ALL {
                assert_eq!(only.contains(t), s == t, "{s} alone contains {t}?");
            }
        }
    }
}
