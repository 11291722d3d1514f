"""Errors shown to the user as-is: each names the problem and the fix."""


class QAError(Exception):
    """Base for errors shown to the user as-is (CLI: stderr and exit 1; web: a chat reply)."""

    exit_code = 1


class UsageError(QAError):
    """The user's input (a flag, a question) is not usable."""

    exit_code = 2


class CorpusError(QAError):
    """An article file or the corpus folder is not usable."""


class IndexMissingError(QAError):
    """No index has been built where one was expected."""


class IndexCorruptError(QAError):
    """An index file is unreadable, truncated or of another format."""


class StaleIndexError(QAError):
    """The index does not match the corpus or the settings."""

    def __init__(self, reasons: list[str], index_dir: str):
        self.reasons = reasons
        super().__init__(
            f"index in {index_dir} is out of date: {'; '.join(reasons)}. "
            f"Run `qa index --index {index_dir}` to update it."
        )
