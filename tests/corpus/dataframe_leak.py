"""A pandas report builder memoised with functools.lru_cache on a method:
the cache keys on self, so every builder and every DataFrame it made stay
in the cache of the class's method forever."""

import functools

import numpy as np
import pandas as pd

from _harness import run


class ReportBuilder:
    def __init__(self, region):
        self.region = region

    @functools.lru_cache(maxsize=None)   # the leak: unbounded, and keyed on self
    def daily(self, day):
        rng = np.random.default_rng(day + 100)
        df = pd.DataFrame({"amount": rng.random(500), "units": rng.integers(0, 100, 500)})
        df["region"] = self.region
        return df[df["amount"] > 0.1]


def handle(request_id):
    ReportBuilder("eu-%d" % (request_id % 7)).daily(request_id)


if __name__ == "__main__":
    run(handle)
