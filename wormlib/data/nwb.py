"""Recordings in NWB (Neurodata Without Borders) → :class:`Recording`, and back (issue 52).

The layout read is the one the field shares whole-brain recordings in (the WormID collections,
the Flavell lab's exports), reduced to what the book's question needs:

* **calcium traces**: a ``RoiResponseSeries`` (in a ``Fluorescence`` or ``DfOverF`` container,
  usually in ``processing/ophys``), (frames, neurons), with ``timestamps`` in seconds or a
  ``starting_time`` and ``rate``; ``conversion`` and ``offset`` are applied;
* **neuron identities**: a text column of the ROI table the series' ``rois`` point to
  (``label``, ``ID_labels``, …; :data:`LABEL_COLUMNS`); an empty or numeric entry is an
  unidentified ROI, as in :func:`wormlib.data.clean_labels`;
* **behaviour**: a ``TimeIntervals`` table with a text column naming each interval's state
  (:data:`STATE_COLUMNS`); a frame whose time lies in [start, stop) of an interval has its state,
  a frame in none is unlabelled; other per-frame signals (velocity, …) are ``TimeSeries`` of the
  ``behavior`` processing module on the traces' timestamps and become ``Recording.extra``.

Files are opened through :func:`wormlib.data.files.open_hdf5` first, so an NWB file that links
outside itself is refused (``UnsafeFileError``), and checked against a ``SHA256SUMS`` beside them
when there is one. Every problem is a named error that names the file and the object.
:func:`write_nwb` writes a Recording in the same layout (the tests' files, the Dag export).
"""

from __future__ import annotations

import os
import re
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, DataNotFoundError, InvalidValuesError, LayoutError, ShapeMismatchError
from .files import open_hdf5, require_file
from .locate import verify_sha256sums
from .recording import UNLABELLED, Recording, clean_labels

LABEL_COLUMNS = ("label", "labels", "ID_labels", "neuron_label", "neuron_name", "name")
"""Columns of an ROI table that name the neuron, in the order they are looked for."""
STATE_COLUMNS = ("state", "behavior", "behaviour", "behavioral_state", "label")
"""Columns of a TimeIntervals table that name the behavioural state, in the order looked for."""
SECONDS = ("seconds", "second", "s")


def _objects(nwbfile, kind) -> list:
    return sorted((o for o in nwbfile.objects.values() if isinstance(o, kind)), key=_where)


def _where(obj) -> str:
    """An object's path in the file (``processing/ophys/Fluorescence/calcium``)."""
    parts = []
    while obj is not None and obj.parent is not None:
        parts.append(obj.name)
        obj = obj.parent
    parts.reverse()
    for group in ("processing", "acquisition", "intervals"):
        if parts and parts[0] in (getattr(obj, group, None) or {}):
            return "/".join([group, *parts])
    return "/".join(parts)


def _pick(found: list, wanted: str | None, what: str, path: Path):
    if wanted is not None:
        chosen = [o for o in found if _where(o) == wanted or o.name == wanted]
        if len(chosen) != 1:
            raise LayoutError(f"{path}: no single {what} named {wanted!r}; the file has "
                              f"{[_where(o) for o in found] or 'none'}.")
        return chosen[0]
    if not found:
        return None
    if len(found) > 1:
        raise LayoutError(f"{path}: {len(found)} {what}s ({', '.join(_where(o) for o in found)}); say which one "
                          f"to read (load_nwb(..., {'traces' if 'series' in what else 'states'}=<path>)).")
    return found[0]


def _check_time_units(handle, path: Path) -> None:
    """InvalidValuesError for a ``timestamps`` or ``starting_time`` dataset whose unit is not
    seconds (NWB's only unit of time; pynwb does not check it on read)."""
    def visit(name: str, obj) -> str | None:
        if name.rsplit("/", 1)[-1] in ("timestamps", "starting_time") and hasattr(obj, "attrs"):
            unit = obj.attrs.get("unit")
            unit = unit.decode() if isinstance(unit, bytes) else unit
            if unit is not None and str(unit).lower() not in SECONDS:
                return f"{path}: {name} is in {unit!r}; NWB times are seconds."
        return None

    problem = handle.visititems(visit)
    if problem:
        raise InvalidValuesError(problem)


