"""Version folders of a model folder: numbered, reserved and moved into place whole.

Under a model folder (TF Serving's `--model_base_path`) a server loads the folders
named with digits only. Everything an export has in flight is hidden beside them:

- `.export-N/`: version N, reserved by an export that is running. It holds `owner`
  (the process; locked with `flock` while that export runs, so that the reservation
  of a killed export is recognised and taken over) and `version/`, the version being
  written, which becomes `N/` in one rename once it is complete.
- `.export-new-*/`, `.export-old-*/`: a reservation being made, or being removed.

Two exports at once thus never write the same version: the second takes the next
free number, or fails when it asked for that number.
"""

import errno
import json
import os
import secrets
import shutil
import socket
import time

from keras_genart.errors import ExportError, UserInputError
from keras_genart.contract import VERSION_PATTERN

try:
    import fcntl
except ImportError:  # Windows: no flock; a reservation then counts as live until removed
    fcntl = None

PREFIX = ".export-"
OWNER = "owner"
_AT_FDCWD, _RENAME_NOREPLACE, _RENAME_EXCHANGE = -100, 1, 2


def next_version(model_dir):
    """One more than the highest numeric version folder (1 when there is none)."""
    names = os.listdir(model_dir) if os.path.isdir(model_dir) else []
    versions = [int(n) for n in names if VERSION_PATTERN.fullmatch(n)]
    return max(versions, default=0) + 1


