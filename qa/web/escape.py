"""Text of articles and answers made safe to put into HTML: escaped, control and bidi characters shown, not sent."""

from __future__ import annotations

import html
import re

from qa.errors import UsageError

# C0 controls but tab, line feed and carriage return; DEL; C1 controls. An article may hold them
# (a scanned or pasted text): raw, they reach a terminal or an HTML parser as commands. Each becomes
# one visible character (U+2400.. "control pictures", U+2421 for DEL, U+FFFD for C1), so every
# offset into the stored text still names the same character on the page.
# Bidirectional formatting characters (LRM, RLM, ALM, the embeddings and overrides U+202A-U+202E,
# the isolates U+2066-U+2069) are invisible but reorder what follows them: a title ending in U+202E
# shows "...gnp.exe" as "...exe.png", and one in a quote moves its [1] marker. They are shown too.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _picture(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else "\ufffd"  # C1 and bidi controls: the replacement character


def visible_controls(text: str) -> str:
    """``text`` with each control (and bidi formatting) character replaced by one visible stand-in
    (same length)."""
    return _CONTROLS.sub(_picture, text)


def escape_text(text: object, quote: bool = True) -> str:
    """HTML-escaped text with its control characters shown as stand-ins."""
    return html.escape(visible_controls(str(text)), quote=quote)


def checked_text(value: str, what: str = "the question") -> str:
    """``value`` when it is valid Unicode text.

    Raises:
        UsageError: it holds an unpaired surrogate (JSON's "\\ud800" decodes to one), which the
            engine's tokenizer cannot read.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(f"{what} holds an unpaired surrogate (\\u{ord(value[exc.start]):04x}) at character "
                         f"{exc.start + 1}: send valid Unicode text.") from None
    return value
