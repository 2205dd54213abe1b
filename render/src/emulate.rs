//! The emulator: output buffers → the canvas the wall shows (design §5). The exact inverse
//! of pack; previews are made with it and tests close the loop through it.

use crate::color::{srgb_encode, transfer};
use crate::frame::WallFrame;
use crate::geometry::{Geometry, PortMap};
use crate::wall::{Encoding, OutputFormat, Transfer};

/// What the wall shows: per canvas pixel, the output codes it receives and their depth.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatedWall {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Packed RGB output codes (canvas channel order), 0 where no module covers the pixel.
    pub codes: Vec<u16>,
    /// Bits of each pixel's codes; 0 where no module covers the pixel.
    pub depth: Vec<u8>,
    /// Per pixel: its codes are display-encoded (a `canvas` port with `encoding =
    /// "display"` showed it last): light is the transfer curve of the code, not the code.
    pub encoded: Vec<bool>,
    /// The wall's transfer curve and gamma, for display-encoded codes.
    pub curve: (Transfer, f64),
}

impl EmulatedWall {
    /// Light output of pixel `i`, channel `c`, as a fraction 0..1 of full drive (LEDs are
    /// driven linearly by PWM/BCM, so a code is light).
    pub fn linear(&self, i: usize, c: usize) -> f64 {
        match self.depth[i] {
            0 => 0.0,
            d if self.encoded[i] => {
                let u = self.codes[i * 3 + c] as f64 / ((1u32 << d) - 1) as f64;
                transfer(self.curve.0, self.curve.1, u)
            }
            d => self.codes[i * 3 + c] as f64 / ((1u32 << d) - 1) as f64,
        }
    }

    /// RGBA8 image of the wall as an sRGB display would show it (uncovered pixels are dark
    /// grey so the wall's outline is visible).
    pub fn to_rgba8(&self) -> Vec<u8> {
        let mut enc = [0u8; 4097];
        for (i, e) in enc.iter_mut().enumerate() {
            *e = (srgb_encode(i as f64 / 4096.0) * 255.0).round() as u8;
        }
        let mut out = Vec::with_capacity(self.depth.len() * 4);
        for i in 0..self.depth.len() {
            if self.depth[i] == 0 {
                out.extend_from_slice(&[24, 24, 24, 255]);
                continue;
            }
            for c in 0..3 {
                out.push(enc[(self.linear(i, c) * 4096.0).round() as usize]);
            }
            out.push(255);
        }
        out
    }
}

/// Reconstruct the canvas a frame shows.
pub fn emulate(geometry: &Geometry, frame: &WallFrame) -> EmulatedWall {
    let n = geometry.canvas_pixels();
    let mut wall = EmulatedWall {
        width: geometry.width,
        height: geometry.height,
        codes: vec![0; n * 3],
        depth: vec![0; n],
        encoded: vec![false; n],
        curve: (geometry.transfer, geometry.gamma),
    };
    for (port, buf) in geometry.ports.iter().zip(&frame.ports) {
        unpack_port(port, &buf.bytes, n, &mut wall);
    }
    wall
}

fn unpack_port(port: &PortMap, bytes: &[u8], n: usize, wall: &mut EmulatedWall) {
    let mut put = |idx: u32, order: [u8; 3], v: [u16; 3]| {
        let idx = idx as usize;
        if idx < n {
            for k in 0..3 {
                wall.codes[idx * 3 + order[k] as usize] = v[k];
            }
            wall.depth[idx] = port.depth as u8;
            wall.encoded[idx] = port.encoding == Encoding::Display;
        }
    };
    match port.format {
        OutputFormat::Bitplanes => {
            let positions = port.positions as usize;
            let planes = port.depth as usize;
            for a in 0..port.addresses as usize {
                for p in 0..positions {
                    let mut v = [0u16; 6];
                    for plane in 0..planes {
                        let byte = bytes[(a * planes + plane) * positions + p];
                        for (k, vk) in v.iter_mut().enumerate() {
                            *vk |= (((byte >> k) & 1) as u16) << plane;
                        }
                    }
                    let slot = (a * positions + p) * 2;
                    put(port.slots[slot], port.order[p], [v[0], v[1], v[2]]);
                    put(port.slots[slot + 1], port.order[p], [v[3], v[4], v[5]]);
                }
            }
        }
        OutputFormat::Rgb8 | OutputFormat::Canvas => {
            for (i, px) in bytes.chunks_exact(3).enumerate() {
                put(
                    port.slots[i],
                    port.order[i],
                    [px[0], px[1], px[2]].map(u16::from),
                );
            }
        }
        OutputFormat::Rgb16 => {
            for (i, px) in bytes.chunks_exact(6).enumerate() {
                let v = [0, 1, 2].map(|k| u16::from_be_bytes([px[2 * k], px[2 * k + 1]]));
                put(port.slots[i], port.order[i], v);
            }
        }
    }
}
