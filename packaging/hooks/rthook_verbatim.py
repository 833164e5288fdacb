# Runtime hook: make the bundled native libraries and data findable before the app imports
# sounddevice (PortAudio) or loads libespeak-ng, which both look them up by name.
import ctypes.util
import os
import sys

_base = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
_bundled = {
    "portaudio": ["libportaudio.so.2", "libportaudio.2.dylib", "libportaudio64bit.dll", "portaudio.dll"],
    "espeak-ng": ["libespeak-ng.so.1", "libespeak-ng.1.dylib", "libespeak-ng.dll"],
}
_find = ctypes.util.find_library


def _find_bundled(name):
    for candidate in _bundled.get(name, []):
        path = os.path.join(_base, candidate)
        if os.path.exists(path):
            return path
    return _find(name)


ctypes.util.find_library = _find_bundled
if os.path.isdir(os.path.join(_base, "espeak-ng-data")):
    os.environ.setdefault("ESPEAK_DATA_PATH", _base)
