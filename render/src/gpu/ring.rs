//! The upload/readback ring: [`RING`] staging pairs, each an upload buffer the CPU writes
//! while it is mapped (the frame uniform and the rendered layers' pixels) and a readback
//! buffer the GPU copies the port buffers into. A frame takes the next pair
//! ([`Ring::next_free`]), is submitted ([`Ring::submit`]) and received oldest first
//! ([`Ring::receive`]), so the upload of frame n+1, the compute of frame n and the readback
//! of frame n−1 overlap. Buffers are mapped asynchronously; [`wait`] polls the device until
//! a map callback has run.

use super::RING;
use super::build::Port;
use super::device::Gpu;
use super::placement::Plans;
use super::resources::extent;
use super::work::FrameWork;
use crate::error::GpuError;
use crate::frame::WallFrame;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One staging pair.
struct RingSlot {
    /// Written by the CPU while mapped; grows with the sources (never per frame).
    upload: wgpu::Buffer,
    /// Set by the upload buffer's map callback.
    upload_ready: Arc<AtomicBool>,
    /// The ports' bytes of the frame, at [`Port::readback_at`].
    readback: wgpu::Buffer,
    /// Set by the readback buffer's map callback.
    read_ready: Arc<AtomicBool>,
    /// A frame in flight uses the pair.
    busy: bool,
    /// The last submission that read the upload buffer.
    submission: Option<wgpu::SubmissionIndex>,
}

/// A submitted frame not yet received.
struct InFlight {
    slot: usize,
    frame_number: u64,
    card_level: f32,
    submission: wgpu::SubmissionIndex,
}

/// The staging pairs and the frames in flight.
pub(super) struct Ring {
    slots: Vec<RingSlot>,
    /// The pair the next frame takes.
    next: usize,
    in_flight: VecDeque<InFlight>,
    /// Bytes of the readback buffers (every port's bytes).
    readback_len: u64,
}

