"""Experiments keyed by what made them: the unit of computation of the book (issue 47).

An expensive step a chapter runs (one model family trained and scored on a protocol, a seed
sweep, a forecast) is a function decorated with :func:`cached`. Inside a chapter run the call is
looked up in the *store*, ``results/store/<chapter>/`` (``results/<profile>/store/<chapter>/`` for
profiles other than ``full``), which is committed with the results, so a fresh clone benefits
too. An entry is used when everything that made it is unchanged:

* **the arguments**: a SHA-256 over their contents (tensors and arrays by their bytes, data
  classes by their fields) — the recordings' values and the preprocessing that made them enter
  here;
* **the code that ran**: every ``wormlib`` function the call executed (a method with the other
  methods of its class), found by tracing it (also in the worker processes it starts), each hashed as its parsed code (``ast.unparse`` without
  docstrings: comments, docstrings and formatting never change a key), plus the module-level
  code of their modules (constants, imports, class attributes). A change to TAVRNN's cell re-runs
  the entries that executed it and no other;
* **the environment**: torch, NumPy, SciPy, scikit-learn and pandas versions, Python's minor
  version, the device, the thread count and the OpenBLAS core type (they change bits);
* **the data files** the process had read (SHA-256, recorded for provenance; their contents
  enter through the arguments).

Each entry also records what its computation cost: ``seconds`` of wall-clock time and
``cpu_seconds``, the CPU time of the process that computed it (one thread: the core-seconds of
the work). The two differ when the process shared its core: in a chapter run two pages and their
worker processes run at once, and an entry's wall seconds were up to 3.3 times its work
(``benchmarks/retime_entries.py``).

Otherwise the call runs under the tracer and its entry is written, all-or-nothing, into the run's
staging folder (``tools/execute_chapters.py`` promotes it with the page). Every value is stored
losslessly (data frames column by column with their dtypes, arrays by their bytes) and checked
by its SHA-256 when read: an edited entry is an error, never a number.
"""

from __future__ import annotations

import ast
import base64
import copy
import dataclasses
import functools
import hashlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from .atomic import write_text_atomic

PACKAGE_DIR = Path(__file__).resolve().parent
STORE_ENV = "WORMLIB_STORE"
"""JSON ``{"root": folder of the chapter's entries, "stage": staging folder or null, "device": ...}``,
set by ``wormlib.provenance.chapter_config``; worker processes inherit it."""
FORMAT = 3
"""Version of the entry format and of the code hash: entries of another version are not used."""
PLUMBING = {"store.py", "jobs.py", "atomic.py", "results.py", "provenance.py", "transaction.py"}
"""Modules whose code never enters a key: they move values, they do not compute them."""


class StoreError(RuntimeError):
    """An entry of the store cannot be trusted (edited value, unreadable file); says which."""


class UncacheableError(TypeError):
    """An argument or value the store cannot hash or keep losslessly; says which type."""


# ------------------------------------------------------------------------------------------
# Code, hashed as parsed code
# ------------------------------------------------------------------------------------------

class _NoStrings(ast.NodeTransformer):
    """Removes every statement that is a bare string: docstrings, and the strings documenting a
    constant or attribute after its assignment (this project's convention). They compute nothing."""

    def visit_Expr(self, node: ast.Expr):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None
        return self.generic_visit(node)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    tree = _NoStrings().visit(tree)
    for node in ast.walk(tree):
        if isinstance(getattr(node, "body", None), list) and not node.body:
            node.body = [ast.Pass()]
    return tree


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


SKELETON = "<module>"
"""The name of a module's own code in a key: every statement but the function bodies."""


@functools.lru_cache(maxsize=256)
def _module_hashes(path: str, stamp: tuple) -> dict[str, str]:
    """Qualified name → hash of each function and method of a module (parsed, docstrings removed),
    and :data:`SKELETON` → the hash of the rest (imports, constants, class bodies without methods)."""
    tree = _strip_docstrings(ast.parse(Path(path).read_text(), path))
    hashes: dict[str, str] = {}

    def index(body: list, prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hashes[prefix + node.name] = _sha(ast.unparse(node))
            elif isinstance(node, ast.ClassDef):
                index(node.body, f"{prefix}{node.name}.")

    index(tree.body, "")
    skeleton = copy.deepcopy(tree)

    def prune(node: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, (ast.Module, ast.ClassDef)):
                child.body = [s for s in child.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))] \
                    or [ast.Pass()]

    prune(skeleton)
    hashes[SKELETON] = _sha(ast.unparse(skeleton))
    return hashes


