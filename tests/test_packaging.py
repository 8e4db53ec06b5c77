"""A non-editable install finds its templates and static files from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent

CHECK = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import httpx, solo
    from solo.app import create_app
    from solo.config import Settings
    from solo.instance import initialise

    assert solo.__file__.startswith(sys.argv[1]), solo.__file__

    async def main():
        settings = Settings(data_dir=Path(sys.argv[2]), domain="pkg.test", username="pkg")
        await initialise(settings, "package password")
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as c:
                page = await c.get("/login")
                css = await c.get("/static/style.css")
        assert page.status_code == 200 and "Log in to pkg.test" in page.text, page.text
        assert css.status_code == 200 and "--accent" in css.text
        print("ok")

    asyncio.run(main())
    """
)


def test_wheel_install_serves_templates_and_static(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(wheels),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = wheels.glob("solo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "solo/_templates/base.html" in names
    assert "solo/_static/style.css" in names
    assert "solo/migrations/0001_initial.sql" in names
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(site), str(elsewhere / "data")],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
