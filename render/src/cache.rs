//! The still cache both renderers keep: which layer canvas holds which keyed source, and
//! which slot a new layer takes. The canvases themselves belong to each backend (CPU
//! buffers, GPU textures); this is only their bookkeeping, so the two backends choose the
//! same slots for the same scenes.

use crate::frame::{Filter, Fit, Layer, MAX_LAYERS, PixelData};

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
            deep: matches!(src.data, PixelData::Rgba16(_)),
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
}