def module_hashes(module_file: Path) -> dict[str, str]:
    path = Path(module_file)
    st = path.stat()
    return _module_hashes(str(path), (st.st_mtime_ns, st.st_size))


def code_hash(module_file: Path, qualname: str) -> str | None:
    """The hash of one definition of a module (``SKELETON`` for its module-level code); None when
    the module or definition no longer exists."""
    try:
        return module_hashes(module_file).get(qualname)
    except (OSError, SyntaxError):
        return None


def module_code_hash(module_file: Path) -> str:
    """One hash of a whole module as parsed code: what a page's inputs hash reads (comments,
    docstrings and formatting do not count)."""
    hashes = module_hashes(module_file)
    return _sha(json.dumps(hashes, sort_keys=True))


def _definition(code) -> tuple[str, str] | None:
    """(module file relative to the package, qualified definition) of a code object of
    ``wormlib``: nested functions, lambdas and comprehensions count as the function around them,
    module and class bodies as the module's skeleton. None for code outside the package."""
    try:
        relative = Path(code.co_filename).resolve().relative_to(PACKAGE_DIR)
    except ValueError:
        return None
    if relative.name in PLUMBING and len(relative.parts) == 1:
        return None
    parts = code.co_qualname.split(".")
    if "<locals>" in parts:
        parts = parts[: parts.index("<locals>")]
    name = ".".join(parts)
    hashes = module_hashes(PACKAGE_DIR / relative)
    return relative.as_posix(), name if name in hashes else SKELETON


# ------------------------------------------------------------------------------------------
# The tracer: which wormlib code a call executed
# ------------------------------------------------------------------------------------------

_TRACES: list[set] = []
"""One set per traced call in progress (innermost last): code objects, or (module, name) pairs
of entries read from the store (whose code did not run this time)."""


def _tracer(frame, event, arg):
    if event == "call":
        _TRACES[-1].add(frame.f_code)
    return None


def tracing() -> bool:
    return bool(_TRACES)


def _close(found: set) -> dict[str, str]:
    """{"module:qualname": hash} of a trace's code objects and recorded definitions."""
    out = {}
    for item in found:
        definition = item if isinstance(item, tuple) else _definition(item)
        if definition is None:
            continue
        module, name = definition
        hashes = module_hashes(PACKAGE_DIR / module)
        # a method counts with every method of its class: code the tracer cannot see (an autograd
        # Function's backward on a GPU's own thread) is then in the key all the same
        cls = name.rpartition(".")[0]
        for other in ([n for n in hashes if n.rpartition(".")[0] == cls] if cls else [name]):
            out[f"{module}:{other}"] = hashes[other]
        out[f"{module}:{SKELETON}"] = hashes[SKELETON]
    return dict(sorted(out.items()))


def merge(code: dict[str, str]) -> None:
    """Count an entry's code as run by the traced calls around it."""
    if _TRACES:
        _TRACES[-1].update(tuple(key.split(":", 1)) for key in code)


