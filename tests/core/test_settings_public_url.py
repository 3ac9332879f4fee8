"""Tocsin's public base URL for links in notifications: flag, environment, default."""

from __future__ import annotations

import pytest

from core.settings import parse_settings


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        # Nothing given: the listen address.
        ([], {}, "http://127.0.0.1:9797"),
        # Listening on every interface: links still need an address a browser can open.
        (["--host", "0.0.0.0", "--port", "8080"], {}, "http://127.0.0.1:8080"),  # noqa: S104
        # An IPv6 address is bracketed.
        (["--host", "::1"], {}, "http://[::1]:9797"),
        # The environment, trailing slash dropped.
        ([], {"TOCSIN_PUBLIC_URL": "https://tocsin.example/"}, "https://tocsin.example"),
        # The flag wins over the environment.
        (
            ["--public-url", "https://a.example"],
            {"TOCSIN_PUBLIC_URL": "https://b.example"},
            "https://a.example",
        ),
    ],
)
def test_the_public_base_url(argv: list[str], env: dict[str, str], expected: str) -> None:
    assert parse_settings(argv, env).public_base_url == expected


def test_a_public_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match=r"--public-url .tocsin\.example. is not an http"):
        parse_settings(["--public-url", "tocsin.example"], {})
