"""The White et al. (1986) connectome, as the GNN's fixed edges (Section 5.1, Table 1).

Source: the OpenWorm ``cect`` package (PyPI), which ships the Varshney et al. (2011)
re-analysis of White et al. 1986 as ``cect/data/aconnectome_white_1986_whole.csv``
(pre, post, type ∈ {chemical, electrical}, number of synaptic contacts). Only that data file is
read; cect's own reader pulls in heavy plotting dependencies.
"""

from __future__ import annotations

import re
from importlib import resources

import numpy as np
import pandas as pd

from .data.errors import DataNotFoundError

WHITE_1986 = "aconnectome_white_1986_whole.csv"


def connectome_name(neuron: str) -> str:
    """Zimmer-lab names (VB01) → connectome names (VB1): only zeros right after the letter
    prefix are dropped, so VB10 stays VB10 (OSF_LAYOUTS §4, quirk 7)."""
    return re.sub(r"^([A-Z]+)0+(\d)", r"\1\2", neuron)


def load_white1986() -> pd.DataFrame:
    """All connections: columns pre, post, type, synapses."""
    try:
        path = resources.files("cect") / "data" / WHITE_1986
        return pd.read_csv(path, sep="\t")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise DataNotFoundError(
            f"the White 1986 connectome ({WHITE_1986}) comes from the 'cect' package: "
            "pip install --no-deps cect==0.3.5 (make env does this)") from exc


def adjacency(neurons: tuple[str, ...], table: pd.DataFrame | None = None) -> np.ndarray:
    """(N, N) edge weights for the GNN: A[i, j] weighs the message from neuron j to neuron i.

    Chemical synapses are directed (pre j → post i); gap junctions (``electrical``) count in both
    directions. Contacts are summed, compressed with log(1 + n) and scaled so the strongest edge
    is 1; self edges are 1, as in the inferred graphs where i = j is a self edge.
    """
    table = load_white1986() if table is None else table
    index = {connectome_name(n): k for k, n in enumerate(neurons)}
    counts = np.zeros((len(neurons), len(neurons)))
    for pre, post, kind, n in table[["pre", "post", "type", "synapses"]].itertuples(index=False):
        if pre in index and post in index and pre != post:
            counts[index[post], index[pre]] += n
            if kind == "electrical":
                counts[index[pre], index[post]] += n
    weights = np.log1p(counts)
    weights = weights / weights.max() if weights.max() > 0 else weights
    np.fill_diagonal(weights, 1.0)
    return weights
