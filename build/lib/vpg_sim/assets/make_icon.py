"""Draws assets/icon.png (a cart balancing a pole), 64x64. Run once: python assets/make_icon.py"""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE, SCALE = 64, 8  # drawn 8x larger, then downsampled: smooth edges
BACKGROUND, TRACK, CART, POLE, ACCENT = "#14171c", "#5b6472", "#e6e8eb", "#f28e2b", "#4c9be8"

image = Image.new("RGBA", (SIZE * SCALE, SIZE * SCALE), (0, 0, 0, 0))
draw = ImageDraw.Draw(image)
s = SCALE
draw.rounded_rectangle((2 * s, 2 * s, 62 * s, 62 * s), radius=14 * s, fill=BACKGROUND)
draw.line((8 * s, 50 * s, 56 * s, 50 * s), fill=TRACK, width=2 * s)
draw.rounded_rectangle((19 * s, 38 * s, 45 * s, 49 * s), radius=3 * s, fill=CART)
draw.line((32 * s, 40 * s, 40 * s, 11 * s), fill=POLE, width=5 * s)
draw.ellipse((29 * s, 37 * s, 35 * s, 43 * s), fill=ACCENT)
image.resize((SIZE, SIZE), Image.LANCZOS).save(Path(__file__).with_name("icon.png"))
