"""What people type is shown as safe HTML."""
import re

from node.web.text import render_text


def tags(html: str) -> list[str]:
    return re.findall(r"<[^>]+>", html)


def test_markdown_basics_become_html():
    html = str(render_text("# Title\n\nSome **bold** and *italic*.\n\n- one\n- two\n\n1. first\n"))
    assert "<h2>Title</h2>" in html  # the page's h1 stays the only h1
    assert "<strong>bold</strong>" in html and "<em>italic</em>" in html
    assert "<ul>" in html and "<li>one</li>" in html and "<ol>" in html


def test_scripts_and_raw_html_never_come_through():
    html = str(render_text('<script>alert(1)</script><img src=x onerror="alert(2)">'
                           '<a href="https://x.example" onclick="alert(3)">x</a>'))
    for tag in tags(html):
        assert not tag.startswith(("<script", "<img", "<a")), tag
        assert " on" not in tag, tag
    assert "&lt;script&gt;" in html  # shown as text, so the author sees what they typed


def test_dangerous_link_schemes_are_dropped():
    html = str(render_text("[a](javascript:alert(1)) [b](data:text/html;base64,xx) [c](https://ok.example)"))
    assert "javascript:" not in html.replace("[a](javascript:alert(1))", "")
    assert 'href="data:' not in html
    assert 'href="https://ok.example"' in html


def test_links_in_user_content_are_nofollow_ugc():
    html = str(render_text("[site](https://example.org)"))
    assert 'rel="nofollow ugc noopener"' in html
    staff = str(render_text("[site](https://example.org)", user_content=False))
    assert 'rel="noopener"' in staff


def test_images_are_not_loaded_from_third_parties():
    html = str(render_text("![tracker](https://tracker.example/pixel.gif)"))
    assert "<img" not in html


def test_empty_text_is_empty_markup():
    assert str(render_text("")) == "" and str(render_text(None)) == ""
