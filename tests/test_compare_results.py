"""tools/compare_results.py: records matched on their key, differences per metric, one-sided
records counted per group, and --strict's exit status."""

import json
from pathlib import Path

import pytest


def _record(model, test, metric, value, n_train=1):
    return dict(chapter="classification", experiment="fig4b", task="4-state", model=model,
                protocol="leave-worms-out", population="unseen", n_train_worms=n_train, train="1",
                test=test, step=None, metric=metric, value=value)


def _write(folder: Path, records) -> Path:
    folder.mkdir()
    (folder / "classification.json").write_text(json.dumps(records))
    return folder


def test_differences_per_metric_and_one_sided_records_counted_per_group(tmp_path, capsys, load_tool):
    tool = load_tool("compare_results")
    old = [_record("gnn", t, m, 0.5) for t in ("2", "3") for m in ("accuracy", "balanced-accuracy")]
    new = [dict(r) for r in old]
    new[0]["value"] = 0.53                                           # gnn, worm 2, accuracy moved
    new += [_record("gru", t, m, 0.6, 2) for t in ("2", "3") for m in ("accuracy", "balanced-accuracy")]
    a, b = _write(tmp_path / "a", old), _write(tmp_path / "b", new)
    with pytest.raises(SystemExit) as report:
        tool.main([str(a), str(b)])                                  # reports only
    assert report.value.code == 0
    out = capsys.readouterr().out
    assert "4 records in both: 3 identical, 3 within 0; 0 only in the first, 4 only in the second" in out
    assert "accuracy" in out and "max |Δ| 0.03" in out
    assert "only in the second: 4 records of experiment=fig4b, task=4-state, model=gru, n_train_worms=2" in out
    with pytest.raises(SystemExit) as strict:
        tool.main([str(a), str(b), "--strict", "--atol", "0.05"])   # the new records still count
    assert strict.value.code == 1
    with pytest.raises(SystemExit) as same:
        tool.main([str(a), str(a), "--strict"])
    assert same.value.code == 0
