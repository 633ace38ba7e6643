"""Scope rules and the frontier's canonical URLs, as pure functions."""

from __future__ import annotations

import pytest

from hotline.errors import InvalidInput
from hotline.proactive.scope import (
    Refusal,
    ScopeCheck,
    ScopeKind,
    ScopeRules,
    canonical,
    registrable_domain,
    validate_rules,
)


def _refuse(
    url: str, seed: str = "www.example.org", depth: int = 1, **rules: object
) -> Refusal | None:
    link = canonical(url)
    assert link is not None
    return ScopeCheck(ScopeRules(**rules), seed).refuse(link, depth)  # type: ignore[arg-type]


def test_third_party_tools_are_refused_even_inside_the_scope() -> None:
    # A crawl of bing.com's own domain still never follows its image search.
    assert (
        _refuse("https://www.bing.com/images/search?q=x", seed="bing.com", kind=ScopeKind.domain)
        is Refusal.third_party_tool
    )
    assert (
        _refuse(
            "https://web.archive.org/web/2020/https://www.example.org/",
            seed="archive.org",
            kind=ScopeKind.domain,
        )
        is Refusal.third_party_tool
    )
    assert (
        _refuse("https://mirror.example.org/x", kind=ScopeKind.domain, deny=("mirror.example.org",))
        is Refusal.third_party_tool
    )
    assert _refuse("https://mirror.example.org/x", kind=ScopeKind.domain) is None


def test_host_and_domain_scope_depth_skip_and_traps() -> None:
    assert _refuse("https://cdn.example.org/a") is Refusal.out_of_scope
    assert _refuse("https://cdn.example.org/a", kind=ScopeKind.domain) is None
    assert _refuse("https://www.example.com/a", kind=ScopeKind.domain) is Refusal.out_of_scope
    assert _refuse("https://www.example.org/a", depth=4, max_depth=3) is Refusal.too_deep
    assert _refuse("https://www.example.org/logout?x=1", skip=("^/logout",)) is Refusal.skip_pattern
    assert _refuse("https://www.example.org/a/b/a/b/a/") is Refusal.trap
    check = ScopeCheck(ScopeRules(max_query_variants=2), "www.example.org")
    refusals = [check.refuse(canonical(f"https://www.example.org/cal?d={d}"), 1) for d in range(4)]  # type: ignore[arg-type]
    assert refusals == [None, None, Refusal.trap, Refusal.trap]


def test_canonical_drops_session_ids_and_sorts_the_query() -> None:
    a = canonical("HTTP://WWW.Example.org:80/p;jsessionid=AB12?b=2&sid=9&a=1#top")
    b = canonical("http://www.example.org/p?a=1&b=2")
    assert a is not None and b is not None and a.url == b.url == "http://www.example.org/p?a=1&b=2"
    assert a.key == b.key
    assert canonical("mailto:someone@example.org") is None
    assert canonical("http://[::1/") is None
    assert canonical("http://www.example.org:8080/").netloc == "www.example.org:8080"  # type: ignore[union-attr]


def test_registrable_domains() -> None:
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("www.example.org") == "example.org"
    assert registrable_domain("192.0.2.7") == "192.0.2.7"


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"kind": "world"}, "scope"),
        ({"max_depth": 51}, "max_depth"),
        ({"max_pages": 0}, "max_pages"),
        ({"skip": ["(unclosed"]}, "skip"),
        ({"skip": ["x"] * 51}, "skip"),
        ({"deny": ["not a host!"]}, "deny"),
    ],
)
def test_bad_rules_are_refused(rules: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_rules(**rules)  # type: ignore[arg-type]
    assert field in {f.field for f in refused.value.fields}
