"""The one exception type for a user's mistake (bad config, missing data, wrong checkpoint).

Entry points catch it and print its message as a single line, so every check in the library can say
what is wrong and how to fix it in one place.
"""


class UnlearnError(Exception):
    """A problem with the user's input, not a bug: shown as one line, exit status 2."""
