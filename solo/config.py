"""Settings: one frozen dataclass, read once from `SOLO_*` variables and `<data dir>/solo.toml`.

Precedence: environment, then solo.toml, then the defaults below. Every field is documented in
the README's configuration table (a test checks it).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from solo.errors import SetupError

USERNAME_RE = re.compile(r"^[a-z0-9_]{1,30}$")
DOMAIN_RE = re.compile(
    r"^(?=.{1,253}(:|$))([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(:[0-9]{1,5})?$"
)
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
MAX_ALLOWED_DOMAINS = 10_000
EVENT_LOOPS = ("auto", "asyncio", "uvloop")
TOML_NAME = "solo.toml"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    domain: str = "localhost:8000"
    scheme: str = ""  # "" → derived: http for localhost, https otherwise
    username: str = "me"
    display_name: str | None = None  # None → keep what the database has
    host: str = "127.0.0.1"
    port: int = 8000
    locked: bool | None = None  # None → keep what the database has
    allow_private_addresses: bool = False
    access_log: bool = False  # one log line per HTTP request, for debugging federation
    max_post_chars: int = 500
    max_upload_bytes: int = 16 * 1024 * 1024  # one uploaded file, as Mastodon's default
    media_cache_bytes: int = 1024 * 1024 * 1024  # remote files kept on disk before pruning
    # Remote posts nobody here touched are removed after this many days, with their cached
    # files (solo/store/retention.py); 0 keeps everything.
    retention_days: int = 90
    media_storage: str = "local"  # "local" (<data dir>/media) or "s3"
    s3_endpoint: str = ""  # e.g. https://s3.eu-west-1.amazonaws.com or a MinIO/Garage URL
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    # Test-only name resolution: "*.test=127.0.0.1,peer.example=127.0.0.1" (fnmatch patterns).
    resolve: str = ""
    # Secure mode: GETs of our posts and collections need an HTTP signature (Mastodon's
    # AUTHORIZED_FETCH). Limited federation implies it, as in Mastodon.
    authorized_fetch: bool = False
    limited_federation: bool = False  # federate only with `federation_allowlist`
    federation_allowlist: str = ""  # "a.example, b.example:8443" (subdomains included)
    # Litestream replicates the database: Solo leaves every checkpoint of the WAL to it.
    litestream: bool = False
    # Bearer token for /metrics and /server.json (monitoring); "" → /metrics answers 404.
    metrics_token: str = ""
    # "auto": uvloop's event loop when it is installed (`solo[fast]`), asyncio's otherwise;
    # "asyncio" or "uvloop" to choose (uvloop then must be installed).
    event_loop: str = "auto"
    # Bursts of signatures (a fan-out, a viral post's first contacts) signed in a helper process
    # where Solo has two cores or more (solo/federation/batch_signing.py); False: on threads.
    signing_process: bool = True

    def __post_init__(self) -> None:
        if not DOMAIN_RE.match(self.domain):
            raise SetupError(
                f"domain {self.domain!r} is not a host name (lowercase, optional :port)"
            )
        if not self.scheme:
            hostname = self.domain.rsplit(":", 1)[0] if ":" in self.domain else self.domain
            local = hostname in LOCAL_HOSTS or hostname.endswith(".localhost")
            object.__setattr__(self, "scheme", "http" if local else "https")
        if self.scheme not in ("http", "https"):
            raise SetupError(f"scheme must be http or https, not {self.scheme!r}")
        if not USERNAME_RE.match(self.username):
            raise SetupError(
                f"username {self.username!r} must be 1-30 lowercase letters, digits or _"
            )
        if not 1 <= self.max_post_chars <= 100_000:
            raise SetupError(f"max_post_chars {self.max_post_chars} is not between 1 and 100000")
        if not 1024 <= self.max_upload_bytes <= 1024 * 1024 * 1024:
            raise SetupError(
                f"max_upload_bytes {self.max_upload_bytes} is not between 1024 and 1073741824"
            )
        if self.media_cache_bytes < 0:
            raise SetupError(f"media_cache_bytes {self.media_cache_bytes} is negative")
        if not 0 <= self.retention_days <= 36_500:
            raise SetupError(
                f"retention_days {self.retention_days} is not between 0 (keep all) and 36500"
            )
        if self.media_storage not in ("local", "s3"):
            raise SetupError(f"media_storage must be local or s3, not {self.media_storage!r}")
        if self.media_storage == "s3":
            for name in ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key"):
                if not getattr(self, name):
                    raise SetupError(f"media_storage is s3 but {name} is empty")
            if not self.s3_endpoint.startswith(("http://", "https://")):
                raise SetupError(f"s3_endpoint {self.s3_endpoint!r} is not an http(s) URL")
        if not 0 < self.port < 65536:
            raise SetupError(f"port {self.port} is out of range")
        for item in self.resolve.split(","):
            if item.strip() and ("=" not in item or not item.split("=", 1)[1].strip()):
                raise SetupError(f"resolve entry {item.strip()!r} is not pattern=address")
        if self.display_name is not None and len(self.display_name) > 100:
            raise SetupError("display_name is longer than 100 characters")
        if self.event_loop not in EVENT_LOOPS:
            raise SetupError(
                f"event_loop must be {', '.join(EVENT_LOOPS)}, not {self.event_loop!r}"
            )
        if self.metrics_token and len(self.metrics_token) < 16:
            raise SetupError("metrics_token is shorter than 16 characters: too easy to guess")
        self.allowed_domains  # noqa: B018 - parsed now, so that a bad entry stops the start

    @property
    def secure_fetch(self) -> bool:
        """Whether GETs of our posts and collections need a signature."""
        return self.authorized_fetch or self.limited_federation

    @cached_property
    def allowed_domains(self) -> frozenset[str]:
        """`federation_allowlist` parsed: lowercase domains, each maybe with a port."""
        return _domain_list(self.federation_allowlist, "federation_allowlist")

    def federates_with(self, authority: str) -> bool:
        """Whether we may exchange activities with the server at `authority` (host[:port]):
        always, unless limited federation is on; then our own domain and the allowlist, with
        their subdomains (an allowed domain controls those anyway)."""
        if not self.limited_federation:
            return True
        authority = authority.lower()
        if authority == self.domain:
            return True
        allowed = self.allowed_domains
        if authority in allowed:
            return True
        hostname = authority.rsplit(":", 1)[0] if ":" in authority else authority
        parts = hostname.split(".")
        return any(".".join(parts[i:]) in allowed for i in range(len(parts)))

    @cached_property
    def resolve_map(self) -> tuple[tuple[str, str], ...]:
        """`resolve` parsed into (host pattern, address) pairs, in order (once: every
        delivery's connection asks)."""
        pairs = []
        for item in self.resolve.split(","):
            if item.strip():
                pattern, _, address = item.partition("=")
                pairs.append((pattern.strip().lower(), address.strip()))
        return tuple(pairs)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "solo.db"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def secure_cookies(self) -> bool:
        return self.scheme == "https"


def _domain_list(text: str, name: str) -> frozenset[str]:
    """A comma list of domains, each checked: a URL, a wildcard or an address is refused by name
    rather than silently never matching."""
    domains: set[str] = set()
    for item in text.split(","):
        domain = item.strip().lower().rstrip(".")
        if not domain:
            continue
        if "://" in domain or "/" in domain:
            raise SetupError(f"{name}: {item.strip()!r} is a URL; give the domain alone")
        if "*" in domain:
            raise SetupError(
                f"{name}: {item.strip()!r} has a wildcard; a domain includes its subdomains"
            )
        if len(domains) >= MAX_ALLOWED_DOMAINS:
            raise SetupError(f"{name} names more than {MAX_ALLOWED_DOMAINS} domains")
        if not DOMAIN_RE.match(domain):
            raise SetupError(f"{name}: {item.strip()!r} is not a domain (optional :port)")
        domains.add(domain)
    return frozenset(domains)


def setting_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Settings)]


