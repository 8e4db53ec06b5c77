"""Media: one 12-megapixel phone photo through `process_upload_async`.

    python -m bench media

The photo (4000×3000 JPEG, gradients under noise so that it compresses like a photo, EXIF with
GPS and Orientation=6) is made once. Each run is a fresh `python -m bench.media PATH` process,
so that the memory figure is that upload's alone: it imports everything and reads the file,
notes VmRSS, processes the upload while a ticker task measures how late the event loop wakes
it, then reads VmHWM (the high-water mark). Extra memory = VmHWM after − VmRSS before.
Targets: ≤ 1 s, ≤ 100 MB extra.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageChops

from bench import summary
from bench.procs import pin_solo
from solo.media.upload import process_upload_async

RUNS = 5
SIZE = (4000, 3000)
TARGET_SECONDS = 1.0
TARGET_EXTRA_MB = 100.0
TICK = 0.005


def make_photo() -> bytes:
    width, height = SIZE
    layers = []
    for gradient in (
        Image.linear_gradient("L"),
        Image.radial_gradient("L"),
        Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90),
    ):
        noise = Image.effect_noise(SIZE, 48)
        layers.append(ImageChops.blend(gradient.resize(SIZE), noise, 0.35))
    photo = Image.merge("RGB", layers)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchCam"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    assert width * height == 12_000_000
    return buffer.getvalue()


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


async def _one(data: bytes) -> dict[str, Any]:
    """In the child: process the upload once, with a ticker measuring event loop lag."""
    lag = 0.0
    done = False

    async def ticker() -> None:
        nonlocal lag
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            lag = max(lag, time.perf_counter() - before - TICK)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    rss_before = _status_mb("VmRSS")
    started = time.perf_counter()
    result = await process_upload_async(data, filename="photo.jpg", max_bytes=16 * 1024 * 1024)
    elapsed = time.perf_counter() - started
    hwm_after = _status_mb("VmHWM")
    done = True
    await ticking
    return {
        "seconds": elapsed,
        "extra_mb": hwm_after - rss_before,
        "baseline_mb": rss_before,
        "lag_ms": lag * 1000,
        "stored": f"{result.width}×{result.height}",
        "stored_kb": len(result.data) // 1024,
        "thumbnail_kb": len(result.thumbnail or b"") // 1024,
        "gps_left": b"BenchCam" in result.data,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        path.write_bytes(make_photo())
        size_mb = path.stat().st_size / 1024 / 1024
        runs = []
        for _ in range(RUNS):
            # Solo's upload code in a fresh process, on Solo's cores under --cores.
            child = subprocess.Popen(
                [sys.executable, "-m", "bench.media", str(path)],
                stdout=subprocess.PIPE,
                text=True,
            )
            pin_solo(child.pid)
            output, _ = child.communicate(timeout=120)
            if child.returncode:
                raise RuntimeError(f"bench.media exited with {child.returncode}")
            runs.append(json.loads(output))
    seconds = [run["seconds"] for run in runs]
    extra = [run["extra_mb"] for run in runs]
    lag = [run["lag_ms"] for run in runs]
    first = runs[0]
    print(
        f"media: a {SIZE[0]}×{SIZE[1]} JPEG ({size_mb:.1f} MB, EXIF with GPS, orientation 6) "
        f"through process_upload_async, {RUNS} fresh processes"
    )
    print(
        f"  stored {first['stored']} ({first['stored_kb']} KB), thumbnail "
        f"{first['thumbnail_kb']} KB, metadata left: {'YES' if first['gps_left'] else 'none'}"
    )
    print(f"  {'':<22}{'median':>10}{'max':>10}{'target':>10}")
    rows = (
        ("wall time (s)", seconds, TARGET_SECONDS, "{:.3f}"),
        ("extra peak RSS (MB)", extra, TARGET_EXTRA_MB, "{:.1f}"),
        ("event loop lag (ms)", lag, None, "{:.1f}"),
    )
    for name, values, target, fmt in rows:
        verdict = ""
        if target is not None:
            verdict = summary.verdict(
                f"12 MP upload, {name}, max of {RUNS}",
                fmt.format(max(values)),
                "≤ " + fmt.format(target),
                max(values) <= target,
            )
        target_text = fmt.format(target) if target is not None else "—"
        print(
            f"  {name:<22}{fmt.format(statistics.median(values)):>10}"
            f"{fmt.format(max(values)):>10}{target_text:>10}  {verdict}"
        )
    print(f"  (extra = VmHWM after − VmRSS before; VmRSS before: {first['baseline_mb']:.1f} MB)")


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_one(Path(sys.argv[1]).read_bytes()))))