def _timestamps(series, path: Path, n_frames: int) -> np.ndarray:
    where = f"{path}: {_where(series)}"
    if series.timestamps is not None:
        time = np.asarray(series.timestamps[:], dtype=np.float64)
    elif series.rate:
        time = series.starting_time + np.arange(n_frames) / float(series.rate)
    else:
        raise LayoutError(f"{where}: neither timestamps nor a sampling rate.")
    if time.shape != (n_frames,):
        raise ShapeMismatchError(f"{where}: {time.size} timestamps for {n_frames} frames.")
    return time


def _labels(series, path: Path, label_column: str | None) -> list[str | None]:
    where = f"{path}: {_where(series)}"
    rois = getattr(series, "rois", None)
    if rois is None:
        raise LayoutError(f"{where}: no ROI table, so no neuron identities.")
    table = rois.table
    columns = [label_column] if label_column else [c for c in LABEL_COLUMNS if c in table.colnames]
    if not columns or columns[0] not in table.colnames:
        raise LayoutError(f"{where}: the ROI table '{table.name}' has no neuron label column (looked for "
                          f"{label_column or ', '.join(LABEL_COLUMNS)}; it has {', '.join(table.colnames)}). "
                          "Without identities no neuron can be matched across worms.")
    values = table[columns[0]][:]
    rows = np.asarray(rois.data[:], dtype=np.int64)
    raw = [values[r] for r in rows]
    raw = [v.decode() if isinstance(v, bytes) else v for v in raw]
    if any(not isinstance(v, str) for v in raw):
        raise InvalidValuesError(f"{where}: the label column '{columns[0]}' holds non-text values.")
    return clean_labels(raw, f"{where} (column '{columns[0]}')")


def _states(table, column: str | None, time: np.ndarray, state_names, path: Path):
    where = f"{path}: {_where(table)}"
    columns = [column] if column else [c for c in STATE_COLUMNS if c in table.colnames]
    if not columns or columns[0] not in table.colnames:
        raise LayoutError(f"{where}: no state column (looked for {column or ', '.join(STATE_COLUMNS)}; it has "
                          f"{', '.join(table.colnames)}).")
    start = np.asarray(table["start_time"][:], dtype=np.float64)
    stop = np.asarray(table["stop_time"][:], dtype=np.float64)
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in table[columns[0]][:]]
    if (stop <= start).any():
        raise InvalidValuesError(f"{where}: an interval stops before it starts.")
    present = sorted(set(names))
    state_names = tuple(state_names) if state_names is not None else tuple(present)
    unknown = [n for n in present if n not in state_names]
    if unknown:
        raise InvalidValuesError(f"{where}: states {unknown} are not among the state names {state_names}.")
    codes = np.full(time.shape, UNLABELLED, dtype=np.int64)
    for a, b, name in zip(start, stop, names):
        inside = (time >= a) & (time < b)
        if (codes[inside] != UNLABELLED).any():
            raise InvalidValuesError(f"{where}: intervals overlap at {a:g}–{b:g} s; a frame has one state.")
        codes[inside] = state_names.index(name)
    if not (codes != UNLABELLED).any():
        raise InvalidValuesError(f"{where}: no interval covers any frame of the recording "
                                 f"({time[0]:g}–{time[-1]:g} s): its timestamps do not match the traces'.")
    return codes, state_names


