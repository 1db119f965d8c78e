"""The engine's one exception family: messages written for the person using the app."""

from __future__ import annotations


class AudioLabError(ValueError):
    """Bad input or parameters; the message is shown to the user as is.

    ``str(err)`` is the English message; ``zh`` the same message in Simplified Chinese
    (the UI picks by the browser's language, see :meth:`text`)."""

    def __init__(self, message: str, *, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh

    def text(self, language: str = "en") -> str:
        """The message in ``language`` (``"zh"``, ``"zh-CN"``, ... or anything else for English)."""
        if self.zh and language.lower().startswith("zh"):
            return self.zh
        return str(self)


class ModelUnavailableError(AudioLabError):
    """A model could not be loaded (no weights, no network); the message says how to provide it."""


class Note(str):
    """A note for the user (``str``: the English text) with its Simplified Chinese text in ``zh``."""

    zh: str | None

    def __new__(cls, message: str, *, zh: str | None = None) -> Note:
        note = super().__new__(cls, message)
        note.zh = zh
        return note

    def text(self, language: str = "en") -> str:
        """The note in ``language`` (``"zh..."`` for Chinese where given, else English)."""
        if self.zh and language.lower().startswith("zh"):
            return self.zh
        return str(self)
