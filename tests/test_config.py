"""Settings: precedence, validation, and every setting documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from solo.config import Settings, load_settings, port_warning, setting_names
from solo.errors import SetupError

README = Path(__file__).parent.parent / "README.md"


def test_defaults_are_a_local_instance(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.domain == "localhost:8000"
    assert settings.scheme == "http"
    assert settings.base_url == "http://localhost:8000"
    assert settings.username == "me"
    assert settings.allow_private_addresses is False
    assert settings.secure_cookies is False


def test_a_public_domain_defaults_to_https(tmp_path: Path) -> None:
    settings = load_settings({"SOLO_DOMAIN": "social.example.org"}, data_dir=tmp_path)
    assert settings.base_url == "https://social.example.org"
    assert settings.secure_cookies is True


def test_environment_beats_toml_beats_defaults(tmp_path: Path) -> None:
    (tmp_path / "solo.toml").write_text(
        'domain = "toml.example"\nusername = "tomluser"\nport = 9000\nlocked = true\n'
    )
    settings = load_settings({"SOLO_USERNAME": "envuser", "SOLO_DATA_DIR": str(tmp_path)})
    assert settings.domain == "toml.example"
    assert settings.username == "envuser"
    assert settings.port == 9000
    assert settings.locked is True
    assert settings.data_dir == tmp_path


def test_flags_beat_the_environment(tmp_path: Path) -> None:
    settings = load_settings({"SOLO_PORT": "9000"}, data_dir=tmp_path, port=9100)
    assert settings.port == 9100


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SOLO_DOMAIN", "Bad Domain", "is not a host name"),
        ("SOLO_DOMAIN", "x.example/evil", "is not a host name"),
        ("SOLO_SCHEME", "ftp", "scheme must be http or https"),
        ("SOLO_USERNAME", "Alice!", "lowercase letters"),
        ("SOLO_PORT", "eighty", "SOLO_PORT: port must be a whole number"),
        ("SOLO_PORT", "70000", "out of range"),
        ("SOLO_LOCKED", "maybe", "SOLO_LOCKED: locked must be true or false"),
        ("SOLO_RESOLVE", "*.test", "is not pattern=address"),
    ],
)
def test_bad_values_are_explained(tmp_path: Path, variable: str, value: str, message: str) -> None:
    with pytest.raises(SetupError, match=re.escape(message)):
        load_settings({variable: value}, data_dir=tmp_path)


def test_toml_errors_are_explained(tmp_path: Path) -> None:
    (tmp_path / "solo.toml").write_text("colour = 'blue'\n")
    with pytest.raises(SetupError, match="unknown setting 'colour'"):
        load_settings({}, data_dir=tmp_path)
    (tmp_path / "solo.toml").write_text("domain = \n")
    with pytest.raises(SetupError, match=r"solo\.toml"):
        load_settings({}, data_dir=tmp_path)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(AttributeError):
        settings.domain = "other.example"  # type: ignore[misc]


def test_resolve_map(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, resolve="*.test=127.0.0.1, Peer.Example = ::1")
    assert settings.resolve_map == (("*.test", "127.0.0.1"), ("peer.example", "::1"))


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for name in setting_names():
        assert f"`SOLO_{name.upper()}`" in table, f"SOLO_{name.upper()} is not in the README"
        if name != "data_dir":
            assert f"`{name}`" in table, f"the solo.toml key {name} is not in the README"


def test_the_port_alone_moves_the_default_domain(tmp_path: Path) -> None:
    settings = load_settings({"SOLO_PORT": "9123"}, data_dir=tmp_path)
    assert (settings.domain, settings.port) == ("localhost:9123", 9123)
    assert settings.base_url == "http://localhost:9123"
    flagged = load_settings({}, data_dir=tmp_path, port=9124)
    assert flagged.base_url == "http://localhost:9124"
    assert port_warning(settings) is None
    chosen = load_settings(
        {"SOLO_PORT": "9123", "SOLO_DOMAIN": "social.example.org"}, data_dir=tmp_path
    )
    assert chosen.domain == "social.example.org"
    assert port_warning(chosen) is None  # behind a proxy


def test_a_local_domain_on_another_port_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "solo.toml").write_text('domain = "localhost:8000"\n')
    settings = load_settings({"SOLO_PORT": "9123"}, data_dir=tmp_path)
    assert (
        settings.domain == "localhost:8000"
    )  # chosen (by `solo init`): never changed behind one's back
    warning = port_warning(settings)
    assert warning is not None
    assert "says port 8000, but Solo serves port 9123" in warning
    assert "SOLO_DOMAIN=localhost:9123" in warning
    bare = load_settings({"SOLO_DOMAIN": "localhost", "SOLO_PORT": "8000"}, data_dir=tmp_path)
    assert "says port 80," in (port_warning(bare) or "")
