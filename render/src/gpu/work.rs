//! What one frame renders ([`FrameWork`]): which layers are rendered into which layer
//! canvas with which placement, and what the colour stage reads. The layer canvases are
//! chosen by the still cache both backends share ([`crate::cache::LayerCache`]), so the GPU
//! takes the same slots as the CPU for the same scenes; a layer whose canvas is cached is
//! not rendered again.

use super::Renderer;
use super::compose;
use super::placement::PlanKey;
use super::resources::ROW_ALIGN;
use crate::cache::FrameSlots;
use crate::error::RenderError;
use crate::frame::{MAX_LAYERS, Scene};

/// A layer to render this frame: its plan, its layer slot, its pixels' offset in the
/// upload buffer.
#[derive(Debug, Clone, Copy)]
pub(super) struct LayerJob {
    pub(super) plan: usize,
    pub(super) slot: usize,
    pub(super) offset: u64,
}

/// How the colour stage gets its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColorInput {
    /// Mix layer canvases `a` and `b` (or the background alone) into `composed`.
    Mix(usize, usize),
    /// Read layer canvas `s` directly.
    Slot(usize),
}

/// What one frame records (kept for [`Renderer::profile_stages`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameWork {
    /// Per scene layer: rendered this frame (`None`: absent, invisible or cached).
    pub(super) jobs: [Option<LayerJob>; MAX_LAYERS],
    pub(super) input: ColorInput,
}

/// A frame's work, its per-frame uniform, and the upload buffer bytes it needs.
pub(super) struct Planned {
    pub(super) work: FrameWork,
    pub(super) frame: compose::Frame,
    pub(super) upload_len: u64,
}

impl Renderer {
    /// Choose the layer canvases of `scene` (counting a frame whose layers all come from
    /// the cache), find or build the placements of the layers to render, and lay out the
    /// upload buffer: the frame uniform, then each rendered layer's rows.
    pub(super) fn plan_frame(&mut self, scene: &Scene<'_>) -> Result<Planned, RenderError> {
        self.cache.begin_frame();
        self.plans.begin_frame();
        let mut jobs: [Option<LayerJob>; MAX_LAYERS] = [None; MAX_LAYERS];
        let mut upload_len = compose::FRAME.next_multiple_of(ROW_ALIGN);
        // Layers whose canvas is not cached get a job: their placement and upload rows.
        let mut cache = std::mem::take(&mut self.cache);
        let placed = cache.place_layers(scene, |li, layer, slot| {
            let plan = self.plan(PlanKey::of(layer))?;
            let offset = upload_len;
            upload_len += self
                .plans
                .get(plan)
                .upload_len()
                .next_multiple_of(ROW_ALIGN);
            jobs[li] = Some(LayerJob { plan, slot, offset });
            Ok::<(), RenderError>(())
        });
        self.cache = cache;
        let placed = placed?;
        if placed.all_cached() {
            self.cache_hits += 1;
        }
        let FrameSlots {
            used,
            weights,
            active,
            ..
        } = placed;
        let input = match active {
            0 => ColorInput::Mix(0, 0),
            1 if weights[0] >= 1.0 => ColorInput::Slot(used[0]),
            1 => ColorInput::Mix(used[0], used[0]),
            _ => ColorInput::Mix(used[0], used[1]),
        };
        let (wa, wb) = match active {
            0 => (0.0, 0.0),
            1 => (weights[0], 0.0),
            _ => (weights[0], weights[1]),
        };
        let th = crate::dither::thresholds_at(
            self.color.dither,
            scene.frame_number,
            self.geometry.section.origin,
        );
        Ok(Planned {
            work: FrameWork { jobs, input },
            frame: compose::Frame::new(&th, wa, wb),
            upload_len,
        })
    }
}
