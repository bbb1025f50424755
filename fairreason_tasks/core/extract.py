r"""Answer extraction from model completions: thinking blocks, option choices, \boxed{}, code.

Every function is pure, never raises on any `str`, and runs in time linear in the completion,
whatever its shape (phrases are read from bounded windows, no pattern backtracks over a run of
characters more than once, braces and fences are matched in one pass); benchmarks/bench_extract.py
measures 1 MB inputs of every shape.

Thinking blocks (`strip_thinking`)
    `<think>...</think>` and `<thinking>...</thinking>` (tag names case-insensitive) are removed;
    the first closing tag closes a block (tags do not nest). A closing tag with no open block
    means the opening tag was in the prompt (Qwen3 chat templates put it there): everything
    before it is thinking. An opening tag never closed means the generation stopped while
    thinking: there is no answer (None), never a guess from the trace.

Option choices (`extract_choice`): the thinking is stripped, then the answer text is read line
by line from the end; the last *explicit answer* wins, and an explicit answer naming two
different options is a hedge (None, unparsed). Explicit answers are exactly:
  1. an answer cue followed by a reference: "answer is / answer: / answer = / option is /
     choice is" (also "would/should/will/must be"), as in "The answer is C.", "Answer: (C)",
     "the correct answer is **C. The grandfather**";
  2. a reference followed by a verdict: "(C) is the correct answer", "The grandfather is the
     answer", "C is correct" (the subject must be the whole reference);
  3. `\boxed{...}` / `\fbox{...}` whose content starts with a reference;
  4. a bold letter, `**C**`, `**(C)**`, `**C. The grandfather**`;
  5. a line that is nothing but a reference, apart from markup and punctuation: "C", "C.",
     "C)", "(C)", "**C**", "C. The grandfather", "The grandfather.", "- Can't be determined"
     (only lines up to the longest option's length + 40 characters are read this way).
A *reference* is a letter (A, B, ... for the options given; upper or lower case; bracketed or
followed by a non-word character) or an option's text, compared case-, punctuation- and
whitespace-insensitively, with "can't"/"can not" read as "cannot"; where the options contain
exactly one of BBQ's ten "unknown" phrasings (`UNKNOWN_PHRASINGS`), any of them names it.
Guards:
  - "A" and "I" (and any lower-case letter) followed by a word are an article or pronoun ("A man
    ...", "a neighbour"), not a letter, unless the word is a connective ("A because ...");
  - option text counts only in the five places above, never inside running prose: "The
    grandfather was forgetful, unlike the grandson" names nobody;
  - "A or B", "either A or C", "both A and C", "neither A nor B", "A/B", "A, B", "A and/or B",
    "A, or perhaps B" (also maybe/possibly/probably), "A. B." (two bare letters), and a letter
    restated with another option's text ("A. The grandson" where A is the grandfather) are
    hedges; so are lone-reference lines that follow one naming another option ("A\nB\nC"),
    unless that one belongs to an echoed, lettered option list;
  - "The answer is not A" / "the answer isn't A" names nothing and retracts A: an earlier
    answer naming A no longer counts ("Answer: A\nActually, the answer is not A." is unparsed);
    a phrase naming nothing ("the answer is clear") is skipped, so an earlier answer still counts;
  - only the last 1,000 places where an answer could start are read (latest first), which
    bounds the time on any input; a completion with none among them is unparsed.
Not recognised (unparsed, counted by the caller): verbs of choice without "answer" ("I choose
C"), paraphrases of an option's text, and unknown-answer paraphrases outside the ten phrasings.

Math (`extract_math_answer`): the last complete `\boxed{}` (see `extract_boxed`); otherwise the
rest of the line after the last "answer is" / "Answer:" (Minerva's "I hope it is correct."
suffix, `$...$` and bold markup removed); otherwise None. There is deliberately no
"last number in the text" fallback: a model that states no answer has not answered.

Code (`extract_code`): the last fenced block (an unclosed final fence runs to the end, since a
"```" stop sequence removes the closing fence); with no fence, the whole answer if one of its
lines is a Python statement (def, class, import, return, a block header, a decorator).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from functools import lru_cache

__all__ = [
    "UNKNOWN_PHRASINGS",
    "extract_boxed",
    "extract_choice",
    "extract_code",
    "extract_math_answer",
    "split_thinking",
    "strip_thinking",
]

# The "unknown" option phrasings BBQ uses (HELM's list, as in lm-eval's bbq utilities).
UNKNOWN_PHRASINGS = (
    "Unknown",
    "Cannot answer",
    "Can't be determined",
    "Cannot be determined",
    "Can't answer",
    "Not known",
    "Not enough info",
    "Not enough information",
    "Not answerable",
    "Undetermined",
)

_HEDGED = -1  # a phrase naming two different options
_PHRASE_WINDOW = 300  # characters after an answer cue or a box that are read
_SUBJECT_WINDOW = 200  # characters before "is the answer" searched for its subject
_VERDICT_TAIL = 80  # characters "is the most correct" and its markup can take before the cue word
_SHORT_LINE_LIMIT = 400  # lines longer than this are never a lone reference

# ---- thinking blocks ----------------------------------------------------------------------------

# Each run of whitespace is taken whole, never backtracked into (a lookahead captures it, a
# backreference consumes it): "<" followed by 1 MB of spaces is read once, not a million times.
_THINK_TAG = re.compile(r"<(?=(\s*))\1(?:(?P<close>/)(?=(\s*))\3)?think(?:ing)?(?=(\s*))\4>", re.IGNORECASE)


@lru_cache(maxsize=16)  # the answer reader and the trace reader both split each completion: once serves both
def split_thinking(text: str) -> tuple[str | None, str | None]:
    """(thinking, answer): the text inside the closed thinking blocks (None when there is none) and
    the completion without them; (None, None) when a block is never closed (no answer, no trace).

    The one reader of the tag rules, for answers (`strip_thinking`) and traces (`core.trace_bias`).
    """
    if "<" not in text or "think" not in text.lower():
        return None, text
    if text.count("<") == 2 and text.lstrip().startswith("<think>"):  # the usual shape, read without a scan
        start, close = text.find("<think>"), text.find("</think>")
        if close > start:
            return text[start + len("<think>") : close], text[:start] + text[close + len("</think>") :]
    answer: list[str] = []
    thinking: list[str] = []
    cursor = 0
    opened: int | None = None  # where the open block's text starts; tags do not nest
    prompt_opened = -1  # the last closing tag with no open block: all before it was thinking
    for tag in _THINK_TAG.finditer(text):
        if tag.group("close"):
            if opened is None:  # the block was opened in the prompt
                answer.clear()
                thinking.clear()
                prompt_opened = tag.start()
            else:
                thinking.append(text[opened : tag.start()])
                opened = None
            cursor = tag.end()
        elif opened is None:
            answer.append(text[cursor : tag.start()])
            opened = tag.end()
    if opened is not None:
        return None, None
    answer.append(text[cursor:])
    if prompt_opened >= 0:
        thinking.insert(0, _THINK_TAG.sub(" ", text[:prompt_opened]))
    return ("\n".join(thinking) if thinking else None), "".join(answer)


def strip_thinking(text: str) -> str | None:
    """The completion without its thinking blocks; None when a block is never closed."""
    return split_thinking(text)[1]


# ---- references: letters and option texts -------------------------------------------------------

_CANNOT = re.compile(r"\bcan(?:\s*not|['’]t)\b")
_NON_WORD = re.compile(r"[\W_]+")
_LEAD = re.compile(
    r"(?:[\s*_`\"'“”‘’:>#~=\-–—$]+|\\(?:boxed|fbox|text|textbf|mathrm|mathbf)\s*\{|\\[(\[]"
    r"|(?:option|choice|letter)\b)+",
    re.IGNORECASE,
)
_GROUP_WORD = re.compile(r"(?:either|both|neither|between)\b\s*", re.IGNORECASE)
_LETTER = re.compile(r"\(\s*([A-Za-z])\s*\)|\[\s*([A-Za-z])\s*\]|([A-Za-z])(?![\w'’])")
_FIRST_WORD = re.compile(r"[^\W_]+")
_NEXT_WORD = re.compile(r"\s+(\w+)")
_CONNECTIVES = frozenset({"because", "since", "as", "or", "and", "nor", "which", "given", "so", "for"})
_MAYBE = r"(?:(?:perhaps|maybe|possibly|probably|even|else)\b\s*)?"
_JOIN = re.compile(
    r"\s*(?:/|&|,\s*(?:or|and|nor)?|\bor\b|\band\s*/\s*or\b|\band\b|\bnor\b|\bvs\b\.?)\s*"
    rf"{_MAYBE}(?:either\b|option\b|choice\b)?\s*",
    re.IGNORECASE,
)
_RESTATE = re.compile(r"\s*[.):,\-–—]?\s*")
_NORMALIZED_JOIN = re.compile(
    r"(?:and or|or|and|nor|vs) (?:(?:perhaps|maybe|possibly|probably|even|else) )?"
    r"(?:either |option |choice )?"
)
_TRAILING_JUNK = re.compile(r"[\s*_`\"'“”‘’.!?,;:)\]}$\\]*")


def _after_empty_match(pattern: re.Pattern[str], text: str) -> str:
    """`text` past `pattern`'s match at its start; for patterns that also match "", so one always exists."""
    match = pattern.match(text)
    return text if match is None else text[match.end() :]


