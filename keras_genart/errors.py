"""Errors that a user can cause, as opposed to bugs in keras_genart."""


class UserInputError(ValueError):
    """Bad input from a user: a path, a size, a file or a setting.

    The message names the input and says what would be accepted. The CLI prints
    it as one line instead of a traceback.
    """


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


class ExportError(RuntimeError):
    """Exported artifacts do not reproduce the Keras model."""