def _coerce(name: str, raw: Any, source: str) -> Any:
    field_type = {f.name: f.type for f in dataclasses.fields(Settings)}[name]
    text_type = str(field_type)
    if "bool" in text_type:
        if isinstance(raw, bool):
            return raw
        value = str(raw).strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise SetupError(f"{source}: {name} must be true or false, not {raw!r}")
    if "int" in text_type:
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise SetupError(f"{source}: {name} must be a whole number, not {raw!r}") from None
    if "Path" in text_type:
        return Path(str(raw))
    if not isinstance(raw, str):
        raise SetupError(f"{source}: {name} must be a string, not {raw!r}")
    return raw


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the settings once: `overrides` (command-line flags) > SOLO_* > solo.toml > defaults."""
    env = os.environ if environ is None else environ
    names = setting_names()
    values: dict[str, Any] = {}
    data_dir = overrides.get("data_dir") or env.get("SOLO_DATA_DIR") or Settings.data_dir
    data_dir = Path(data_dir)
    toml_path = data_dir / TOML_NAME
    if toml_path.is_file():
        try:
            document = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise SetupError(f"{toml_path}: {error}") from None
        for key, raw in document.items():
            if key not in names or key == "data_dir":
                raise SetupError(f"{toml_path}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, str(toml_path))
    for name in names:
        variable = f"SOLO_{name.upper()}"
        if variable in env:
            values[name] = _coerce(name, env[variable], variable)
    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _coerce(name, raw, f"--{name.replace('_', '-')}")
    values["data_dir"] = data_dir
    if "domain" not in values and "port" in values:
        # No domain chosen anywhere: the default one is this machine, on the port served.
        values["domain"] = f"localhost:{values['port']}"
    return Settings(**values)


def port_warning(settings: Settings) -> str | None:
    """What is wrong when a domain on this machine names another port than the one served: every
    link and id would then point at a port where nothing answers."""
    hostname, _, port = settings.domain.partition(":")
    if not (hostname in LOCAL_HOSTS or hostname.endswith(".localhost")):
        return None  # a public domain sits behind a proxy, whatever port Solo binds
    named = int(port) if port else (443 if settings.scheme == "https" else 80)
    if named == settings.port:
        return None
    return (
        f"the domain {settings.domain} says port {named}, but Solo serves port {settings.port}:"
        f" links will point where nothing answers. Set SOLO_DOMAIN=localhost:{settings.port}"
        f" (or domain in {settings.data_dir / TOML_NAME}), or serve port {named}"
    )


def write_toml(settings: Settings, names: list[str]) -> Path:
    """Record chosen settings in <data dir>/solo.toml so later commands need no variables."""
    lines = ["# Written by `solo init`. Environment variables SOLO_* take precedence.\n"]
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, bool):
            lines.append(f"{name} = {'true' if value else 'false'}\n")
        elif isinstance(value, int):
            lines.append(f"{name} = {value}\n")
        else:
            escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name} = "{escaped}"\n')
    path = settings.data_dir / TOML_NAME
    path.write_text("".join(lines), encoding="utf-8")
    return path