def _normalize(text: str) -> str:
    """Lower case, punctuation as single spaces, "can't"/"can not" as "cannot"."""
    lowered = text.lower()
    if "can" in lowered:
        lowered = _CANNOT.sub("cannot", lowered)
    return _NON_WORD.sub(" ", lowered).strip()


class _Options:
    """What a phrase may refer to: one letter per option and the options' normalised texts."""

    __slots__ = ("first_words", "letters", "longest_line", "texts")

    def __init__(self, options: tuple[str, ...]) -> None:
        self.letters = string.ascii_uppercase[: len(options)]
        texts = [(_normalize(option), index) for index, option in enumerate(options)]
        unknown = [index for text, index in texts if text in _UNKNOWN_NORMALIZED]
        if len(unknown) == 1:
            texts += [(phrasing, unknown[0]) for phrasing in _UNKNOWN_NORMALIZED]
        # Longest first, so "the man s son" is preferred over "the man".
        self.texts = sorted(((text, index) for text, index in texts if text), key=lambda pair: -len(pair[0]))
        # Cheap rejection before normalising: the first word a text reference can start with.
        self.first_words = frozenset(text.split(" ", 1)[0] for text, _ in self.texts)
        if "cannot" in self.first_words:
            self.first_words |= {"can"}
        # A line longer than this cannot be a lone reference (letter, markup and an option's text).
        self.longest_line = max((len(option) for option in options), default=0) + 40

    def letter_at(self, text: str) -> tuple[int | None, str]:
        """(option, rest) for a letter at the head of raw `text`, else (None, text)."""
        match = _LETTER.match(text)
        if match is None:
            return None, text
        letter = match.group(1) or match.group(2) or match.group(3)
        rest = text[match.end() :]
        if match.group(3) and (letter in "AI" or letter.islower()):
            word = _NEXT_WORD.match(rest)
            if word is not None and word.group(1).lower() not in _CONNECTIVES:
                return None, text  # an article or a pronoun, not an option letter
        index = self.letters.find(letter.upper())
        return (index, rest) if index >= 0 else (None, text)

    def text_at(self, normalized: str) -> tuple[int | None, str]:
        """(option, rest) for an option's text at the head of a normalised phrase."""
        for text, index in self.texts:
            if normalized.startswith(text) and (len(normalized) == len(text) or normalized[len(text)] == " "):
                return index, normalized[len(text) :].lstrip()
        return None, normalized

    def normalized_reference_at(self, normalized: str) -> int | None:
        """An option's text or a lone letter at the head of a normalised phrase."""
        index, _ = self.text_at(normalized)
        if index is None and normalized:
            index, _ = self.letter_at(normalized)
        return index

    def read(self, phrase: str, *, letter_first: bool = False) -> tuple[int | None, bool]:
        """(option named at the head of `phrase`, or _HEDGED, or None; whether that is all it says).

        `letter_first`: only a phrase that starts with a letter counts (bold text in prose often
        names a person without answering)."""
        head = _LEAD.match(phrase, 0, _PHRASE_WINDOW)
        start = head.end() if head else 0
        # A reference and a hedged second one fit in twice the longest line.
        head_text = phrase[start : start + 2 * self.longest_line]
        group = _GROUP_WORD.match(head_text)
        if group is not None:
            head_text = head_text[group.end() :]
        first, rest = self.letter_at(head_text)
        if first is None:
            word = _FIRST_WORD.match(head_text)
            if letter_first or word is None or word.group().lower() not in self.first_words:
                return None, False
            return self._read_text(_normalize(head_text), grouped=group is not None)
        if _TRAILING_JUNK.fullmatch(rest) is not None:
            return (None, False) if group is not None else (first, True)
        join = _JOIN.match(rest)
        if join is not None:
            after = rest[join.end() :]
            second, after_rest = self.letter_at(after)
            if second is None:
                second = self.normalized_reference_at(_normalize(after))
            if second is not None and second != first:
                return _HEDGED, _TRAILING_JUNK.fullmatch(after_rest) is not None
        after_first = _after_empty_match(_RESTATE, rest)
        second, second_rest = self.letter_at(after_first)
        if second is not None and second != first and _TRAILING_JUNK.fullmatch(second_rest) is not None:
            return _HEDGED, True  # "A. B.": two letters, nothing else
        restated, restated_rest = self.text_at(_normalize(after_first))
        if group is not None:
            return None, False
        if restated is not None:
            return (first, not restated_rest) if restated == first else (_HEDGED, not restated_rest)
        return first, _TRAILING_JUNK.fullmatch(rest) is not None

    def _read_text(self, normalized: str, *, grouped: bool) -> tuple[int | None, bool]:
        first, rest = self.text_at(normalized)
        if first is None:
            return None, False
        join = _NORMALIZED_JOIN.match(rest)
        if join is not None:
            second = self.normalized_reference_at(rest[join.end() :])
            if second is not None and second != first:
                return _HEDGED, False
        if grouped:
            return None, False
        return first, not rest


