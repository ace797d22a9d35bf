"""Child processes that can't outlive the process that started them."""
import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn: the kernel sends SIGTERM to the child when its parent dies, even by SIGKILL."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
