"""Progress of long passes: a live bar on a terminal, one plain line per pass anywhere else.

A bar redraws itself with carriage returns; in a log file or captured output those become one long line
interleaved with the log. Someone reading a log wants to know which passes ran, on how much data and how
long they took, so off a terminal each pass prints a single line when it completes, e.g.
``D_f: 100% (1,234 images, 3.1 s)``.
"""
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from mmengine.utils import ProgressBar


@contextmanager
def progress(desc: str, total: int, unit: str = 'images') -> Iterator[Callable[[int], None]]:
    """Yield ``update(n)``, to call after each ``n`` of ``total`` units are done. An empty ``desc`` shows
    nothing (passes too short to report, e.g. the unlearning curves)."""
    if not desc:
        yield lambda n=1: None
    elif sys.stdout.isatty():
        bar = ProgressBar(total, file=sys.stdout)
        try:
            yield bar.update
        finally:
            sys.stdout.write('\n')  # the next log line starts on its own line, not on the bar's
    else:
        started = time.time()
        yield lambda n=1: None
        print(f'{desc}: 100% ({total:,} {unit}, {time.time() - started:.1f} s)', flush=True)