_UNKNOWN_NORMALIZED = frozenset(_normalize(phrasing) for phrasing in UNKNOWN_PHRASINGS)


@lru_cache(maxsize=4096)
def _options(options: tuple[str, ...]) -> _Options:
    return _Options(options)


# ---- explicit answers ---------------------------------------------------------------------------

# Places an explicit answer can start: a cue word, a box, a bold span (its opening "**" only, so
# cues inside it are found too; a lone-reference line is found separately). One regex pass over
# the whole answer keeps the scan in C.
_EVENT = re.compile(
    r"(?=[aocAOC\\*])(?:\b(?:answer|option|choice|correct)\b|\\(?:boxed|fbox)\s*\{|\*\*(?=[^*\n]{1,80}\*\*))",
    re.IGNORECASE,  # the leading character set lets the scan skip most positions quickly
)
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")
_AFTER_CUE = re.compile(r"[\s*_]*(?:(?:is|would be|should be|will be|must be)\b|[:=])", re.IGNORECASE)
_VERDICT = re.compile(
    r"[\s*_]+(?:is|would be|should be|must be)\s+(?:the\s+)?"
    r"(?:(?:most\s+)?(?:correct|right|best|final|only)\s+)?"
    r"[\s*_]*$",
    re.IGNORECASE,
)
_VERDICT_LAST_WORDS = ("is", "be", "the", "correct", "right", "best", "final", "only")
_SENTENCE_END = re.compile(r"[.!?;:]\s")
_FILLER = re.compile(
    r"(?:\W*(?:so|thus|therefore|hence|then|clearly|overall|i think)\b[\s,]*)*", re.IGNORECASE
)
_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_SHORT_LINE = re.compile(rf"^[^\n]{{1,{_SHORT_LINE_LIMIT}}}$", re.MULTILINE)
_LETTERED_LINE = re.compile(r"[\s*_-]*\(?([A-Za-z])[.):]\s*\S")


