"""The embedded local Realtime engine (no Qt): real speech, honest read-back, faults on demand."""

from .faults import Fault, FaultError, parse_fault, seed_cases
from .server import LocalEngine

__all__ = ["Fault", "FaultError", "LocalEngine", "parse_fault", "seed_cases"]