def traced(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the wormlib code it executed (``{"module:qualname": hash}``)."""
    previous = sys.gettrace()
    _TRACES.append(set())
    sys.settrace(_tracer)
    try:
        value = fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
        found = _TRACES.pop()
    code = _close(found)
    merge(code)
    return value, code


# ------------------------------------------------------------------------------------------
# Arguments, hashed by content
# ------------------------------------------------------------------------------------------

def _update(h, obj) -> None:
    import pandas as pd
    import torch

    if obj is None or isinstance(obj, (bool, int, float, str, bytes)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, (np.generic,)):
        h.update(f"np.{obj.dtype}:{obj.item()!r};".encode())
    elif isinstance(obj, (tuple, list)):
        h.update(f"{type(obj).__name__}[{len(obj)}](".encode())
        for item in obj:
            _update(h, item)
        h.update(b")")
    elif isinstance(obj, dict):
        items = sorted((digest(k), v) for k, v in obj.items())
        h.update(f"dict[{len(items)}](".encode())
        for k, v in items:
            h.update(k.encode())
            _update(h, v)
        h.update(b")")
    elif isinstance(obj, (set, frozenset)):
        h.update(f"set({','.join(sorted(digest(v) for v in obj))})".encode())
    elif isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"tensor:{t.dtype}:{tuple(t.shape)}:".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            _update(h, obj.tolist())
        else:
            h.update(f"ndarray:{obj.dtype.str}:{obj.shape}:".encode())
            h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, pd.DataFrame):
        h.update(f"frame:{list(map(str, obj.columns))}:{[str(d) for d in obj.dtypes]}:".encode())
        h.update(pd.util.hash_pandas_object(obj, index=True).values.tobytes())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"{type(obj).__module__}.{type(obj).__qualname__}(".encode())
        for field in dataclasses.fields(obj):
            if field.metadata.get("provenance"):  # where it came from, not what it is (Recording.source)
                continue
            h.update(field.name.encode())
            _update(h, getattr(obj, field.name))
        h.update(b")")
    elif callable(obj) and hasattr(obj, "__code__"):
        definition = _definition(obj.__code__)
        h.update(f"function:{obj.__module__}.{obj.__qualname__}:".encode())
        if definition is not None:
            h.update(str(code_hash(PACKAGE_DIR / definition[0], definition[1])).encode())
    else:
        raise UncacheableError(f"the store cannot hash an argument of type {type(obj).__qualname__}")


def digest(obj) -> str:
    """SHA-256 of an argument's contents (two equal arguments, equal digests)."""
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------
# Values, kept losslessly
# ------------------------------------------------------------------------------------------

def encode(value):
    """A JSON-able form of a return value from which :func:`decode` rebuilds it exactly."""
    import pandas as pd
    import torch

    if isinstance(value, np.generic):  # before float: np.float64 is one
        return {"__scalar__": value.dtype.str, "value": encode(value.item())}
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__complex__": [encode(value.real), encode(value.imag)]}
    if isinstance(value, (list, tuple)):
        items = [encode(v) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):  # as pairs: JSON objects would lose the order and non-string keys
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        return {"__tensor__": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                "data": base64.b64encode(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"").decode()}
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"__array__": value.dtype.str, "shape": list(value.shape),
                "data": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode()}
    if isinstance(value, pd.DataFrame):
        if not isinstance(value.index, pd.RangeIndex) or value.index.start != 0 or value.index.step != 1:
            raise UncacheableError("the store keeps data frames with a default index (reset_index first)")
        if not all(isinstance(c, str) for c in value.columns):
            raise UncacheableError("the store keeps data frames with string column names")
        return {"__frame__": [[name, str(dtype), [encode(v) for v in value[name].tolist()]]
                              for name, dtype in value.dtypes.items()], "rows": len(value)}
    raise UncacheableError(f"the store cannot keep a value of type {type(value).__qualname__}")


def decode(value):
    import pandas as pd
    import torch

    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float__" in value:
        return float(value["__float__"])
    if "__complex__" in value:
        return complex(*(decode(v) for v in value["__complex__"]))
    if "__scalar__" in value:
        return np.dtype(value["__scalar__"]).type(decode(value["value"]))
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {decode(k): decode(v) for k, v in value["__dict__"]}
    if "__tensor__" in value:
        dtype = getattr(torch, value["__tensor__"])
        raw = bytearray(base64.b64decode(value["data"]))
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        return flat.reshape(value["shape"]).clone()
    if "__array__" in value:
        return np.frombuffer(base64.b64decode(value["data"]), dtype=np.dtype(value["__array__"])) \
            .reshape(value["shape"]).copy()
    if "__frame__" in value:
        columns = {}
        for name, dtype, values in value["__frame__"]:
            columns[name] = pd.Series([decode(v) for v in values], dtype=dtype if dtype != "object" else object)
        return pd.DataFrame(columns, index=pd.RangeIndex(value["rows"]))
    return {k: decode(v) for k, v in value.items()}