def _option_listing(lines: list[re.Match[str]], options: _Options) -> set[int]:
    """Starts of lines restating options with their letters ("B. The grandson"), when two or more
    different options are restated so: an echo of the prompt's list, not an answer."""
    restated: dict[int, int] = {}
    for line in lines:
        marker = _LETTERED_LINE.match(line.group())
        if marker is None:
            continue
        found, whole = options.read(line.group())
        if whole and found == ord(marker.group(1).upper()) - ord("A"):
            restated[line.start()] = found
    return set(restated) if len(set(restated.values())) >= 2 else set()


def _phrase_after(answer: str, start: int) -> str:
    """The rest of the line from `start`, at most _PHRASE_WINDOW characters."""
    return answer[start : start + _PHRASE_WINDOW].split("\n", 1)[0]


def _verdict_subject(answer: str, cue_start: int) -> str | None:
    """The subject of "<subject> is the (correct) answer" ending at `cue_start`, from its sentence start."""
    if not answer[max(0, cue_start - 12) : cue_start].rstrip(" \t*_").lower().endswith(_VERDICT_LAST_WORDS):
        return None  # fast rejection: most cue words are not preceded by a verdict
    line_start = answer.rfind("\n", max(0, cue_start - _SUBJECT_WINDOW), cue_start) + 1
    window = answer[max(line_start, cue_start - _SUBJECT_WINDOW) : cue_start]
    verdict = _VERDICT.search(window, max(0, len(window) - _VERDICT_TAIL))
    if verdict is None:
        return None
    sentence_start = 0
    for boundary in _SENTENCE_END.finditer(window, 0, verdict.start()):
        sentence_start = boundary.end()
    subject = window[sentence_start : verdict.start()]
    return _after_empty_match(_FILLER, subject)


