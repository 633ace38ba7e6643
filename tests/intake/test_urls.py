import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.intake.urls import MAX_URL_LENGTH, UrlError, normalise_url, parse_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Example.COM/Path", "https://www.example.com/Path"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#section", "https://example.com/a"),
        (
            "https://example.com/a?utm_source=x&id=7&fbclid=abc&gclid=1",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?UTM_Medium=x", "https://example.com/a"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/%7euser/%2f", "https://example.com/~user/%2F"),
        ("https://example.com/a b".replace(" ", "%20"), "https://example.com/a%20b"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("http://8.8.8.8/x", "http://8.8.8.8/x"),
        ("http://[2001:4860:4860:0:0:0:0:8888]/", "http://[2001:4860:4860::8888]/"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),  # order kept
    ],
)
def test_normalisation(raw: str, expected: str) -> None:
    assert normalise_url(raw).url == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "enter the web address"),
        ("example.com/page", "full address"),
        ("/relative/path", "full address"),
        ("ftp://example.com/file", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("data:text/html,hi", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("https://user:pass@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "longer than 2048"),
        ("http://127.0.0.1/", "private or local"),
        ("http://127.1/", "private or local"),
        ("http://2130706433/", "private or local"),  # decimal spelling of 127.0.0.1
        ("http://0x7f000001/", "private or local"),  # hex
        ("http://0177.0.0.1/", "private or local"),  # octal
        ("http://0.0.0.0/", "private or local"),
        ("http://10.1.2.3/", "private or local"),
        ("http://172.16.0.1/", "private or local"),
        ("http://192.168.1.1/", "private or local"),
        ("http://169.254.169.254/latest/meta-data", "private or local"),
        ("http://[::1]/", "private or local"),
        ("http://[fc00::1]/", "private or local"),
        ("http://[fe80::1]/", "private or local"),
        ("http://[::ffff:127.0.0.1]/", "private or local"),
        ("http://[::ffff:10.0.0.1]/", "private or local"),
        ("http://224.0.0.1/", "private or local"),
        ("http://localhost/", "not a public web address"),
        ("http://printer.local/", "private or local"),
        ("http://intranet/", "not a public web address"),
        ("https://exa mple.com/", "spaces or control"),
        ("https://example.com/\x00", "spaces or control"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://-bad-.com/", "host name is not valid"),
        ("http://256.1.1.1/", "not a valid IP address"),
        ("http://[not-ipv6]/", "not a valid"),
    ],
)
def test_refused(raw: str, reason: str) -> None:
    with pytest.raises(UrlError, match=reason):
        normalise_url(raw)


_host = st.from_regex(r"[a-z][a-z0-9]{0,10}\.(com|org|example|net)", fullmatch=True)
_path = st.lists(st.from_regex(r"[A-Za-z0-9._~%-]{0,8}", fullmatch=True), max_size=5)


@given(host=_host, path=_path, scheme=st.sampled_from(["http", "HTTP", "https", "HTTPS"]))
def test_normalising_twice_changes_nothing(host: str, path: list[str], scheme: str) -> None:
    raw = f"{scheme}://{host.upper()}/{'/'.join(path)}?utm_source=a&k=v#frag"
    try:
        once = normalise_url(raw)
    except UrlError:
        return  # stray % escapes make some generated paths invalid; refusal is fine
    assert normalise_url(once.url) == once
    assert "#" not in once.url and "utm_" not in once.url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The key keeps what servers may treat as meaningful: "+", a bare flag, a stray "%".
        ("https://example.com/s?q=a+b", "https://example.com/s?q=a+b"),
        ("https://example.com/s?flag", "https://example.com/s?flag"),
        ("https://example.com/s?flag&utm_source=x", "https://example.com/s?flag"),
        ("https://example.com/%zz", "https://example.com/%25zz"),
        ("https://example.com/s?", "https://example.com/s"),
        ("https://example.com/s?q=%c3%a9", "https://example.com/s?q=%C3%A9"),
        ("https://xn--ls8h.la/", "https://xn--ls8h.la/"),  # a real emoji domain
        ("https://my_site.example.com/", "https://my_site.example.com/"),
    ],
)
def test_the_key_keeps_the_query_as_written(raw: str, expected: str) -> None:
    assert normalise_url(raw).url == expected


@pytest.mark.parametrize(
    "host", ["xn--a-", "xn--", "xn--a", "xn--a-.example.com", "a.xn--.example.com", "a..com"]
)
def test_malformed_idna_and_empty_labels_are_refused(host: str) -> None:
    with pytest.raises(UrlError, match="host name is not valid"):
        parse_url(f"http://{host}/x.png")


@pytest.mark.parametrize(
    ("raw", "url", "target"),
    [
        ("HTTP://Example.COM./a b?q=a+b&flag#f", "http://example.com/a%20b?q=a+b&flag", None),
        ("http://example.com?x=%zz", "http://example.com/?x=%zz", "/?x=%zz"),
        ("http://example.com/p?", "http://example.com/p?", "/p?"),
        ("http://example.com/über", "http://example.com/%C3%BCber", None),
        ("http://%31%32%37.1:8080/", "http://127.0.0.1:8080/", "/"),
        ("https://[2001:DB8::1]:443/", "https://[2001:db8::1]/", "/"),
    ],
)
def test_parse_keeps_the_target_as_given(raw: str, url: str, target: str | None) -> None:
    parsed = parse_url(raw)
    assert parsed.url == url
    if target is not None:
        assert parsed.target == target


@pytest.mark.parametrize(
    "raw",
    [
        "http://[fe80::1%25eth0]/",  # zone identifiers name a local link
        "http://a.123/",
        "http://example.com:0/",
        "http://user@example.com/",
        "ftp://example.com/",
        "http:///x",
        "http://exa\\mple.com/",
        "http://" + "a" * 64 + ".com/",
        "http://" + ".".join(["a" * 60] * 5) + "/",  # over 253 characters
    ],
)
def test_parse_refuses(raw: str) -> None:
    with pytest.raises(UrlError):
        parse_url(raw)


_any_host = st.one_of(
    _host,
    st.text(min_size=1, max_size=12),
    st.sampled_from(["xn--ls8h.la", "bücher.example", "EXAMPLE.com.", "8.8.8.8", "[2001:4860::1]"]),
)
_any_part = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(list("%/?&=+.;~"))),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(host=_any_host, path=_any_part, query=_any_part, port=st.sampled_from(["", ":80", ":8080"]))
def test_normalising_is_idempotent_on_any_url(host: str, path: str, query: str, port: str) -> None:
    try:
        once = normalise_url(f"https://{host}{port}/{path}?{query}")
    except UrlError:
        return
    assert normalise_url(once.url) == once
    assert parse_url(once.url).url == once.url  # the key is itself a valid URL
