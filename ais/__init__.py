"""ais: find loitering, dark periods, ship-to-ship meetups and identity changes in AIS tracks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ais")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
