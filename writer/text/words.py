"""Word tokens, the one tokenizer every lexical check uses, and the stopword lists.

`tokens` lower-cases and splits text into words: runs of letters and digits (inner apostrophes
and hyphens kept: "don't", "well-known"), each CJK character a token of its own (as
LongBench-Write counts words). `count_words` in `writer.text.lengths` counts the same way for
length; this module is for comparing texts: repeats, copies, echoes, keywords, grounding.
"""

from __future__ import annotations

import re

__all__ = ["tokens", "content_words", "stem", "STOPWORDS", "TASK_WORDS"]

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:['’-][^\W_{_CJK}]+)*", re.UNICODE)

STOPWORDS = frozenset("""a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each either few for from further had has
have having he her here hers him his how i if in into is it its itself just may me might more most must my no nor
not now of off on once only or other our out over own same she should so some such than that the their them then
there these they this those through to too under until up upon very was way we were what when where which while who
whom why will with within without would you your""".split())
# Words of the request itself ("write an essay describing ..."): not what a text is about.
TASK_WORDS = frozenset("""write writing written describe describing discuss explain words word text essay article
story chapter paragraph introduction conclusion overview section part post blog piece please approximately around
roughly least give make create introduce using use based""".split())


def tokens(text: str) -> list[str]:
    """The lower-cased word tokens of `text`."""
    return [t.lower() for t in _TOKEN.findall(text)]


def content_words(text: str, min_length: int = 3) -> list[str]:
    """Tokens that carry content: not stopwords, at least `min_length` characters (CJK characters always)."""
    return [t for t in tokens(text) if t not in STOPWORDS and (len(t) >= min_length or not t.isascii())]


def stem(word: str) -> str:
    """A crude stem, the first five letters: "trading" and "trade" meet, so do "libraries" and "library"."""
    return word.lower()[:5]
