"""The environment the launcher gives a node with a skewed clock, on a real JVM (these tests
run where the clock-skew faults run: libfaketime and Java 17 are needed, and their absence is a
failure that says so)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))

from cassandra_local import LauncherError, faketime_env, find_java17

JVM_CLOCK_PROBE = """
public class Probe {
    public static void main(String[] args) throws Exception {
        long start = System.nanoTime();
        Object lock = new Object();
        synchronized (lock) { lock.wait(400); }
        java.util.concurrent.locks.LockSupport.parkNanos(400_000_000L);
        System.out.println(System.currentTimeMillis() + " " + (System.nanoTime() - start));
    }
}
"""


def test_a_jvm_under_the_skewed_clock_waits_as_long_as_asked(tmp_path: Path) -> None:
    """The environment a skewed node runs in, on a real JVM: its wall clock is moved, its timed
    waits still last as long as asked (libfaketime's default monotonic workaround made them
    return at once, and a Cassandra node spun its timer threads)."""
    try:
        env = faketime_env(tmp_path / "offset")
        java = find_java17()
    except LauncherError as exc:
        pytest.fail(f"the clock-skew faults need this: {exc}", pytrace=False)
    (tmp_path / "offset").write_text("+3600\n")
    source = tmp_path / "Probe.java"
    source.write_text(JVM_CLOCK_PROBE)
    before = time.time()
    done = subprocess.run(
        [java, str(source)], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    wall_ms, waited_ns = (int(x) for x in done.stdout.split())
    assert 3500 < wall_ms / 1000 - before < 3800  # an hour ahead, give or take the JVM's start
    assert waited_ns >= 790_000_000, f"timed waits returned after {waited_ns / 1e6:.1f} ms"
