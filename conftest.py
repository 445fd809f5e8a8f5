"""Repository-wide pytest settings.

``pytest --nbval`` runs the chapter notebooks (``chapters/*.ipynb``, the quick profile) and
compares only the outputs of cells tagged ``nbval-check-output`` (stable counts, shapes and
rounded values), i.e. it behaves as ``--nbval-lax``: timings, device strings, figures and
floats that differ in the last digits between machines are never compared. The kernel is the
Python running pytest, so the notebooks use the same environment and the same wormlib.
"""


import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
from toolargs import chapter_environment  # noqa: E402

# the notebooks' kernels and the xdist workers (started after this) inherit it: toolargs.CHAPTER_ENV
chapter_environment()


def pytest_configure(config):
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        # ``make test`` runs one pytest-xdist worker per core (``-n auto --dist loadfile``: a test
        # file, e.g. one chapter notebook, stays on one worker): one thread each, inherited by the
        # notebooks' kernels, so that the workers do not fight over the cores; for the same reason
        # chapter 3 trains its jobs in its own process (wormlib.jobs: the same bits either way).
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        os.environ.setdefault("WORMLIB_WORKERS", "1")
    if getattr(config.option, "nbval", False):
        config.option.nbval_lax = True
        config.option.nbval_current_env = True
        # The notebooks nbval re-runs save their results into a throwaway staging folder (the
        # kernels inherit this variable): a test run never changes results/ (nor, through the
        # results chapter 5 reads, whether an executed chapter counts as current). Chapter 5
        # reads chapters 3 and 4's results from that folder when its worker ran them, else the
        # committed quick-profile results (results/quick/) that its reference notebook was made from.
        import tempfile

        from wormlib.results import STAGE_ENV

        os.environ[STAGE_ENV] = tempfile.mkdtemp(prefix="wormlib-nbval-results-")


def pytest_collection_modifyitems(config, items):
    """Longest files first, so that two pytest-xdist workers finish together: ``make test`` hands
    out whole files in collection order (``--dist loadfile --no-loadscope-reorder``). The chapter
    notebooks come first, longest first by the run time their last quick execution recorded
    (chapter 3's ≈ 2 min is a third of the suite), then the test files, most tests first."""
    from collections import Counter

    from execute_chapters import recorded

    files = Counter(str(item.fspath) for item in items)
    runtime = {path: recorded(Path(path)).get("runtime_s", 0.0) if path.endswith(".ipynb") else 0.0
               for path in files}
    items.sort(key=lambda item: (-runtime[str(item.fspath)], -files[str(item.fspath)], str(item.fspath)))