def _renameat2(a, b, flags):
    """Linux `renameat2`: True when done, False where the system or the file system
    cannot (an OSError for any other failure)."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a libc without it
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), a, None, b)


def _rename_exchange(a, b):
    """Swaps two paths in one step (`RENAME_EXCHANGE`); False where the system cannot."""
    return _renameat2(a, b, _RENAME_EXCHANGE)


def rename_noreplace(new, final):
    """Renames folder `new` to `final`, raising FileExistsError when `final` exists.

    One step with `RENAME_NOREPLACE` on Linux. Elsewhere a check, then a rename that
    POSIX refuses onto a folder with files in it.
    """
    try:
        if _renameat2(new, final, _RENAME_NOREPLACE):
            return
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), final)
        os.rename(new, final)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), final) from None
        raise


def replace_dir(new, final):
    """Moves folder `new` to `final`, replacing a `final` that exists without a gap.

    On Linux the two folders trade places in one step and the old one is
    removed after, so a server reading `final` sees the old files or the new
    ones, never none. Elsewhere the old folder is renamed away first (a gap
    of two renames).
    """
    if os.path.lexists(final):
        if _rename_exchange(new, final):
            shutil.rmtree(new)  # the old version, now under the temporary name
            return
        old = os.path.join(os.path.dirname(final),
                           f".old-{os.path.basename(final)}-{os.getpid()}")
        os.replace(final, old)
        os.replace(new, final)
        shutil.rmtree(old, ignore_errors=True)
        return
    os.replace(new, final)


def _hidden_name(model_dir, kind):
    return os.path.join(model_dir, f"{PREFIX}{kind}-{secrets.token_hex(6)}")


def _discard(path):
    """Removes a reservation: renamed away first, so that its name is free at once."""
    trash = _hidden_name(os.path.dirname(path), "old")
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _new_claim(model_dir):
    """A fresh hidden folder with its `owner` file, locked: (path, open lock file)."""
    path = _hidden_name(model_dir, "new")
    os.makedirs(path)
    # Locked before it takes its name, so that no one ever sees it unlocked while alive.
    lock = open(os.path.join(path, OWNER + ".tmp"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (AttributeError, OSError):  # no flock here: the claim counts as live until removed
        pass
    json.dump({"pid": os.getpid(), "host": socket.gethostname(),
               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, lock)
    lock.flush()
    if fcntl is None:  # Windows renames no open file (and has nothing to keep locked)
        lock.close()
    os.rename(lock.name, os.path.join(path, OWNER))
    return path, lock


def _take_if_dead(path):
    """Removes the reservation at `path` when its export ended without releasing it
    (killed); True when it did."""
    if fcntl is None:
        return False
    owner = os.path.join(path, OWNER)
    try:
        lock = open(owner, "rb")
    except OSError:  # being made or removed, or not ours
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Still the same reservation: another export may have taken it over meanwhile.
            if not os.path.samestat(os.fstat(lock.fileno()), os.stat(owner)):
                return False
        except OSError:  # locked: its export runs
            return False
        _discard(path)
    return True


def _owner(path):
    try:
        with open(os.path.join(path, OWNER)) as f:
            owner = json.load(f)
        return f"process {owner['pid']} on {owner['host']}, started {owner['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "owner unknown"


class Reservation:
    """Version `version` of a model folder, held for one export until `release()`.

    Write the version into `work_dir`, then `publish()` it and `release()`.
    """

    def __init__(self, model_dir, version, path, lock, replace):
        self.model_dir, self.version, self.path, self._lock = model_dir, version, path, lock
        self.replace = replace
        self.work_dir = os.path.join(path, "version")
        self.final_dir = os.path.join(model_dir, str(version))
        os.mkdir(self.work_dir)

    def publish(self):
        """Moves the finished version into place in one rename; over the version
        there when reserved with `force` (atomically on Linux: see `replace_dir`)."""
        if self.replace:
            replace_dir(self.work_dir, self.final_dir)
            return
        try:
            rename_noreplace(self.work_dir, self.final_dir)
        except FileExistsError:  # only a writer that does not reserve versions does this
            raise ExportError(
                f"version {self.version} of '{os.path.basename(self.model_dir)}' appeared in "
                f"{self.model_dir} while this export ran, written by something that does not "
                "reserve versions; nothing was replaced, export again") from None

    def release(self):
        """Removes the reservation (and anything unpublished in it)."""
        if self._lock is not None:
            _discard(self.path)
            self._lock.close()
            self._lock = None


def reserve_version(model_dir, version=None, force=False):
    """Reserves a version number of a model folder for one export.

    Args:
        model_dir: str. The model folder; made when missing.
        version: int. The number asked for. Defaults to the next free one: one
            more than the highest version folder, or above, past the numbers
            that other exports hold.
        force: bool. Whether an existing version `version` may be replaced
            (when `version` is given). Defaults to False.

    Returns:
        Reservation.

    Raises:
        UserInputError: `version` exists (without `force`) or another export
            holds it.
    """
    name = os.path.basename(model_dir)
    force = force and version is not None  # the next free number replaces nothing
    claim, lock = _new_claim(model_dir)
    try:
        for entry in os.listdir(model_dir):  # what killed exports left behind
            if entry.startswith(PREFIX):
                _take_if_dead(os.path.join(model_dir, entry))
        candidate = next_version(model_dir) if version is None else version
        while True:
            final = os.path.join(model_dir, str(candidate))
            path = os.path.join(model_dir, f"{PREFIX}{candidate}")
            if force or not os.path.lexists(final):
                if _claim_name(claim, path):
                    # A version can be finished between the check and the claim.
                    if force or not os.path.lexists(final):
                        claim = path
                        return Reservation(model_dir, candidate, path, lock, force)
                    os.rename(path, claim)  # handed back: still ours, still locked
                elif version is not None:
                    raise UserInputError(
                        f"version {version} of '{name}' is being exported by another export "
                        f"({_owner(path)}) in {model_dir}; wait for it to finish (--force "
                        "then replaces it) or leave --version out for the next free one")
            if version is not None:
                raise UserInputError(
                    f"version {version} of '{name}' already exists in {model_dir}; pass "
                    "--force to replace it or leave --version out for the next free one")
            candidate += 1
    except BaseException:
        _discard(claim)
        lock.close()
        raise


def _claim_name(claim, path):
    """Renames our claim to reservation `path`; False when a live export holds it."""
    while True:
        try:
            rename_noreplace(claim, path)
            return True
        except FileExistsError:
            if not _take_if_dead(path):
                return False
