# Runtime hook: a stand-in for PyAV, which the bundle leaves out (about 100 MB).
# faster-whisper imports `av` when it is imported, but uses it only to decode audio
# *files*; Verbatim always hands it decoded samples. Any use of the stand-in raises an
# ImportError that says so, instead of the whole verifier failing to import.
import importlib.machinery
import importlib.util
import sys
import types


class _AbsentAV(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(f"PyAV (av.{name}) is not part of this build: Verbatim decodes audio itself "
                          "and hands faster-whisper samples, never files")


def _install():
    if "av" in sys.modules:
        return
    try:
        if importlib.util.find_spec("av") is not None:
            return      # the real one is there (a source run): use it
    except (ImportError, ValueError):
        pass
    shim = _AbsentAV("av")
    shim.__spec__ = importlib.machinery.ModuleSpec("av", None)
    sys.modules["av"] = shim


_install()