_NOT = re.compile(r"[\s*_:]*(?:not|never)\b", re.IGNORECASE)
_NEGATED_CUE = re.compile(r"[\s*_]*(?:isn|wouldn|shouldn|won|can)['’]t\b(?:\s+be\b)?", re.IGNORECASE)


def _event_answer(answer: str, event: re.Match[str], options: _Options) -> tuple[int | None, bool]:
    """(option or _HEDGED or None, retracted): what an answer cue, box or bold span states.

    `retracted` is True for "the answer is not A" / "the answer isn't A": A is ruled out."""
    token = event.group()
    if token.startswith("\\"):
        return options.read(_phrase_after(answer, event.end()))[0], False
    if token == "**":
        bold = _BOLD.match(answer, event.start())  # always: _EVENT's lookahead matched the same span
        if bold is None:
            return None, False
        found, whole = options.read(bold.group(1), letter_first=True)
        return (found if whole else None), False
    word = token.lower()
    if word != "correct":
        limit = event.end() + _PHRASE_WINDOW  # bounded: a cue followed by 1 MB of spaces is read in O(window)
        after = _AFTER_CUE.match(answer, event.end(), limit)
        negation = (
            _NOT.match(answer, after.end(), limit)
            if after is not None
            else _NEGATED_CUE.match(answer, event.end(), limit)
        )
        if negation is not None and after is not None:
            # "Answer: Not enough information" names an option whose text starts with "Not".
            literal, _ = options.read(_phrase_after(answer, after.end()))
            if literal is not None and literal >= 0:
                return literal, False
        start = negation.end() if negation is not None else after.end() if after is not None else None
        if start is not None:
            found, _ = options.read(_phrase_after(answer, start))
            if negation is not None:
                return (found, True) if found is not None and found >= 0 else (None, False)
            if found is not None:
                return found, False
    subject = _verdict_subject(answer, event.start()) if word in ("answer", "correct") else None
    if subject:
        found, whole = options.read(subject)
        if whole:
            return found, False
    return None, False


