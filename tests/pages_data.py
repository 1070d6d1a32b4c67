"""Hand-made HTML listing and Telegram preview pages for the tests (no real pages copied)."""

from __future__ import annotations

from html import escape


def tg_message(channel: str, number: int, text: str, when: str | None = None) -> str:
    time = (
        f'<a class="tgme_widget_message_date" href="https://t.me/{channel}/{number}">'
        f'<time datetime="{when}" class="time">10:15</time></a>'
        if when
        else ""
    )
    body = (
        f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>'
        if text
        else '<a class="tgme_widget_message_photo_wrap" href="#"></a>'
    )
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message js-widget_message" data-post="{channel}/{number}">'
        '<div class="tgme_widget_message_bubble">'
        '<div class="tgme_widget_message_reply"><div class="tgme_widget_message_text '
        'js-message_reply_text">an older message quoted</div></div>'
        f'{body}<div class="tgme_widget_message_footer"><span class="tgme_widget_message_meta">'
        f"{time}</span></div></div></div></div>"
    )


def tg_page(channel: str, messages: list[tuple[int, str]], when: str | None = None) -> bytes:
    """A channel preview page; messages are (id, HTML text), oldest first like Telegram's."""
    inner = "".join(tg_message(channel, n, text, when) for n, text in messages)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Channel</title></head>'
        '<body class="tgme_webpreview"><div class="tgme_channel_info">'
        f'<div class="tgme_channel_info_header_title">{escape(channel)}</div></div>'
        f'<section class="tgme_channel_history js-message_history">{inner}</section>'
        "</body></html>"
    ).encode()


def listing_page(items: list[tuple[str, str]], older: str | None = None, extra: str = "") -> bytes:
    """A ministry news listing: (href, title) cards, an optional link to the older page."""
    cards = "".join(
        f'<div class="news-item"><h3><a href="{escape(href)}">{escape(title)}</a></h3>'
        f'<time datetime="2025-11-26T08:00:00Z">26 Nov</time><p>Summary of {escape(title)}.</p>'
        "</div>"
        for href, title in items
    )
    pager = f'<a class="next" href="{escape(older)}">Older</a>' if older else ""
    return (
        "<!DOCTYPE html><html><head><title>News</title>"
        "<script>var x = '<a href=\"/evil\">'</script></head><body>"
        f'<nav><a href="/">Home</a></nav><main>{cards}</main>{pager}{extra}</body></html>'
    ).encode()
