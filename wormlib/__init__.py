"""wormlib: the library behind the executable reproduction of Wang et al. (2021),
*Generalizable Machine Learning in Neuroscience Using Graph Neural Networks*.

The modules follow the data's journey:

``data`` (recordings) → ``preprocess`` (features, states, splits) → ``models`` →
``train`` / ``evaluate`` (metrics) → ``results`` (records) → ``plotting`` (figures).
"""

__version__ = "0.1.0"
