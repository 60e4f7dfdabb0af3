"""A fake GMI Cloud for development and tests: both API generations, media, faults.

Start it with ``python manage.py gmi_simulator`` or, in tests,
``gmi_simulator.testing.running_simulator``. Faults (``FAULTS``) are switched
on at start, from Python (``GMISimulator.set_fault``) or over HTTP
(``POST /_simulator/faults``); prompt markers (``PROMPT_TRIGGERS``, e.g. ``[fail]``,
``[policy]``) make single jobs misbehave without any of that.
"""

from .faults import FAULTS, parse_fault_spec
from .server import GMISimulator
from .state import PROMPT_TRIGGERS

__all__ = ["FAULTS", "PROMPT_TRIGGERS", "GMISimulator", "parse_fault_spec"]
