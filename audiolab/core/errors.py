"""The engine's one exception family: messages written for the person using the app."""


class AudioLabError(ValueError):
    """Bad input or parameters; ``str(err)`` is shown to the user as is."""


class ModelUnavailableError(AudioLabError):
    """A model could not be loaded (no weights, no network); the message says how to provide it."""
