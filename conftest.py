"""Repository-wide pytest settings.

``pytest --nbval`` runs the chapter notebooks (``chapters/*.ipynb``, the quick profile) and
compares only the outputs of cells marked ``# NBVAL_CHECK_OUTPUT`` (stable counts, shapes and
rounded values), i.e. it behaves as ``--nbval-lax``: timings, device strings, figures and
floats that differ in the last digits between machines are never compared. The kernel is the
Python running pytest, so the notebooks use the same environment and the same wormlib.
"""


def pytest_configure(config):
    if getattr(config.option, "nbval", False):
        config.option.nbval_lax = True
        config.option.nbval_current_env = True
