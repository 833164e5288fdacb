"""The allocator setting makes large freed blocks leave the process (glibc, Linux)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")

# Big blocks freed between small ones that stay: a heap cannot give those pages back.
SCRIPT = """
import ctypes, sys
from app.core.memory import tune_allocator
if sys.argv[1] == "tuned":
    assert tune_allocator()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
first = libc.malloc(8 << 20); libc.free(first)      # glibc's threshold rises past 4 MiB here
big, pins = [], []
before = rss()
for _ in range(40):
    p = libc.malloc(4 << 20)
    ctypes.memset(p, 1, 4 << 20)                     # touch every page
    big.append(p)
    pins.append(libc.malloc(100 << 10))              # stays, between the big ones
for p in big:
    libc.free(p)
print(rss() - before)
"""


def kept_mb(mode: str) -> int:
    r = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip())


def test_large_freed_blocks_go_back_to_the_os():
    assert kept_mb("default") > 100       # the problem: 160 MB freed, still resident
    assert kept_mb("tuned") < 20
