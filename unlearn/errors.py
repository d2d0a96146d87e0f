"""The one exception type for a user's mistake (bad config, missing data, wrong checkpoint).

Entry points catch it and print its message as a single line, so every check in the library can say
what is wrong and how to fix it in one place.
"""


class UnlearnError(Exception):
    """A problem with the user's input, not a bug: shown as one line, exit status 2."""


#: What an exception that carries no message usually means here (the first matching class wins).
_SILENT_MEANINGS = ((EOFError, 'the file is empty or truncated'),
                    (AssertionError, 'an assert statement failed'))


def first_line(exc: BaseException) -> str:
    """The first non-empty line of ``exc``'s message, for a one-line error.

    Some exceptions carry no message at all (``EOFError`` from an empty file, a bare ``assert``); they are
    named by their type and what they usually mean, so the line never ends in an empty reason.
    """
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    meaning = next((text for cls, text in _SILENT_MEANINGS if isinstance(exc, cls)), 'raised without a message')
    return f'{type(exc).__name__} ({meaning})'