# The commonest whole answer, read without the scan (the scan reads it the same way; tests compare).
_CUE_AND_LETTER = re.compile(
    r"(?:the\s+)?(?:(?:correct|final)\s+)?answer\b\s*(?:is\b|:)\s*(?:\(([A-Za-z])\)|([A-Za-z]))\.?",
    re.IGNORECASE,
)

_WINDOW = 8192  # characters searched for places at a time, from the end backwards
_OVERLAP = 2 * _SHORT_LINE_LIMIT  # how far a window reads into the next one, so no place is cut
_MAX_PLACES = 1000  # places read, latest first, before giving up (unparsed): bounds the time on any input


def _places(answer: str, start: int, end: int, readable: _Options, with_lines: bool) -> list[tuple]:
    """(position, is_event, match, listing) for the places in answer[start:end] where an explicit
    answer can start, latest first; `listing` holds the starts of the window's echoed option lines."""
    stop = min(len(answer), end + _OVERLAP)
    places = [
        (match.start(), True, match) for match in _EVENT.finditer(answer, start, stop) if match.start() < end
    ]
    listing: set[int] = set()
    if with_lines:
        lines = [
            match
            for match in _SHORT_LINE.finditer(answer, start, stop)
            if match.start() < end
            and match.end() - match.start() <= readable.longest_line
            and (match.end() == len(answer) or answer[match.end()] == "\n")
        ]
        listing = _option_listing(lines, readable)
        places += [(match.start(), False, match) for match in lines if match.start() not in listing]
    places.sort(key=lambda place: place[:2], reverse=True)
    return [(*place, listing) for place in places]


def _listed_with_another(
    answer: str, line_start: int, found: int, readable: _Options, listing: set[int]
) -> bool:
    """Whether the line before this lone reference (blank lines skipped) is a lone reference to
    another option: "A\nB\nC" lists options, it does not choose one."""
    before = answer[max(0, line_start - 2 * readable.longest_line) : line_start].rstrip()
    previous_start = before.rfind("\n") + 1
    previous = before[previous_start:]
    if not previous or len(previous) > readable.longest_line:
        return False
    if max(0, line_start - 2 * readable.longest_line) + previous_start in listing:
        return False
    other, whole = readable.read(previous)
    return whole and other is not None and other != found


def extract_choice(text: str, options: Sequence[str]) -> int | None:
    """Index of the option the completion answers with; None when unparsed (see module docstring)."""
    answer = strip_thinking(text)
    if answer is None or not options:
        return None
    readable = _options(tuple(options))
    compact = answer.strip()
    one_short_line = len(compact) <= readable.longest_line and "\n" not in compact
    if one_short_line:  # fast paths, and then the only lone-reference line is already read
        cued = _CUE_AND_LETTER.fullmatch(compact)
        if cued is not None:  # "Answer: C", "The answer is (C).": one cue, one letter, nothing else
            index = readable.letters.find((cued.group(1) or cued.group(2)).upper())
            if index >= 0:
                return index
        found, whole = readable.read(compact)
        if whole:
            return None if found == _HEDGED else found
    return _scan(answer, readable, with_lines=not one_short_line)


def _scan(answer: str, readable: _Options, *, with_lines: bool) -> int | None:
    """The last explicit answer (module docstring), read from the places it can start, latest first."""
    retracted: set[int] = set()
    budget, end = _MAX_PLACES, len(answer)
    while end > 0 and budget > 0:  # windows from the end: the last explicit answer wins
        start = max(0, end - _WINDOW)
        places = _places(answer, start, end, readable, with_lines)[:budget]
        budget -= len(places)
        for position, is_event, match, listing in places:
            if is_event:
                found, retracting = _event_answer(answer, match, readable)
                if retracting:
                    if found is not None:  # always: _event_answer retracts only a named option
                        retracted.add(found)
                    continue
            else:
                found, whole = readable.read(match.group())
                found = found if whole else None
                if found is not None and _listed_with_another(answer, position, found, readable, listing):
                    return None
            if found is not None and found not in retracted:
                return None if found == _HEDGED else found
        end = start
    return None


