"""What a strict Content-Security-Policy would block in a page: patterns the page tests search for."""
from __future__ import annotations

import re

#: Executable inline script (JSON data blocks are not run, and CSP leaves them alone).
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
