"""Reads, one module per area: callers import the module that holds the read
(``from ..selectors import studio as studio_reads``)."""