def read_nwb(path: Path | str, *, study: str = "nwb", traces: str | None = None, states: str | None = None,
             state_column: str | None = None, state_names: tuple[str, ...] | None = None,
             label_column: str | None = None, require_states: bool = True, verify: bool | None = None) -> Recording:
    """One NWB file as a :class:`Recording` (see the module's docstring for the layout).

    ``traces``/``states``: the path (or name) of the ``RoiResponseSeries`` and of the
    ``TimeIntervals`` table, needed only when the file has several. ``state_names``: the state
    codes' order (default: the states present, alphabetically). ``require_states``: a file
    without behaviour is an error (a classifier needs labels); False gives a recording whose
    frames are all unlabelled. ``verify``: check against the folder's ``SHA256SUMS`` (None: when
    there is one).
    """
    import pynwb
    from pynwb.epoch import TimeIntervals
    from pynwb.ophys import RoiResponseSeries

    path = Path(path)
    require_file(path, "NWB file")
    if verify or (verify is None and (path.parent / "SHA256SUMS").exists()):
        verify_sha256sums(path.parent, [path.name])
    with open_hdf5(path, "NWB file") as handle:              # refuses external links, not-HDF5
        if "nwb_version" not in handle.attrs:
            raise LayoutError(f"{path}: an HDF5 file but not NWB (no 'nwb_version' attribute).")
        _check_time_units(handle, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                  # pynwb's notes on cached namespaces
            io = pynwb.NWBHDF5IO(str(path), "r")
            nwbfile = io.read()
    except Exception as exc:  # hdmf raises many kinds for a damaged file
        raise CorruptFileError(f"{path}: pynwb cannot read it ({type(exc).__name__}: {exc}).") from exc
    with io:
        series = _pick(_objects(nwbfile, RoiResponseSeries), traces, "calcium series (RoiResponseSeries)", path)
        if series is None:
            raise LayoutError(f"{path}: no RoiResponseSeries, so no calcium traces.")
        data = np.asarray(series.data[:])
        if data.ndim != 2:
            raise ShapeMismatchError(f"{path}: {_where(series)} has shape {data.shape}, not (frames, neurons).")
        if data.dtype.kind in "iuf":
            data = data.astype(np.float64) * float(series.conversion) + float(getattr(series, "offset", 0.0) or 0.0)
        time = _timestamps(series, path, data.shape[0])
        labels = _labels(series, path, label_column)
        tables = [t for t in _objects(nwbfile, TimeIntervals)
                  if t.name != "epochs" and (state_column in t.colnames if state_column else
                                             any(c in t.colnames for c in STATE_COLUMNS))]
        table = _pick(tables, states, "behaviour table (TimeIntervals)", path)
        if table is None:
            if require_states:
                raise LayoutError(f"{path}: no behaviour (no TimeIntervals table with a state column: "
                                  f"{', '.join(STATE_COLUMNS)}); the book's question needs a behavioural label per "
                                  "frame. Use require_states=False to read the traces alone.")
            codes, names = np.full(time.shape, UNLABELLED, dtype=np.int64), tuple(state_names or ())
        else:
            codes, names = _states(table, state_column, time, state_names, path)
        extra = _extra(nwbfile, series, time, path)
        worm = (nwbfile.subject.subject_id if nwbfile.subject is not None and nwbfile.subject.subject_id
                else path.stem)
        fps = _fps(series, time)
        return Recording(study, worm, nwbfile.identifier, data, labels, codes, names, fps,
                         time - time[0], source=str(path), extra=extra)


def _fps(series, time: np.ndarray) -> float:
    """The series' ``rate``; else the frame rate :func:`write_nwb` keeps in its comments
    (``fps=<value>``, exact); else the median frame interval's. Recording checks it against
    the timestamps."""
    if series.rate:
        return float(series.rate)
    kept = re.fullmatch(r"fps=([0-9.eE+-]+)", str(series.comments or "").strip())
    return float(kept.group(1)) if kept else 1.0 / float(np.median(np.diff(time)))


def _extra(nwbfile, series, time: np.ndarray, path: Path) -> dict[str, np.ndarray]:
    """1-D TimeSeries of the ``behavior`` processing module, on the traces' timestamps."""
    from pynwb import TimeSeries

    module = nwbfile.processing.get("behavior") if nwbfile.processing else None
    extra = {}
    for name, obj in sorted((module.data_interfaces if module is not None else {}).items()):
        if not isinstance(obj, TimeSeries) or np.ndim(obj.data) != 1:
            continue
        own = _timestamps(obj, path, len(obj.data))
        if own.shape != time.shape or not np.allclose(own, time, rtol=0, atol=1e-9):
            raise ShapeMismatchError(f"{path}: behavior/{name} is not on the traces' timestamps "
                                     f"({own.size} samples from {own[0]:g} s, traces {time.size} from {time[0]:g} s); "
                                     "resample it onto the imaging frames before export.")
        extra[name] = np.asarray(obj.data[:], dtype=np.float64) * float(obj.conversion)
    return extra


def load_nwb(source: Path | str, **options) -> list[Recording]:
    """Every ``*.nwb`` file of a folder (sorted by name), or one file, as recordings
    (:func:`read_nwb`'s options apply to each)."""
    source = Path(source).expanduser()
    if source.is_dir():
        files = sorted(f for f in source.glob("*.nwb") if not f.name.startswith("."))  # not a partial write
        if not files:
            raise DataNotFoundError(f"{source}: no .nwb file in this folder.")
    else:
        files = [require_file(source, "NWB file")]
    return [read_nwb(f, **options) for f in files]


def write_nwb(rec: Recording, path: Path | str, *, unit: str = "a.u.",
              session_start: datetime = datetime(2000, 1, 1, tzinfo=timezone.utc)) -> Path:
    """``rec`` as an NWB file in the layout :func:`read_nwb` reads (atomically: a failed write
    leaves no file). Unidentified neurons get an empty label; states become intervals
    [first frame, frame after the run) of a ``behavioural_states`` table; ``rec.extra`` becomes
    TimeSeries of the ``behavior`` module that share the traces' timestamps."""
    path = Path(path)
    with warnings.catch_warnings():
        # hdmf notes that the ROI region's table is not yet in the file when the region is made,
        # as in pynwb's own tutorial; the written file links them correctly (read back in the tests)
        warnings.filterwarnings("ignore", message="The linked table for DynamicTableRegion")
        return _write(rec, path, unit, session_start)


def _write(rec: Recording, path: Path, unit: str, session_start: datetime) -> Path:
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    nwb = NWBFile(session_description=f"{rec.study} worm {rec.worm}: whole-brain calcium imaging",
                  identifier=rec.name or f"{rec.study}-{rec.worm}", session_start_time=session_start,
                  subject=Subject(subject_id=rec.worm, species="Caenorhabditis elegans"))
    device = nwb.create_device(name="microscope")
    plane = nwb.create_imaging_plane(name="volume", description="whole brain", device=device, indicator="GCaMP",
                                     optical_channel=OpticalChannel(name="gcamp", description="GCaMP",
                                                                    emission_lambda=525.0),
                                     excitation_lambda=488.0, location="head")
    ophys = nwb.create_processing_module(name="ophys", description="calcium imaging")
    segmentation = ImageSegmentation()
    ophys.add(segmentation)
    rois = segmentation.create_plane_segmentation(name="neurons", description="one ROI per neuron",
                                                  imaging_plane=plane)
    rois.add_column(name="label", description="neuron identity (empty: not identified)")
    for label in rec.labels:
        rois.add_roi(voxel_mask=[(0, 0, 0, 1.0)], label=label or "")
    region = rois.create_roi_table_region(region=list(range(rec.n_neurons)), description="every neuron")
    uniform = np.array_equal(rec.time, np.arange(rec.n_frames) / rec.fps)
    timing = dict(rate=rec.fps, starting_time=0.0) if uniform else dict(timestamps=rec.time)
    calcium = RoiResponseSeries(name="calcium", data=rec.traces, rois=region, unit=unit, comments=f"fps={rec.fps!r}",
                                **timing)
    ophys.add(Fluorescence(roi_response_series=calcium))
    table = TimeIntervals(name="behavioural_states", description="behavioural state of each run of frames")
    table.add_column(name="state", description="state name")
    step = 1.0 / rec.fps
    edges = np.flatnonzero(np.diff(rec.states)) + 1                       # first frame of each run
    for a, b in zip(np.r_[0, edges], np.r_[edges, rec.n_frames]):
        if rec.states[a] != UNLABELLED:
            stop = rec.time[b] if b < rec.n_frames else rec.time[-1] + step
            table.add_row(start_time=float(rec.time[a]), stop_time=float(stop), state=rec.state_names[rec.states[a]])
    nwb.add_time_intervals(table)
    if rec.extra:
        behaviour = nwb.create_processing_module(name="behavior", description="per-frame behaviour")
        for name, values in rec.extra.items():
            behaviour.add(TimeSeries(name=name, data=values, unit="n.a.", **(timing if uniform else dict(timestamps=calcium))))
    partial = path.with_name(f".{path.stem}.part.nwb")
    with NWBHDF5IO(str(partial), "w") as io:
        io.write(nwb)
    os.replace(partial, path)
    return path

