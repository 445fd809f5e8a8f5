"""Chapter configuration from the papermill parameters and `chapters/profiles.toml`, and provenance
of executed chapters.

A chapter is identified by the hash of its inputs: its source (``chapters/<name>.py``), the
``wormlib`` files it can load, its parameters and its profile's sizes. ``tools/execute_chapters.py``
stores the hash in the executed notebook's metadata and re-executes only when it changed; a test
fails when a committed notebook's hash is stale.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import random
import subprocess
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

import wormlib

from .data.locate import REPO_ROOT


@dataclass(frozen=True)
class Config:
    """Everything a chapter's sizes depend on (``chapters/profiles.toml``)."""

    chapter: str
    profile: str
    device: str
    seed: int
    n_folds: int
    steps: int
    max_subsets: int | None
    hidden: int
    n_seeds: int
    family_steps: tuple[tuple[str, int], ...] = ()

    def describe(self) -> str:
        import textwrap

        return textwrap.fill(", ".join(f"{k}={v}" for k, v in asdict(self).items()), width=88)

    def train_config(self, **overrides):
        """The wormlib.train.TrainConfig of this chapter run."""
        from .train import TrainConfig

        return TrainConfig(**{**dict(steps=self.steps, seed=self.seed, device=self.device,
                                     family_steps=self.family_steps), **overrides})


SIZES = tuple(f.name for f in fields(Config))[4:-1]
"""The sizes a profile sets: every field of :class:`Config` after chapter, profile, device and
seed, but ``family_steps``, the optional table ``[<profile>.family_steps]`` (each network
family's optimiser steps, at most ``steps``: chosen by chapter 2's learning curves,
``wormlib.stepcount``)."""


SIZE_RULES = {
    "n_folds": (2, "cross-validation needs at least 2 folds"),
    "steps": (1, "an untrained network would be scored as if it were trained"),
    "max_subsets": (1, "every protocol needs at least one training subset (leave it out for all)"),
    "hidden": (1, "a network needs at least one hidden unit"),
    "n_seeds": (2, "the chapters report the spread across seed replicates, which needs at least 2"),
}
"""Each size's smallest value and why: ``load_profiles`` refuses anything else."""


def load_profiles() -> dict[str, dict]:
    """Each profile's sizes from ``chapters/profiles.toml`` (``max_subsets`` absent → None), each
    checked (an integer, at least its ``SIZE_RULES`` minimum: ``ProfileError`` otherwise). A data
    file, not a module: the inputs hash of a chapter reads only its own profile's entry."""
    import tomllib

    path = REPO_ROOT / "chapters" / "profiles.toml"
    try:
        profiles = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path.name} is not valid TOML: {exc}") from None
    for name, sizes in profiles.items():
        if not isinstance(sizes, dict):
            raise ProfileError(f"{path.name}: [{name}] must be a table of sizes, not {sizes!r}")
        family_steps = sizes.pop("family_steps", {})
        _check_family_steps(path.name, name, family_steps, sizes.get("steps"))
        unknown, missing = set(sizes) - set(SIZES), set(SIZES) - set(sizes) - {"max_subsets"}
        if unknown or missing:
            raise ProfileError(f"{path.name} [{name}]: unknown sizes {sorted(unknown)}, missing "
                               f"{sorted(missing)}; each profile sets {', '.join(SIZES)}")
        for size, value in sizes.items():
            smallest, why = SIZE_RULES[size]
            if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
                raise ProfileError(f"{path.name} [{name}]: {size} = {value!r} is not allowed: it must be a "
                                   f"whole number ≥ {smallest} ({why})")
        sizes["family_steps"] = tuple(sorted(family_steps.items()))
    return {name: {k: sizes.get(k) for k in (*SIZES, "family_steps")} for name, sizes in profiles.items()}


