#!/usr/bin/env python3
"""Write the 1920x1080 photograph-like BMP that `ledwall bench --input` timed for the 1080p
figures in docs/PERFORMANCE.md: gradients, a checkerboard of hard edges, a disc and grain
(deterministic; standard library only).

    python3 benches/make-photo-1080p.py /tmp/photo-1920x1080.bmp
"""
import math
import random
import struct
import sys

W, H = 1920, 1080


def main(path):
    random.seed(3)
    rows = []
    for y in range(H):
        row = bytearray(W * 3)
        for x in range(W):
            n = random.randint(-12, 12)
            b = int(128 + 100 * math.sin(x / 97.0) * math.cos(y / 61.0)) + n
            g = int((x * 255) // W * 0.7 + (y * 255) // H * 0.3) + n
            r = (200 if ((x // 240) + (y // 180)) % 2 else 60) + n
            if (x - 900) ** 2 + (y - 500) ** 2 < 200**2:
                r, g, b = 250 - (x % 37), 40 + (y % 53), 30 + n
            row[x * 3 : x * 3 + 3] = bytes(max(0, min(255, v)) for v in (b, g, r))
        rows.append(bytes(row))
    data = b"".join(reversed(rows))  # BMP rows run bottom-up; 5760-byte rows need no padding
    header = b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54)
    header += struct.pack("<IiiHHIIiiII", 40, W, H, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    with open(path, "wb") as f:
        f.write(header + data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "photo-1920x1080.bmp")
