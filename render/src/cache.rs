//! The still cache both renderers keep: which layer canvas holds which keyed source, and
//! which slot a new layer takes. The canvases themselves belong to each backend (CPU
//! buffers, GPU textures); this is only their bookkeeping, so the two backends choose the
//! same slots for the same scenes.

use crate::frame::{Filter, Fit, Layer, MAX_LAYERS, Scene};

/// Identity of a cached layer canvas: the source's key and everything that shapes the
/// canvas made from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheKey {
    /// The source's key ([`crate::SourceImage::key`]).
    pub key: u64,
    /// Source width.
    pub width: u32,
    /// Source height.
    pub height: u32,
    /// 16-bit samples.
    pub deep: bool,
    /// Fit mode.
    pub fit: Fit,
    /// Resampling filter.
    pub filter: Filter,
}

impl CacheKey {
    /// The key of `layer`, when its source has one (keyed stills; video frames have none).
    pub fn of(layer: &Layer<'_>) -> Option<CacheKey> {
        let src = &layer.source;
        src.key.map(|key| CacheKey {
            key,
            width: src.width,
            height: src.height,
            deep: src.data.is_deep(),
            fit: layer.fit,
            filter: layer.filter,
        })
    }
}

/// Where a layer goes this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The slot (canvas) index, `0..MAX_LAYERS`.
    pub index: usize,
    /// The slot already holds this layer's canvas: nothing to render.
    pub hit: bool,
}

/// Where a frame's visible layers went: the slot of each, in scene order, and its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSlots {
    /// The slots of the visible layers, in scene order (`usize::MAX` from `active` on).
    pub used: [usize; MAX_LAYERS],
    /// Their weights, at most 1.
    pub weights: [f32; MAX_LAYERS],
    /// Visible layers (weight above 0).
    pub active: usize,
    /// Of them, the ones whose canvas was cached.
    pub hits: usize,
}

impl FrameSlots {
    /// Every visible layer came from the cache (and there was one at least).
    pub fn all_cached(&self) -> bool {
        self.active > 0 && self.hits == self.active
    }
}

/// The bookkeeping of [`MAX_LAYERS`] layer canvases: their keys and when each was last used.
#[derive(Debug, Clone, Default)]
pub struct LayerCache {
    keys: [Option<CacheKey>; MAX_LAYERS],
    last_used: [u64; MAX_LAYERS],
    clock: u64,
}

impl LayerCache {
    /// Start a frame (every slot chosen from now on counts as used by it).
    pub fn begin_frame(&mut self) {
        self.clock += 1;
    }

    /// The frame counter [`LayerCache::begin_frame`] advances.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// The slot for layer `li` of the scene with cache key `key`, given the slots earlier
    /// layers of this frame took (`taken`). A hit is the slot holding `key`; a miss takes the
    /// least recently used slot that this frame has not taken (else slot `li`) and forgets
    /// its key until [`LayerCache::filled`] names the new one, so a render that fails
    /// half-way leaves no stale key behind.
    pub fn choose(&mut self, key: Option<CacheKey>, li: usize, taken: &[usize]) -> Slot {
        let hit = key.and_then(|k| (0..MAX_LAYERS).find(|&s| self.keys[s] == Some(k)));
        let slot = match hit {
            Some(index) => Slot { index, hit: true },
            None => {
                let index = (0..MAX_LAYERS)
                    .filter(|s| !taken.contains(s))
                    .min_by_key(|&s| self.last_used[s])
                    .unwrap_or(li);
                self.keys[index] = None;
                Slot { index, hit: false }
            }
        };
        self.last_used[slot.index] = self.clock;
        slot
    }

