"""ctypes bindings to libfanin's embedding API (<fanin/fanin.h>, docs/embedding.md).

libfanin.so.0 is found through $FANIN_LIBRARY, else next to this package after
`cmake --install` (PREFIX/lib/python3/dist-packages/fanin -> PREFIX/lib[/*]/libfanin.so.0),
else by the dynamic loader's own search. One session (the plugin registry) is opened on
first use and shared; calls on it hold a lock, as a session serves one thread at a time.
"""
import ctypes
import glob
import os
import threading

_SONAME = "libfanin.so.0"


class FaninError(RuntimeError):
    """A fanin call failed; str() is fanin's message, .code its FANIN_E* status."""

    def __init__(self, code, message):
        self.code = code
        self.name = _err_name(code)
        super().__init__(message or self.name)


def _candidates():
    env = os.environ.get("FANIN_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    prefix = os.path.normpath(os.path.join(here, "..", "..", "..", ".."))
    found = [os.path.join(prefix, d, _SONAME) for d in ("lib", "lib64")]
    found += sorted(glob.glob(os.path.join(prefix, "lib", "*", _SONAME)))
    return [p for p in found if os.path.exists(p)] + [_SONAME]


def _open():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("fanin: cannot load libfanin (%s); install fanin (cmake --install) or "
                      "set FANIN_LIBRARY=/path/to/libfanin.so.0" % "; ".join(errors))


lib = _open()
_c = ctypes
_sz, _i64p, _f32p = _c.c_size_t, _c.POINTER(_c.c_int64), _c.POINTER(_c.c_float)
_strs = _c.POINTER(_c.c_char_p)


def _sig(name, res, *args):
    f = getattr(lib, name)
    f.restype, f.argtypes = res, list(args)


_sig("fanin_err_name", _c.c_char_p, _c.c_int)
_sig("fanin_version", _c.c_char_p)
_sig("fanin_session_open", _c.c_int, _c.POINTER(_c.c_void_p), _strs, _sz, _c.c_char_p, _sz)
_sig("fanin_session_close", None, _c.c_void_p)
_sig("fanin_session_error", _c.c_char_p, _c.c_void_p)
_sig("fanin_plugins_json", _c.c_int, _c.c_void_p, _c.c_int, _c.POINTER(_c.c_void_p))
_sig("fanin_free", None, _c.c_void_p)
_sig("fanin_init_fill", _c.c_int, _c.c_void_p, _c.c_char_p, _f32p, _c.c_int, _i64p,
     _c.c_uint64, _c.c_int, _c.c_char_p, _strs, _sz)
_sig("fanin_activation_open", _c.c_int, _c.c_void_p, _c.c_char_p, _strs, _sz,
     _c.POINTER(_c.c_void_p))
_sig("fanin_activation_close", None, _c.c_void_p)
_sig("fanin_activation_forward", _c.c_int, _c.c_void_p, _f32p, _f32p, _sz)
_sig("fanin_activation_backward", _c.c_int, _c.c_void_p, _f32p, _f32p, _f32p, _f32p, _sz)
_sig("fanin_activation_gain", _c.c_int, _c.c_void_p, _c.POINTER(_c.c_double))
_sig("fanin_optimizer_open", _c.c_int, _c.c_void_p, _c.c_char_p, _strs, _sz, _sz,
     _c.POINTER(_c.c_void_p))
_sig("fanin_optimizer_close", None, _c.c_void_p)
_sig("fanin_optimizer_step", _c.c_int, _c.c_void_p, _f32p, _f32p, _c.c_double)
_sig("fanin_run_file", _c.c_int, _c.c_void_p, _c.c_char_p, _strs, _sz, _c.c_char_p, _c.c_int,
     _c.c_int, _c.c_char_p, _sz)


def _err_name(code):
    return lib.fanin_err_name(code).decode()


def strings(items):
    """A C array of char* (kept alive by the returned tuple's first item)."""
    enc = [s.encode() for s in items]
    arr = (_c.c_char_p * max(1, len(enc)))(*enc)
    return arr, len(enc)


def text(v):
    """A parameter value as the experiment file would spell it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(text(x) for x in v) + "]"
    return str(v)


def kv(params):
    return strings(["%s=%s" % (k, text(v)) for k, v in params.items()])


class Session:
    """The shared registry: plugins from $FANIN_PLUGIN_PATH and the built-in folder."""

    def __init__(self, paths=()):
        arr, n = strings(list(paths))
        err = _c.create_string_buffer(4096)
        h = _c.c_void_p()
        rc = lib.fanin_session_open(_c.byref(h), arr, n, err, len(err))
        if rc < 0:
            raise FaninError(rc, err.value.decode(errors="replace"))
        self.h = h
        self.lock = threading.RLock()

    def check(self, rc):
        if rc < 0:
            raise FaninError(rc, lib.fanin_session_error(self.h).decode(errors="replace"))
        return rc

    def __del__(self):
        if getattr(self, "h", None) and lib is not None:
            lib.fanin_session_close(self.h)
            self.h = None


_session = None
_session_lock = threading.Lock()


def reopen(paths):
    """Replace the process's session with one that loads `paths` first (objects made
    earlier keep theirs)."""
    global _session
    new = Session(paths)
    with _session_lock:
        _session = new


def session():
    """The process's session, opened on first use."""
    global _session
    with _session_lock:
        if _session is None:
            _session = Session()
        return _session
