"""Run one command and report its wall time and peak memory as JSON (used by bench/run.py).

Usage: python bench/_measure.py RESULT.json -- COMMAND [ARG...]

Each measured command gets a fresh launcher process, because RUSAGE_CHILDREN's ru_maxrss is the
maximum over every child a process has ever waited for: only a fresh parent gives a per-command
number. ru_maxrss is the peak of the single largest process (python, or jsii's node, or the cdktf
CLI); a sampler thread also sums the RSS of the whole process tree every 50 ms, since the
processes of one run are alive at the same time. Standard library only, so the launcher's own
start-up stays small and is not part of the timed span anyway.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time

SAMPLE_INTERVAL_S = 0.05
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _parents() -> dict[int, int]:
    """pid -> ppid for every process (the kernel here has no /proc/<pid>/task/<tid>/children)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue  # exited between listdir and open
        # The command name may hold spaces and parentheses; the fields after the last ')' do not.
        parents[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    return parents


def _tree_rss_kb(root: int) -> int:
    parents = _parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE_KB
        except OSError:
            pass
    return total


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    result_path, command = sys.argv[1], sys.argv[3:]
    peak_tree_kb = 0
    done = threading.Event()

    start = time.perf_counter()
    proc = subprocess.Popen(command)

    def sample() -> None:
        nonlocal peak_tree_kb
        while not done.is_set():
            peak_tree_kb = max(peak_tree_kb, _tree_rss_kb(proc.pid))
            done.wait(SAMPLE_INTERVAL_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = proc.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()

    largest_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump({"wall_s": wall, "rc": rc, "largest_process_kb": largest_kb, "tree_sampled_kb": peak_tree_kb}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
