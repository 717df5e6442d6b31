"""`fanin run` from Python and run folders read back: fanin.run(path, set=..., out=...) and
fanin.load(folder) give a Run with .summary (summary.csv's rows as dicts), .metrics(member)
and .layers(member) (numpy structured arrays, or pandas DataFrames when pandas is installed),
.verdicts (summary.json's words per run) and .model(member) (model.safetensors as numpy).
The folder's files are the ones docs/outputs.md describes; nothing here re-derives them.
"""
import csv
import ctypes as _c
import json
import os
import struct

import numpy as np

from ._lib import kv as _kv, lib as _lib, session as _session

try:  # optional: DataFrames when pandas is there
    import pandas as _pd
except ImportError:
    _pd = None

_ST_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
              "BOOL": np.bool_}


def _number(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def read_safetensors(path):
    """The tensors of a .safetensors file as {name: numpy array} (its __metadata__ left out)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: not a safetensors file (shorter than its 8-byte header)" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode())
    data, out = raw[8 + n:], {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        dt = np.dtype(_ST_DTYPES[t["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data[lo:hi], dtype=dt).reshape(t["shape"]).copy()
    return out


class Run:
    """A finished run folder (summary.csv beside one folder per sweep member)."""

    def __init__(self, folder):
        self.folder = os.path.abspath(folder)
        path = os.path.join(self.folder, "summary.csv")
        if not os.path.exists(path):
            raise FileNotFoundError("%s: no summary.csv; is it a fanin run folder?" % folder)
        with open(path, newline="") as f:
            self.summary = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]
        self.runs = [row["run"] for row in self.summary]
        jpath = os.path.join(self.folder, "summary.json")
        self.json = {}
        if os.path.exists(jpath):
            with open(jpath) as f:
                self.json = json.load(f)

    @property
    def verdicts(self):
        """{run id: {"verdict": words, "flags": [...]}} from summary.json."""
        return {r["run"]: {"verdict": r.get("verdict", ""), "flags": r.get("flags", [])}
                for r in self.json.get("runs", [])}

    def _dir(self, member):
        if isinstance(member, int):
            if not -len(self.runs) <= member < len(self.runs):
                raise IndexError("member %d: this run has %d (%s)" %
                                 (member, len(self.runs), ", ".join(self.runs)))
            member = self.runs[member]
        if member not in self.runs:
            raise KeyError("no run '%s' here; the runs: %s" % (member, ", ".join(self.runs)))
        return os.path.join(self.folder, member)

    def _table(self, member, name):
        path = os.path.join(self._dir(member), name)
        if _pd is not None:
            return _pd.read_csv(path)
        arr = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
        return np.atleast_1d(arr)

    def metrics(self, member=0):
        """metrics.csv of a member (index or run id): loss and accuracy per logged iteration."""
        return self._table(member, "metrics.csv")

    def layers(self, member=0):
        """layers.csv of a member: per-layer statistics per logged iteration."""
        return self._table(member, "layers.csv")

    def model(self, member=0):
        """model.safetensors of a member as {tensor name: numpy array}."""
        return read_safetensors(os.path.join(self._dir(member), "model.safetensors"))

    def __repr__(self):
        return "fanin.Run(%r, %d runs)" % (self.folder, len(self.runs))


def load(folder):
    """An existing run folder (what `fanin run` or fanin.run wrote)."""
    return Run(folder)


def run(path, set=None, out=None, threads=0, overwrite=False):
    """Run experiment file `path` with overrides `set` ({"key": value}, as `fanin run --set
    key=value`) into folder `out` (default runs/NAME; an earlier run there is kept and the new
    one goes to OUT-2 unless overwrite=True). Returns the Run read back."""
    sets, n = _kv(set or {})
    folder = _c.create_string_buffer(4096)
    s = _session()
    with s.lock:
        s.check(_lib.fanin_run_file(s.h, os.fspath(path).encode(), sets, n,
                                    os.fspath(out).encode() if out is not None else None,
                                    int(threads), 1 if overwrite else 0, folder, len(folder)))
    return Run(folder.value.decode())
