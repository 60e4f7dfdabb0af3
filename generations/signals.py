"""Signals host sites can connect to. Each is sent after the change is committed."""
from django.dispatch import Signal

#: sender=Generation class, generation=<Generation>
generation_submitted = Signal()
generation_succeeded = Signal()
generation_failed = Signal()
generation_cancelled = Signal()
generation_dispatched = Signal()
#: generation=<Generation>, decision="approve"|"reject"
generation_moderated = Signal()
