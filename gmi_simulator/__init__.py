"""A fake GMI Cloud for development and tests: both API generations, media, faults.

Not part of the reusable app (``generations`` never imports it): it ships with the
``simulator`` extra, which brings the Pillow it draws thumbnails with. Start it with
``python manage.py gmi_simulator`` (with ``gmi_simulator`` in INSTALLED_APPS) or, in tests,
``gmi_simulator.testing.running_simulator``. Faults (``FAULTS``) are switched on at start,
from Python (``GMISimulator.set_fault``) or over HTTP (``POST /_simulator/faults``); prompt
markers (``PROMPT_TRIGGERS``, e.g. ``[fail]``, ``[policy]``) make single jobs misbehave
without any of that.

Read bottom up: ``media``, ``faults``, ``catalogue`` and ``state`` know no HTTP; ``calls``
is what endpoints take and give; ``storage``, ``jobs``, ``requestqueue``, ``legacy`` and
``control`` answer calls; ``http`` routes and delivers them; ``server`` is ``GMISimulator``.
"""

from .faults import FAULTS, parse_fault_spec
from .server import GMISimulator
from .state import PROMPT_TRIGGERS

__all__ = ["FAULTS", "PROMPT_TRIGGERS", "GMISimulator", "parse_fault_spec"]
