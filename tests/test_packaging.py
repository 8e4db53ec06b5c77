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
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), names
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


def make_dry_run(target: str) -> list[str]:
    """The commands `make TARGET` would run from nothing (no .venv yet), without running them."""
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "-C", str(ROOT), target, f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def test_make_run_installs_the_runtime_only_and_make_test_adds_the_test_tools() -> None:
    run = make_dry_run("run")
    installs = [line for line in run if "pip install" in line and "--upgrade pip" not in line]
    assert installs == [".venv/bin/python -m pip install --quiet -e ."], run
    assert not any("[test]" in line for line in run), run
    for target in ("test", "bench"):
        assert any("pip install" in line and "'.[test]'" in line for line in make_dry_run(target))


def test_make_finds_a_python_of_at_least_3_11_and_says_so_otherwise(tmp_path: Path) -> None:
    old = tmp_path / "python"
    old.write_text("#!/bin/sh\necho 'Python 3.9.2'\nexit 1\n")
    old.chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("")
    result = subprocess.run(
        ["make", "-f", str(ROOT / "Makefile"), "run", f"PYTHON={old}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert f"Solo needs Python 3.11 or newer: {old} is Python 3.9.2" in result.stdout
    assert not (tmp_path / ".venv").exists()


def test_the_raspberry_pi_recipe_installs_no_test_tools() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    recipe = readme.split("## Running it for real on a Raspberry Pi", 1)[1].split("\n## ", 1)[0]
    assert "make .venv/.installed" in recipe or "make run" in recipe
    assert "[test]" not in recipe
    runtime_rule = (ROOT / "Makefile").read_text().split("$(RUNTIME):", 1)[1].split("\n\n")[0]
    assert "[test]" not in runtime_rule


def test_the_licence_is_the_agpl_and_the_metadata_says_so() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("                    GNU AFFERO GENERAL PUBLIC LICENSE")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = "AGPL-3.0-or-later"' in pyproject
    assert 'license-files = ["LICENSE"]' in pyproject
