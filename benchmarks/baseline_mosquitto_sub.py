"""Mosquitto's C client as a baseline: the broker's ceiling for one QoS 1 consumer.

``mosquitto_sub -q 1 -c -i ID`` resumes the benchmark's persistent session and
prints each message on a line; nothing is parsed or stored. libmosquitto
acknowledges a QoS 1 message on receipt, before its callback prints it.
A thread reads the pipe in large chunks and counts lines, noting when the
first arrived and when the count reached the target, so the clock needs no
polling.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["ACKS", "LineCounter", "drain", "start"]

ACKS = "auto-ack on receipt (libmosquitto)"


class LineCounter:
    """Counts the lines a process writes to its stdout, with the times they arrived."""

    def __init__(self, proc: subprocess.Popen[bytes], target: int) -> None:
        self.count = 0
        self.first_t = 0.0
        self.first_n = 0
        self.done_t = 0.0
        self._target = target
        self._proc = proc
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._proc.stdout is not None
        while chunk := self._proc.stdout.read1(1 << 20):
            lines = chunk.count(b"\n")
            if not self.first_t:
                self.first_t, self.first_n = time.perf_counter(), lines
            self.count += lines
            if self.count >= self._target and not self.done_t:
                self.done_t = time.perf_counter()

    def __call__(self) -> int:
        return self.count

    def join(self, timeout: float = 10.0) -> None:
        self._thread.join(timeout)


def start(host: str, port: int, client_id: str, target: int,
          topic: str = "telemetry/#") -> tuple[subprocess.Popen[bytes], LineCounter]:
    """Run mosquitto_sub on the persistent session ``client_id``; count what it prints."""
    proc = subprocess.Popen(["mosquitto_sub", "-h", host, "-p", str(port), "-q", "1", "-c",
                             "-i", client_id, "-t", topic], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    return proc, LineCounter(proc, target)


def drain(host: str, port: int, client_id: str, total: int,
          timeout_s: float = 600) -> dict[str, float]:
    """Drain the session's backlog of ``total``; the bench's result row (rate 0 if short)."""
    proc, counter = start(host, port, client_id, total)
    deadline = time.monotonic() + timeout_s
    while counter() < total and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    cpu = _cpu_seconds(proc.pid) if proc.poll() is None else 0.0
    proc.terminate()
    proc.wait(30)
    counter.join()
    elapsed = counter.done_t - counter.first_t
    return {"rate": (total - counter.first_n) / elapsed if counter.done_t else 0.0,
            "stored": counter(), "cpu_ms_per_1k": cpu / total * 1000 * 1000,
            "elapsed": elapsed}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
