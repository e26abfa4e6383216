"""Helper processes of `kc run` die with it: nothing works for a run that is gone."""

from __future__ import annotations

import os
import threading


def die_with_parent_env() -> dict[str, str]:
    """Ask a child to die with this process (prctl PDEATHSIG follows the creating *thread*, so main thread only)."""
    if threading.current_thread() is threading.main_thread():
        return {"KC_DIE_WITH_PARENT": str(os.getpid())}
    return {}


def die_with_parent() -> None:
    """In a child started with `die_with_parent_env()`: SIGKILL when the parent dies (Linux; a no-op elsewhere)."""
    parent = os.environ.pop("KC_DIE_WITH_PARENT", None)
    if not parent:
        return
    try:
        import ctypes
        import ctypes.util
        import signal

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the parent died before the request took effect
        os._exit(1)