def _same(a, b) -> bool:
    """Whether a decoded value equals the original exactly (dtypes and bits)."""
    import pandas as pd
    import torch

    if isinstance(a, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
            return True
        except AssertionError:
            return False
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and \
            _same(a.detach().cpu().numpy(force=True) if a.dtype != torch.bfloat16 else a.float().numpy(),
                  b.detach().cpu().numpy(force=True) if b.dtype != torch.bfloat16 else b.float().numpy())
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def canonical(encoded) -> str:
    return json.dumps(encoded, sort_keys=True, separators=(",", ":"))


# ------------------------------------------------------------------------------------------
# The environment and the data read
# ------------------------------------------------------------------------------------------

def environment(device: str) -> dict[str, str]:
    """What changes the bits of a computation besides its code and arguments."""
    import pandas
    import scipy
    import sklearn
    import torch

    return dict(python=".".join(platform.python_version_tuple()[:2]), torch=torch.__version__,
                numpy=np.__version__, scipy=scipy.__version__, sklearn=sklearn.__version__,
                pandas=pandas.__version__, device=device, threads=str(torch.get_num_threads()),
                openblas_coretype=os.environ.get("OPENBLAS_CORETYPE", ""))


DATA_READ_ENV = "WORMLIB_DATA_READ"
"""The data files a chapter's process had read, for the worker processes it starts (JSON)."""


def data_read() -> dict[str, str]:
    """``<study>/<file>`` → SHA-256 of every data file this process (or, in a worker, the process
    that started it) has verified."""
    from .data.locate import VERIFIED

    inherited = json.loads(os.environ.get(DATA_READ_ENV) or "{}")
    return dict(sorted({**inherited, **VERIFIED}.items()))


# ------------------------------------------------------------------------------------------
# The store
# ------------------------------------------------------------------------------------------

USAGE_DIR = ".usage"
"""Inside a staging folder: one file per process listing the entries it used or wrote."""


FRESH_ENV = "WORMLIB_STORE_FRESH"
"""When set (``tools/execute_chapters.py --fresh``), to the UNIX time at which a run from scratch
began, no entry written before it is read: every experiment is computed again and its entry
rewritten, once — a page that uses an entry another page of the same run computed reads it (a
rerun on the same machine reproduces the committed entries' values bit for bit; their seconds,
and the data files their process had read before them, can differ)."""


def fresh_since() -> float | None:
    """The start of this run from scratch (``FRESH_ENV``), or None outside one."""
    value = os.environ.get(FRESH_ENV, "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{FRESH_ENV} must be the UNIX time a run from scratch began, not {value!r}") from None


def active() -> dict | None:
    """The store configuration of this chapter run (``STORE_ENV``), or None outside one."""
    value = os.environ.get(STORE_ENV)
    return json.loads(value) if value else None


def configure(root: Path, stage: str | None, device: str) -> None:
    """Turn the store on for this process and the processes it starts."""
    os.environ[STORE_ENV] = json.dumps(dict(root=str(root), stage=stage, device=device))


def _entry_name(fn, key: str) -> str:
    return f"{fn.__module__.removeprefix('wormlib.')}.{fn.__qualname__}/{key[:20]}.json"


def _staged(cfg: dict, name: str) -> Path | None:
    if not cfg.get("stage"):
        return None
    from .results import RESULTS_DIR

    return Path(cfg["stage"]) / Path(cfg["root"]).relative_to(RESULTS_DIR) / name


def log_use(kind: str, name: str, sha: str) -> None:
    """Note in the run's staging folder that this process used a store entry (``kind`` "entry") or
    read a data file ("data"): the runner records both in the page's metadata."""
    stage = os.environ.get("WORMLIB_RESULTS_STAGE")  # wormlib.results.STAGE_ENV
    if not stage:
        return
    folder = Path(stage) / USAGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{os.getpid()}.txt", "a") as fh:
        fh.write(f"{kind} {name} {sha}\n")


def _log_entry(cfg: dict, name: str, value_sha: str) -> None:
    from .results import RESULTS_DIR

    if not cfg.get("stage"):
        return
    log_use("entry", (Path(cfg["root"]) / name).relative_to(RESULTS_DIR).as_posix(), value_sha)


def read_entry(path: Path) -> dict:
    """An entry file, its value checked against its SHA-256 (StoreError otherwise)."""
    try:
        entry = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable store entry ({exc}); delete it to recompute") from None
    if _sha(canonical(entry.get("value"))) != entry.get("value_sha256"):
        raise StoreError(f"{path}: its value does not match its SHA-256 (edited by hand?); delete the file "
                         "to recompute it")
    return entry


def changed_code(entry: dict) -> list[str]:
    """The definitions an entry executed (``module:qualname``) whose code is not what it was."""
    return [key for key, value in entry.get("code", {}).items()
            if code_hash(PACKAGE_DIR / key.split(":", 1)[0], key.split(":", 1)[1]) != value]


def still_valid(entry: dict, arguments: str, env: dict) -> bool:
    """Whether an entry was made by these arguments, in this environment, by the code there is now."""
    return (entry.get("format") == FORMAT and entry.get("arguments_sha256") == arguments
            and entry.get("environment") == env and not changed_code(entry))


MISS = object()
"""What :func:`lookup` returns when the store holds no valid entry for a call."""


def _key(fn, args: tuple, kwargs: dict, threads: int | None = None) -> tuple[dict, str, dict, str]:
    """(store configuration, arguments' digest, environment, entry name) of a call."""
    cfg = active()
    arguments = digest((f"{fn.__module__}.{fn.__qualname__}", args, kwargs))
    env = environment(cfg["device"])
    if threads is not None:
        env["threads"] = str(threads)
    return cfg, arguments, env, _entry_name(fn, _sha(canonical(dict(arguments=arguments, environment=env))))


def lookup(fn, args: tuple, kwargs: dict | None = None, threads: int | None = None):
    """The stored value of ``fn(*args, **kwargs)`` (``fn`` the function :func:`cached` wraps, or the
    wrapper), or :data:`MISS`: how ``wormlib.jobs`` sends only the jobs the store lacks to workers
    (``threads``: the thread count the call would run with there, if not this process's)."""
    fn = getattr(fn, "uncached", fn)
    if active() is None:
        return MISS
    return _find(*_key(fn, args, kwargs or {}, threads))


def _find(cfg: dict, arguments: str, env: dict, name: str):
    """The value of the valid entry under ``name`` (this run's stage first), or :data:`MISS`."""
    since = fresh_since()
    for path in (_staged(cfg, name), Path(cfg["root"]) / name):
        if path is not None and path.exists() and (since is None or path.stat().st_mtime >= since):
            entry = read_entry(path)
            if still_valid(entry, arguments, env):
                merge(entry["code"])
                _log_entry(cfg, name, entry["value_sha256"])
                return decode(entry["value"])
    return MISS


def call(fn, args: tuple, kwargs: dict):
    """``fn(*args, **kwargs)`` through the store of this chapter run (see the module's docstring)."""
    cfg, arguments, env, name = _key(fn, args, kwargs)
    value = _find(cfg, arguments, env, name)
    if value is not MISS:
        return value
    start, cpu_start = time.perf_counter(), time.process_time()
    value, code = traced(fn, *args, **kwargs)
    encoded = encode(value)
    if not _same(value, decode(encoded)):
        raise UncacheableError(f"{fn.__qualname__}: its value does not survive the store exactly")
    entry = dict(format=FORMAT, experiment=f"{fn.__module__}.{fn.__qualname__}", arguments_sha256=arguments,
                 environment=env, code=code, data_files=data_read(),
                 seconds=round(time.perf_counter() - start, 1), cpu_seconds=round(time.process_time() - cpu_start, 1),
                 value_sha256=_sha(canonical(encoded)),
                 value=encoded)
    target = _staged(cfg, name) or Path(cfg["root"]) / name
    write_text_atomic(target, json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
    _log_entry(cfg, name, entry["value_sha256"])
    return value


def cached(fn):
    """Decorator: inside a chapter run, ``fn``'s calls go through the store (:func:`call`);
    elsewhere (tests, a plain script) ``fn`` runs as written. ``fn`` must be deterministic given
    its arguments (it seeds itself), and its value a data frame, tensor, array or plain
    container of them."""
    @functools.wraps(fn)
    def through_store(*args, **kwargs):
        if active() is None:
            return fn(*args, **kwargs)
        return call(fn, args, kwargs)

    through_store.uncached = fn
    return through_store