    /// Place the visible layers of `scene` (weight above 0), in scene order: each takes the
    /// slot [`LayerCache::choose`] gives it, and `miss(li, layer, slot)` makes the canvas of
    /// a layer that is not cached (the CPU renders it, the GPU records the work), after
    /// which the slot holds the layer's key. An error from `miss` is returned as it is, and
    /// that slot then holds no key. Call [`LayerCache::begin_frame`] first.
    pub fn place_layers<E>(
        &mut self,
        scene: &Scene<'_>,
        mut miss: impl FnMut(usize, &Layer<'_>, usize) -> Result<(), E>,
    ) -> Result<FrameSlots, E> {
        let mut f = FrameSlots {
            used: [usize::MAX; MAX_LAYERS],
            weights: [0.0; MAX_LAYERS],
            active: 0,
            hits: 0,
        };
        for (li, layer) in scene.layers.iter().enumerate() {
            let Some(layer) = layer else { continue };
            if layer.weight <= 0.0 {
                continue;
            }
            let key = CacheKey::of(layer);
            let slot = self.choose(key, li, &f.used[..f.active]);
            if slot.hit {
                f.hits += 1;
            } else {
                miss(li, layer, slot.index)?;
                self.filled(slot.index, key);
            }
            f.used[f.active] = slot.index;
            f.weights[f.active] = layer.weight.min(1.0);
            f.active += 1;
        }
        Ok(f)
    }

    /// Slot `index` now holds the canvas of `key` (`None`: an unkeyed layer, never a hit).
    pub fn filled(&mut self, index: usize, key: Option<CacheKey>) {
        self.keys[index] = key;
    }

    /// The key slot `index` holds.
    pub fn key(&self, index: usize) -> Option<CacheKey> {
        self.keys[index]
    }

    /// Forget every canvas (they were made with a curve, background or resample mode that
    /// changed).
    pub fn clear(&mut self) {
        self.keys = [None; MAX_LAYERS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: u64) -> Option<CacheKey> {
        Some(CacheKey {
            key: k,
            width: 4,
            height: 4,
            deep: false,
            fit: Fit::Stretch,
            filter: Filter::Bilinear,
        })
    }

    #[test]
    fn hits_keep_their_slot_and_misses_take_the_least_recent() {
        let mut c = LayerCache::default();
        c.begin_frame();
        let a = c.choose(key(1), 0, &[]);
        c.filled(a.index, key(1));
        let b = c.choose(key(2), 1, &[a.index]);
        c.filled(b.index, key(2));
        assert_ne!(a.index, b.index);
        assert!(!a.hit && !b.hit);
        c.begin_frame();
        let b2 = c.choose(key(2), 0, &[]);
        assert_eq!(
            b2,
            Slot {
                index: b.index,
                hit: true
            }
        );
        // Key 3 replaces key 1, the least recently used, not key 2 (taken this frame).
        let n = c.choose(key(3), 1, &[b2.index]);
        assert_eq!(
            n,
            Slot {
                index: a.index,
                hit: false
            }
        );
        assert_eq!(
            c.key(a.index),
            None,
            "a miss forgets the old key until filled"
        );
        c.clear();
        assert_eq!(c.key(b.index), None);
    }

    #[test]
    fn a_frame_places_visible_layers_and_counts_hits() {
        let px = [0u8; 4 * 4 * 4];
        let img = |k| crate::SourceImage::rgba8(4, 4, &px).with_key(k);
        let scene = Scene::crossfade(0, Layer::new(img(1)), Layer::new(img(2)), 0.25);
        let mut c = LayerCache::default();
        let mut misses = Vec::new();
        c.begin_frame();
        let f = c
            .place_layers(&scene, |li, _, slot| {
                misses.push((li, slot));
                Ok::<(), ()>(())
            })
            .unwrap_or_else(|()| unreachable!());
        assert_eq!((f.active, f.hits), (2, 0));
        assert_eq!(misses, [(0, f.used[0]), (1, f.used[1])]);
        assert_ne!(f.used[0], f.used[1]);
        assert_eq!(f.weights, [0.75, 0.25]);
        c.begin_frame();
        let again = c.place_layers(&scene, |_, _, _| Err("no miss expected"));
        assert_eq!(again.map(|g| (g.used, g.all_cached())), Ok((f.used, true)));
        // A failed miss leaves its slot without a key.
        c.begin_frame();
        let other = Scene::single(1, Layer::new(img(3)));
        assert_eq!(
            c.place_layers(&other, |_, _, _| Err("decode")),
            Err("decode")
        );
        assert_eq!(c.key(f.used[0]), None);
    }
}