def _check_family_steps(file: str, profile: str, table, ceiling) -> None:
    """ProfileError unless ``table`` maps known network families (``stepcount.FAMILIES``) to
    whole numbers of steps in [1, ``ceiling``]."""
    from .stepcount import FAMILIES

    if not isinstance(table, dict):
        raise ProfileError(f"{file} [{profile}.family_steps] must be a table of family = steps")
    for family, value in table.items():
        if family not in FAMILIES:
            raise ProfileError(f"{file} [{profile}.family_steps]: unknown family {family!r}; the families "
                               f"are {', '.join(FAMILIES)}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= (ceiling or 0):
            raise ProfileError(f"{file} [{profile}.family_steps]: {family} = {value!r} must be a whole number "
                               f"of steps from 1 to the profile's steps ({ceiling})")


class ParameterError(ValueError):
    """A chapter parameter (profile, device, seed) that cannot be used; says which values can."""


class ProfileError(ParameterError):
    """A size in ``chapters/profiles.toml`` that cannot be used; says which value and why."""


class ForeignLibraryError(ImportError):
    """The kernel imported a ``wormlib`` other than this repository's: its numbers would not be
    the ones the inputs hash describes."""


REPO_ENV = "WORMLIB_REPO"
"""Set by ``tools/execute_chapters.py``: the repository whose ``wormlib`` a chapter must import."""


def check_library() -> Path:
    """The folder of the ``wormlib`` this process imported; ``ForeignLibraryError`` when a chapter
    is run for a repository (``WORMLIB_REPO``, or the repository whose ``chapters/`` is the
    working folder) whose own ``wormlib`` is not that one."""
    imported = Path(wormlib.__file__).resolve().parent
    expected = os.environ.get(REPO_ENV)
    if not expected and Path.cwd().name == "chapters" and (Path.cwd().parent / "wormlib").is_dir():
        expected = str(Path.cwd().parent)
    if expected and imported != (Path(expected) / "wormlib").resolve():
        raise ForeignLibraryError(
            f"this kernel imported wormlib from {imported}, not the repository's own "
            f"{Path(expected) / 'wormlib'}: another checkout's install is first on the path. Run the "
            "chapter with tools/execute_chapters.py, or `pip install -e .` in this repository.")
    return imported


DEVICES = ("auto", "cpu", "cuda", "mps")
SEED_MAX = 2**32 - 1


def resolve_device(device: str) -> str:
    """The device a chapter really runs on: ``auto`` → ``cuda`` when a GPU is there, else
    ``cpu``; ``cuda``/``mps`` only where torch has them (ParameterError otherwise)."""
    import torch

    if not isinstance(device, str) or device not in DEVICES:
        raise ParameterError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device='cuda' was asked for but torch sees no GPU; use 'auto' or 'cpu'")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ParameterError("device='mps' was asked for but this torch has no usable MPS backend; "
                             "use 'auto' or 'cpu'")
    return device


def check_seed(seed) -> int:
    """``seed`` as an int in [0, 2**32 - 1] (what NumPy and torch accept), else ParameterError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= SEED_MAX:
        raise ParameterError(f"seed must be an integer in [0, {SEED_MAX}], not {seed!r}")
    return int(seed)


CROSS_MACHINE_TOLERANCE = {"correlation": 0.05}
"""How far a number the book states may move between machines (other CPU, BLAS or torch
build) for the same code, seed and data. Reruns on one machine are bit-identical; trained
models differ across machines in the last float bits, which training amplifies. Measured: the
inferred-graph-vs-connectome r of chapter 2 was −0.0126 on one machine and +0.0117 on another."""


def machine_stable(value: float, name: str, tolerance: float, digits: int = 2) -> str:
    """``value`` as prose that stays true across machines: a number whose magnitude is inside
    the cross-machine ``tolerance`` is not stated with a sign (``|r| < 0.05``)."""
    if abs(value) < tolerance:
        return f"|{name}| < {tolerance:g}, i.e. indistinguishable from 0 (its sign differs between machines)"
    return f"{name} = {value:+.{digits}f}".replace("-", "−")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; make torch deterministic on the CPU."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def chapter_config(chapter: str, profile: str, device: str, seed: int) -> Config:
    """The chapter's Config from its papermill parameters (each checked: ParameterError); checks
    that the kernel imported this repository's wormlib, seeds everything, starts the clock and
    turns on the experiment store (``wormlib.store``) for the chapter's expensive steps."""
    check_library()
    profiles = load_profiles()
    if not isinstance(profile, str) or profile not in profiles:
        raise ParameterError(f"profile must be one of {sorted(profiles)}, not {profile!r}")
    seed = check_seed(seed)
    resolved = resolve_device(device)
    seed_everything(seed)
    _CLOCK[chapter] = time.perf_counter()
    from . import store
    from .results import STAGE_ENV, store_dir

    store.configure(store_dir(chapter, profile), os.environ.get(STAGE_ENV), resolved)
    return Config(chapter, profile, resolved, seed, **profiles[profile])


