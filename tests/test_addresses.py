"""The address policy (FEDERATION.md rule 35) and the strict URL and host name parsing."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from solo.config import Settings
from solo.net.addresses import (
    AddressRefused,
    check_target,
    check_url,
    checked_addresses,
    is_allowed_address,
    is_public_address,
    resolve,
)

REFUSED = [
    # One address inside, and the edges of, each IPv4 special-purpose range.
    "0.0.0.0",
    "0.255.255.255",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.255",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",  # cloud metadata
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",  # is_global says True
    "192.0.0.170",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",  # multicast; is_global says True
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6: outside 2000::/3, or inside one of its refused blocks.
    "::",
    "::1",
    "::127.0.0.1",  # deprecated IPv4-compatible form
    "::ffff:127.0.0.1",  # IPv4-mapped: judged as 127.0.0.1
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1; is_global says True
    "64:ff9b::808:808",  # NAT64 even of a public address: it reaches through a gateway
    "100::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
    "2001::1",  # Teredo
    "2001:1ff:ffff::1",  # end of 2001::/23
    "2001:db8::1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1; is_global says True
    "2002:808:808::1",
    "4000::1",
]

PUBLIC = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.1",
    "192.88.98.255",
    "192.169.0.1",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2001:200::1",  # just after 2001::/23
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "2a01:4f8::1",
    "3fff:ffff::1",
    "::ffff:8.8.8.8",  # IPv4-mapped public address
]


@pytest.mark.parametrize("text", REFUSED)
def test_special_purpose_addresses_are_not_public(text: str) -> None:
    assert not is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_global_unicast_addresses_are_public(text: str) -> None:
    assert is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", ["127.0.0.1", "10.0.0.1", "::1", "fd00::1", "::ffff:127.0.0.1"])
def test_private_addresses_pass_only_when_allowed(text: str) -> None:
    ip = ipaddress.ip_address(text)
    assert is_allowed_address(ip, allow_private=True)
    assert not is_allowed_address(ip, allow_private=False)


@pytest.mark.parametrize("text", ["0.0.0.0", "::", "::ffff:0.0.0.0", "224.0.0.1", "ff02::1"])
def test_unspecified_and_multicast_are_refused_even_when_private_is_allowed(text: str) -> None:
    assert not is_allowed_address(ipaddress.ip_address(text), allow_private=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/", "only https"),
        ("ftp://example.com/", "only https"),
        ("file:///etc/passwd", "only https"),
        ("example.com/users/bob", "only https"),
        ("//example.com/users/bob", "only https"),
        ("https://", "not a valid host name"),
        ("https:///users/bob", "not a valid host name"),
        ("https://user@example.com/", "user name"),
        ("https://user:secret@example.com/", "user name"),
        ("https://mastodon.social@evil.example/", "user name"),
        ("https://mastodon.so\\cial/", "not a valid host name"),
        ("https://exa_mple.com/", "not a valid host name"),
        ("https://exa%41mple.com/", "not a valid host name"),
        ("https://exam ple.com/", "not a valid host name"),
        ("https://example.com./", "not a valid host name"),
        ("https://a..b/", "not a valid host name"),
        ("https://-a.example/", "not a valid host name"),
        ("https://ＥＸＡＭＰＬＥ.com/", "not a valid URL"),
        ("https://ex\u00adample.com/", "not a valid URL"),
        ("https://example.com\t/", "not a valid URL"),
        ("https://" + "a" * 64 + ".example/", "not a valid host name"),
        ("https://example.com:99999/", "out of range"),
        ("https://example.com:0/", "out of range"),
        ("https://127.0.0.1/", "not a public address"),
        ("https://10.0.0.1:8443/", "not a public address"),
        ("https://[::1]/", "not a public address"),
        ("https://[::ffff:127.0.0.1]/", "not a public address"),
        ("https://[64:ff9b::7f00:1]/", "not a public address"),
        ("https://[fe80::1%25eth0]/", "not a public address"),
        ("https://2130706433/", "neither a host name"),
        ("https://127.1/", "neither a host name"),
        ("https://0x7f.0.0.1/", "neither a host name"),
    ],
)
def test_refused_urls(url: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=reason):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/users/Bob", "https://example.com/users/Bob"),
        ("HTTPS://Mastodon.Social/@Gargron", "https://mastodon.social/@Gargron"),
        ("https://évil.example/x", "https://xn--vil-9la.example/x"),
        ("https://xn--e1afmkfd.xn--p1ai/", "https://xn--e1afmkfd.xn--p1ai/"),
        ("https://example.com:8443/inbox", "https://example.com:8443/inbox"),
        ("https://8.8.8.8/x", "https://8.8.8.8/x"),
        ("https://[2001:4860:4860::8888]/x", "https://[2001:4860:4860::8888]/x"),
        ("https://localhost/", "https://localhost/"),  # a name: judged by what it resolves to
    ],
)
def test_accepted_urls_are_normalised(url: str, expected: str) -> None:
    assert str(check_url(url, allow_private=False)) == expected


def test_allowing_private_addresses_allows_http_and_local_literals() -> None:
    assert str(check_url("http://127.0.0.1:8000/x", allow_private=True)) == (
        "http://127.0.0.1:8000/x"
    )
    assert check_url("http://peer.test/", allow_private=True).host == "peer.test"
    with pytest.raises(AddressRefused, match="not a public address"):
        check_url("http://0.0.0.0:8000/", allow_private=True)
    with pytest.raises(AddressRefused, match="user name"):
        check_url("http://me@peer.test/", allow_private=True)
    with pytest.raises(AddressRefused, match="only http or https"):
        check_url("gopher://peer.test/", allow_private=True)


def test_one_refused_address_refuses_the_host() -> None:
    public = ipaddress.ip_address("93.184.216.34")
    inside = ipaddress.ip_address("10.0.0.5")
    assert checked_addresses("a.example", [public, public], allow_private=False) == [public]
    with pytest.raises(AddressRefused, match=r"a\.example resolves to 10\.0\.0\.5"):
        checked_addresses("a.example", [public, inside], allow_private=False)
    with pytest.raises(AddressRefused, match="no address"):
        checked_addresses("a.example", [], allow_private=False)


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(data_dir=tmp_path, domain="solo.test", username="alice", **values)


async def test_resolve_setting_is_checked_like_dns(tmp_path: Path) -> None:
    local = ipaddress.ip_address("127.0.0.1")
    allowed = make_settings(tmp_path, allow_private_addresses=True, resolve="*.test=127.0.0.1")
    assert await resolve("anything.test", 443, allowed) == [local]
    assert await resolve("deep.sub.peer.test", 443, allowed) == [local]

    refused = make_settings(tmp_path, resolve="*.test=127.0.0.1")
    with pytest.raises(AddressRefused, match=r"anything\.test resolves to 127\.0\.0\.1"):
        await resolve("anything.test", 443, refused)

    wrong = make_settings(tmp_path, allow_private_addresses=True, resolve="*.test=peer.example")
    with pytest.raises(AddressRefused, match="not an IP address"):
        await resolve("anything.test", 443, wrong)


async def test_resolve_takes_literals_as_they_are_and_checks_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert await resolve("8.8.8.8", 443, settings) == [ipaddress.ip_address("8.8.8.8")]
    with pytest.raises(AddressRefused):
        await resolve("::1", 443, settings)
    with pytest.raises(AddressRefused, match="not a valid host name"):
        await resolve("bad_name.example", 443, settings)


async def test_names_from_the_system_resolver_are_checked(tmp_path: Path) -> None:
    # localhost comes from /etc/hosts, so this needs no network.
    with pytest.raises(AddressRefused, match="localhost resolves to"):
        await resolve("localhost", 443, make_settings(tmp_path))
    addresses = await resolve(
        "localhost", 443, make_settings(tmp_path, allow_private_addresses=True)
    )
    assert all(ip.is_loopback for ip in addresses)


TARGET_URLS = [
    "https://mastodon.example/inbox",
    "https://mastodon.example/users/alice/inbox",
    "https://mastodon.example:443/inbox",
    "https://mastodon.example:8443/inbox",
    "https://mastodon.example:0443/inbox",
    "https://mastodon.example",
    "https://mastodon.example/",
    "https://mastodon.example//inbox",
    "https://mastodon.example/a_b~c-d.e/inbox",
    "https://mastodon.example/./inbox",
    "https://mastodon.example/a/../inbox",
    "https://mastodon.example/.well-known/x",
    "https://mastodon.example/inbox?x=1",
    "https://mastodon.example/in%20box",
    "https://mastodon.example/in box",
    "https://mastodon.example/ïnbox",
    "https://Mastodon.Example/inbox",
    "https://mastodon.example./inbox",
    "https://xn--bcher-kva.example/inbox",
    "https://bücher.example/inbox",
    "https://user@mastodon.example/inbox",
    "https://mastodon.example:0/inbox",
    "https://mastodon.example:65536/inbox",
    "https://mastodon.example:99999/inbox",
    "https://mastodon.example:/inbox",
    "https://mastodon.example#x",
    "https://mastodon.123/inbox",
    "https://2130706433/inbox",
    "https://127.1/inbox",
    "https://127.0.0.1/inbox",
    "https://93.184.215.14/inbox",
    "https://93.184.215.14:8080/inbox",
    "https://[2606:4700::1]/inbox",
    "https://[::1]/inbox",
    "https://-bad.example/inbox",
    "https://bad-.example/inbox",
    "https://a..b/inbox",
    "http://mastodon.example/inbox",
    "http://mastodon.example:80/inbox",
    "ftp://mastodon.example/inbox",
    "https:/mastodon.example/inbox",
    "https://mastodon.example\\@evil.example/inbox",
    "https://mastodon.example%2F@evil.example/",
]


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("url", TARGET_URLS)
def test_check_target_reads_every_url_as_check_url_does(url: str, allow_private: bool) -> None:
    """The delivery's fast reading of an inbox URL gives what httpx's parser gives, or refuses
    what `check_url` refuses."""
    try:
        parsed = check_url(url, allow_private=allow_private)
    except AddressRefused:
        with pytest.raises(AddressRefused):
            check_target(url, allow_private=allow_private)
        return
    target = check_target(url, allow_private=allow_private)
    assert target.scheme == parsed.scheme
    assert target.host == parsed.raw_host.decode("ascii")
    assert target.port == parsed.port
    assert target.path == parsed.raw_path.decode("ascii")
    assert target.netloc == parsed.netloc.decode("ascii")
