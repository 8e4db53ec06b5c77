"""Draws Solo's icons into static/icons/: a ring around a dot (one person, one server) in white
on the accent colour. Run with the project's Python after changing the mark:

    .venv/bin/python tools/make_icons.py

The SVG favicon is written by hand beside them (static/icons/favicon.svg) with the same geometry.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ACCENT = (74, 71, 201, 255)  # --accent of static/style.css
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
SCALE = 4  # drawn larger, then reduced: smooth edges without an antialiasing renderer


def mark(size: int, *, rounded: bool) -> Image.Image:
    """The icon at `size` pixels. `rounded`: a rounded square on transparency; else the colour
    fills the square (maskable icons and Apple's, which the system crops itself)."""
    big = size * SCALE
    unit = big / 512
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if rounded:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(112 * unit), fill=ACCENT)
    else:
        draw.rectangle((0, 0, big, big), fill=ACCENT)
    centre = big / 2
    outer, width, dot = 172 * unit, 44 * unit, 56 * unit
    draw.ellipse(
        (centre - outer, centre - outer, centre + outer, centre + outer),
        outline=WHITE,
        width=round(width),
    )
    draw.ellipse((centre - dot, centre - dot, centre + dot, centre + dot), fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    mark(192, rounded=True).save(OUT / "icon-192.png", optimize=True)
    mark(512, rounded=True).save(OUT / "icon-512.png", optimize=True)
    mark(512, rounded=False).save(OUT / "icon-maskable-512.png", optimize=True)
    mark(192, rounded=False).save(OUT / "icon-maskable-192.png", optimize=True)
    mark(180, rounded=False).save(OUT / "apple-touch-icon.png", optimize=True)
    mark(48, rounded=True).save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
