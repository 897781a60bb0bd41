"""Password hashing at idle CPU priority.

A password check costs most of a second of CPU (PBKDF2) on purpose. Logins from
anyone, guesses included, would otherwise take that CPU from logged-in students'
pages: 8 threads of wrong logins pushed a status poll from 15 ms to 2.1 s (issue 9).
The login throttle (django-axes) stops a guesser after a few failures, but only once
they have been hashed, and a burst arrives together. So each web process hashes on one
thread of its own at nice 19: the kernel gives it only CPU that nothing else wants,
and a process hashes one password at a time.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth.hashers import PBKDF2PasswordHasher

IDLE_NICE = 19
_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def _lower_this_threads_priority() -> None:
    # On Linux the nice value is per thread: this lowers the hashing thread only.
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IDLE_NICE)


def hashing_pool() -> ThreadPoolExecutor | None:
    """This process's hashing thread; None where nice is not per thread (not Linux)."""
    global _pool, _pool_pid
    if sys.platform != "linux":
        return None
    with _pool_lock:
        # A forked child (a Celery or gunicorn worker) does not inherit the thread.
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(1, "password-hashing", initializer=_lower_this_threads_priority)
            _pool_pid = os.getpid()
        return _pool


class IdlePriorityPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 (same algorithm name and hashes), computed on the idle thread."""

    def encode(self, password, salt, iterations=None):
        pool = hashing_pool()
        if pool is None:
            return super().encode(password, salt, iterations)
        return pool.submit(super().encode, password, salt, iterations).result()