_CLOCK: dict[str, float] = {}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        # executed notebooks (chapters/*.ipynb) are outputs, not inputs: they never make it dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "wormlib", "chapters/*.py",
                                "chapters/profiles.toml"],
                               cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        return out + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def banner(cfg: Config) -> str:
    """One provenance line: profile, device, library version and commit, inputs hash."""
    import torch

    return (f"{cfg.chapter}: profile={cfg.profile}, device={cfg.device}, seed={cfg.seed}\n"
            f"wormlib {wormlib.__version__} @ {git_commit()}\n"
            f"torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}")


def elapsed(cfg: Config) -> str:
    """How long the chapter has run, for its closing provenance line."""
    return f"{cfg.chapter} ran in {time.perf_counter() - _CLOCK.get(cfg.chapter, time.perf_counter()):.0f} s"


def chapter_source(chapter: str) -> Path:
    return REPO_ROOT / "chapters" / f"{chapter}.py"


def _module_path(name: str) -> Path | None:
    """The file of a module of this repository (``wormlib.data.kato`` → wormlib/data/kato.py, a
    package → its ``__init__.py``), or None."""
    base = REPO_ROOT.joinpath(*name.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.exists()), None)


def _wormlib_imports(path: Path, module: str) -> set[str]:
    """Every ``wormlib`` module name an import statement of ``path`` (the module ``module``) may
    load, wherever the statement stands (also inside functions): ``from .x import y`` gives the
    package's ``x`` and ``x.y`` (a submodule, if one exists)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            base = ".".join(parts + ([node.module] if node.module else []))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {n for n in names if n.split(".")[0] == "wormlib"}


def library_closure(path: Path, module: str = "__main__") -> list[Path]:
    """The wormlib files that running ``path`` can load: its wormlib imports, their parent
    packages (whose ``__init__`` runs first) and, transitively, theirs."""
    seen: dict[str, Path] = {}
    todo = [(path, module)]
    while todo:
        for name in _wormlib_imports(*todo.pop()):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                sub = ".".join(parts[:i])
                sub_path = _module_path(sub)
                if sub_path is not None and sub not in seen:
                    seen[sub] = sub_path
                    todo.append((sub_path, sub))
    return sorted(seen.values())


SCORECARD_EVIDENCE = ("classification", "classification-seeds", "classification-time", "trajectories",
                      "trajectories-without-future", "discussion-neurons", "discussion-graphs")
"""The results files ``scorecard.evidence_records`` reads: the pages of chapters 3 and 4 and chapter
5's pages of experiments (a test checks it against ``results.PARTS``)."""

RESULTS_READ = {"01_background": ("background-manifolds",),
                "03_seeds_and_design": ("classification",),
                "03_time_context": ("classification", "classification-seeds"),
                "04_without_the_future": ("trajectories",),
                "05_neurons_and_normalisation": ("classification", "classification-seeds", "classification-time"),
                "05_discussion": SCORECARD_EVIDENCE,
                "05_shared_training_worms": SCORECARD_EVIDENCE,
                "05_what_changed": SCORECARD_EVIDENCE,
                "06_your_worms": ("discussion-graphs",)}
"""Results files (``results/[<profile>/]<name>.json``) that a chapter reads besides its own, of the
profile it runs: part of its inputs hash, so that it is re-executed when they change (tests check
this list against the source)."""


def results_read(chapter: str, profile: str) -> list[Path]:
    from .results import results_path

    return [results_path(name, profile) for name in RESULTS_READ.get(chapter, ())]


def inputs_hash(chapter: str, profile: str, device: str, seed: int, threads: int = 1) -> str:
    """SHA-256 over what a page shows: the chapter source (its prose too: a page re-executes for a
    sentence, cheaply, since its experiments come from the store), the wormlib modules it can load
    (``library_closure``) as parsed code (``store.module_code_hash``: comments, docstrings and
    formatting do not count; a module no import of the chapter reaches, e.g. the scorecard for
    chapter 3, does not count either), the results files of the same profile it reads, the
    parameters and thread count, the sizes of ``profile`` (not the other profiles'), and the
    versions of the libraries that change bits. The data files a page read are checked apart
    (``tools/execute_chapters.py``), by the SHA-256 recorded when it ran."""
    from . import store

    digest = hashlib.sha256()
    source = chapter_source(chapter)
    digest.update(source.read_bytes())
    for path in library_closure(source):
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
        digest.update(store.module_code_hash(path).encode())
    for path in results_read(chapter, profile):
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<absent>")
    env = {k: v for k, v in store.environment(device).items() if k != "threads"}
    sizes = load_profiles().get(profile)
    digest.update(json.dumps(dict(profile=profile, device=device, seed=seed, threads=threads, sizes=sizes,
                                  environment=env), sort_keys=True).encode())
    return digest.hexdigest()
