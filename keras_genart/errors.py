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


class MissingDependencyError(UserInputError):
    """A feature needs a package that is not installed (TensorFlow, for example)."""


def require_tensorflow(feature):
    """Imports and returns `tensorflow`, or says in one line that `feature` needs it.

    Args:
        feature: str. What needs TensorFlow, for the message ("SavedModel export").
    """
    try:
        import tensorflow
    except ImportError as e:
        raise MissingDependencyError(
            f"{feature} needs TensorFlow, which is not installed here; "
            "`pip install keras_genart` (or `pip install tensorflow`) brings it. "
            "Training from folders and builtin: data, sampling and ONNX serving work "
            "without it.") from e
    return tensorflow


def require_modules(feature, modules, install):
    """Imports `modules`, or says in one line which are missing and what to install.

    Args:
        feature: str. What needs them ("ONNX export").
        modules: list of importable module names.
        install: str. The command that brings them.
    """
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingDependencyError(
            f"{feature} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            f"not installed here; `{install}` brings {'it' if len(missing) == 1 else 'them'}")
