#!/usr/bin/env bash
# ledwall against its peers on this machine, in one run: ffmpeg's scaler, fast_image_resize
# alone, a plain per-bit pack loop, ledwall's stages and whole pipeline, and the machine's
# memory-bandwidth floor. Needs ffmpeg on PATH (or LEDWALL_FFMPEG) for the ffmpeg row.
#   benches/peers.sh            (RAYON_NUM_THREADS=N to change the thread count)
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -p ledwall-benches --example peers "$@"