# ---- math and code ------------------------------------------------------------------------------

_BRACE = re.compile(r"\\[\\{}]|[{}]")  # an escaped brace or backslash, or a brace


def extract_boxed(text: str) -> str | None:
    r"""Content of the last complete `\boxed{...}` / `\fbox{...}` (the one closing last, so the
    outer box of nested ones); escaped braces `\{ \}` do not count. None when there is none."""
    opens = [match.end() - 1 for match in _BOX_OPEN.finditer(text)]
    if not opens or "}" not in text[opens[0] :]:
        return None
    wanted = set(opens)
    stack: list[int] = []
    best: tuple[int, int] | None = None
    for brace in _BRACE.finditer(text, opens[0]):
        symbol = brace.group()
        if symbol == "{":
            stack.append(brace.start())
        elif symbol == "}" and stack:
            opened = stack.pop()
            if opened in wanted:
                best = (opened + 1, brace.start())
    return text[best[0] : best[1]] if best else None


_FINAL_ANSWER = re.compile(r"\b(?:final\s+)?answer\b[\s*_]*(?:is\b[\s*_]*:?|[:=])[ \t]*", re.IGNORECASE)
_HOPE_SUFFIX = re.compile(r"\.?\s*I hope it is correct\.?\s*$", re.IGNORECASE)


def extract_math_answer(text: str) -> str | None:
    r"""The final math answer: last `\boxed{}`, else the last "answer is"/"Answer:" line, else None."""
    answer = strip_thinking(text)
    if answer is None:
        return None
    boxed = extract_boxed(answer)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    value = _last_stated_answer(answer)
    if value is None:
        return None
    value = _unwrap_math(_HOPE_SUFFIX.sub("", value))
    for opening, closing in (("\\(", "\\)"), ("\\[", "\\]")):
        if value.startswith(opening) and value.endswith(closing):
            value = _unwrap_math(value[len(opening) : -len(closing)])
    return value or None


def _last_stated_answer(text: str) -> str | None:
    """Rest of the line after the last answer cue ("Final Answer: The final answer is 5" gives "5")."""
    last = None
    for last in _FINAL_ANSWER.finditer(text):  # noqa: B007 (only the last one is wanted)
        pass
    if last is None:
        return None
    line_end = text.find("\n", last.end())
    return text[last.end() : line_end if line_end >= 0 else len(text)]


def _unwrap_math(value: str) -> str:
    """Without surrounding markup, dollar signs and a sentence's full stop (a leading "." is a decimal)."""
    return value.lstrip(" \t*_$`").rstrip(" \t*_$`.")


_FENCE = re.compile(r"^[ \t]*```[^\n]*$", re.MULTILINE)
_CODE_LINE = re.compile(
    r"^[ \t]*(?:def |async def |class |import |from [\w.]+ import |return\b|@\w"
    r"|(?:if|elif|else|for|while|with|try|except|finally)\b[^\n]*:[ \t]*$)",
    re.MULTILINE,
)


def extract_code(text: str) -> str | None:
    """The program in a completion: the last non-blank fenced block, else the answer if it is code."""
    answer = strip_thinking(text)
    if answer is None:
        return None
    fences = [match.span() for match in _FENCE.finditer(answer)]
    if len(fences) % 2:  # an unclosed final fence runs to the end
        fences.append((len(answer) + 1, len(answer) + 1))
    for closing in range(len(fences) - 1, 0, -2):  # pairs from the last; blocks are sliced only when read
        block = answer[fences[closing - 1][1] + 1 : fences[closing][0]]
        if block.strip():
            return block
    if not fences and _CODE_LINE.search(answer):
        return answer
    return None
