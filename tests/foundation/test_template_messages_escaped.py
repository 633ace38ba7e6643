"""A message with values shown through a template's `_()` is escaped: Jinja marks what gettext
returns as safe HTML, and a value can be what someone typed (a name, a host, a query)."""

from __future__ import annotations

from hotline.errors import N_
from hotline.web import i18n
from hotline.web.templating import templates


def test_a_messages_values_are_escaped_in_either_language() -> None:
    page = templates.env.from_string('<p>{{ _(m) }}</p><p title="{{ _(m) }}"></p>')
    typed = '<script>alert(1)</script>" onmouseover="x'
    message = N_("no case set named %(name)s", name=typed)
    english = page.render(m=message)
    assert "<script>" not in english and '" onmouseover' not in english
    assert "no case set named &lt;script&gt;alert(1)&lt;/script&gt;&#34; onmouseover" in english
    i18n.set_locale("fr")
    try:
        french = page.render(m=message)
    finally:
        i18n.set_locale("en")
    assert "aucun lot d’affaires nommé &lt;script&gt;" in french and "<script>" not in french


def test_a_percent_in_a_value_still_shows() -> None:
    page = templates.env.from_string("{{ _(m) }}")
    assert page.render(m=N_("no case set named %(name)s", name="100% & more")) == (
        "no case set named 100% &amp; more"
    )
