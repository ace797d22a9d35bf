"""Keep a test's rate-limited attempts inside one of the limiter's clock-aligned windows."""
import time


def wait_for_fresh_window(window=60, needed=8):
    """Sleep past a fixed-window boundary if fewer than `needed` seconds of the window are left,
    so that a test's attempts all fall into one rate-limit window (the limiter's windows start
    at multiples of `window` since the epoch: `orchestrator/ratelimit.py`)."""
    left = window - time.time() % window
    if left < needed:
        time.sleep(left + 0.2)