impl Ring {
    /// [`RING`] pairs: upload buffers of `upload_len` bytes to begin with (mapped),
    /// readback buffers of `readback_len`.
    pub(super) fn new(gpu: &Gpu, upload_len: u64, readback_len: u64) -> Ring {
        let slots = (0..RING)
            .map(|i| RingSlot {
                upload: upload_buffer(gpu, i, upload_len),
                upload_ready: Arc::new(AtomicBool::new(true)),
                readback: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("readback {i}")),
                    size: readback_len,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                read_ready: Arc::new(AtomicBool::new(false)),
                busy: false,
                submission: None,
            })
            .collect();
        Ring {
            slots,
            next: 0,
            in_flight: VecDeque::with_capacity(RING),
            readback_len,
        }
    }

    /// Frames submitted and not yet received.
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Refuse a frame when every pair is in flight.
    pub(super) fn next_free(&self) -> Result<(), GpuError> {
        if self.slots[self.next].busy {
            return Err(GpuError::RingFull(RING));
        }
        Ok(())
    }

    /// Make sure the next pair has a mapped upload buffer of at least `len` bytes, waiting
    /// for the frame that last used it.
    pub(super) fn ensure_upload(&mut self, gpu: &Gpu, len: u64) -> Result<(), GpuError> {
        let i = self.next;
        let slot = &mut self.slots[i];
        if slot.upload.size() < len {
            // A new source size: a bigger buffer, mapped from the start. (Per placement
            // change, never per frame.)
            slot.upload = upload_buffer(gpu, i, len.next_multiple_of(1 << 20));
            slot.upload_ready.store(true, Ordering::Release);
            return Ok(());
        }
        let sub = slot.submission.clone();
        wait(gpu, &slot.upload_ready, sub)
    }

    /// Fill the first `len` bytes of the next pair's upload buffer ([`Ring::ensure_upload`]
    /// first) with `write`, then unmap it.
    pub(super) fn write_upload(
        &self,
        len: u64,
        write: impl FnOnce(&mut wgpu::BufferViewMut),
    ) -> Result<(), GpuError> {
        let slot = &self.slots[self.next];
        {
            let mut view = slot
                .upload
                .slice(..len)
                .get_mapped_range_mut()
                .map_err(|e| GpuError::Map {
                    buffer: "upload buffer",
                    reason: e.to_string(),
                })?;
            write(&mut view);
        }
        slot.upload.unmap();
        slot.upload_ready.store(false, Ordering::Release);
        Ok(())
    }

    /// Record the copies out of the next pair's upload buffer: the frame uniform into
    /// `frame_uniform`, each rendered layer's rows into its plan's source texture (or its
    /// plane textures).
    pub(super) fn record_upload(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        frame_uniform: &wgpu::Buffer,
        plans: &Plans,
        work: &FrameWork,
    ) {
        let upload = &self.slots[self.next].upload;
        encoder.copy_buffer_to_buffer(upload, 0, frame_uniform, 0, super::compose::FRAME);
        for job in work.jobs.iter().flatten() {
            for up in &plans.get(job.plan).uploads {
                encoder.copy_buffer_to_texture(
                    wgpu::TexelCopyBufferInfo {
                        buffer: upload,
                        layout: wgpu::TexelCopyBufferLayout {
                            offset: job.offset + up.at,
                            bytes_per_row: Some(up.row_padded as u32),
                            rows_per_image: Some(up.height),
                        },
                    },
                    up.tex.tex.as_image_copy(),
                    extent(up.width, up.height),
                );
            }
        }
    }

    /// Record the copies of the port buffers into the next pair's readback buffer, submit
    /// `encoder` and queue the frame (`frame_number`) as in flight on that pair. With
    /// `uploaded`, the frame read the upload buffer: it is mapped again for the frame after.
    pub(super) fn submit(
        &mut self,
        gpu: &Gpu,
        mut encoder: wgpu::CommandEncoder,
        ports: &[Port],
        (frame_number, card_level): (u64, f32),
        uploaded: bool,
    ) {
        let i = self.next;
        let slot = &mut self.slots[i];
        for port in ports.iter().filter(|p| !p.kept) {
            encoder.copy_buffer_to_buffer(
                &port.out,
                0,
                &slot.readback,
                port.readback_at,
                port.words * 4,
            );
        }
        let submission = gpu.queue.submit([encoder.finish()]);
        if uploaded {
            let ready = Arc::clone(&slot.upload_ready);
            slot.upload.map_async(wgpu::MapMode::Write, .., move |r| {
                ready.store(r.is_ok(), Ordering::Release);
            });
            slot.submission = Some(submission.clone());
        }
        let ready = Arc::clone(&slot.read_ready);
        slot.readback
            .map_async(wgpu::MapMode::Read, ..self.readback_len, move |r| {
                ready.store(r.is_ok(), Ordering::Release);
            });
        slot.busy = true;
        self.in_flight.push_back(InFlight {
            slot: i,
            frame_number,
            card_level,
            submission,
        });
        self.next = (i + 1) % RING;
    }

    /// Wait for the oldest frame in flight and copy its port bytes into `frame`. Returns
    /// its frame number.
    pub(super) fn receive(
        &mut self,
        gpu: &Gpu,
        ports: &[Port],
        frame: &mut WallFrame,
    ) -> Result<u64, GpuError> {
        let f = self
            .in_flight
            .pop_front()
            .ok_or(GpuError::NothingSubmitted)?;
        let slot = &mut self.slots[f.slot];
        slot.busy = false;
        wait(gpu, &slot.read_ready, Some(f.submission))?;
        {
            let view = slot
                .readback
                .slice(..self.readback_len)
                .get_mapped_range()
                .map_err(|e| GpuError::Map {
                    buffer: "readback buffer",
                    reason: e.to_string(),
                })?;
            for (port, buf) in ports.iter().zip(&mut frame.ports) {
                if port.kept {
                    continue;
                }
                let at = port.readback_at as usize;
                buf.bytes.copy_from_slice(&view[at..at + port.byte_len]);
            }
        }
        slot.readback.unmap();
        slot.read_ready.store(false, Ordering::Release);
        frame.frame_number = f.frame_number;
        frame.card_level = f.card_level;
        Ok(f.frame_number)
    }
}

/// Upload buffer `i` of `size` bytes, mapped for writing.
fn upload_buffer(gpu: &Gpu, i: usize, size: u64) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(&format!("upload {i}")),
        size,
        usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: true,
    })
}

/// Poll the device until `flag` is set by a map callback (at most 30 s).
pub(super) fn wait(
    gpu: &Gpu,
    flag: &AtomicBool,
    submission: Option<wgpu::SubmissionIndex>,
) -> Result<(), GpuError> {
    const LIMIT: Duration = Duration::from_secs(30);
    let deadline = Instant::now() + LIMIT;
    while !flag.load(Ordering::Acquire) {
        match gpu.device.poll(wgpu::PollType::Wait {
            submission_index: submission.clone(),
            timeout: Some(Duration::from_secs(5)),
        }) {
            // A slow frame (a software adapter under load): poll again until the deadline.
            Ok(_) | Err(wgpu::PollError::Timeout) => {}
            Err(e) => return Err(GpuError::Wait(e.to_string())),
        }
        gpu.take_error()?;
        if flag.load(Ordering::Acquire) {
            break;
        }
        if Instant::now() > deadline {
            return Err(GpuError::Timeout(LIMIT));
        }
        // The submission is done but the callback has not run yet: poll again.
        std::thread::yield_now();
    }
    Ok(())
}
