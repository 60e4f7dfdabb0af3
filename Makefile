# The two commands: `make run` (the portal on http://127.0.0.1:8000) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres test-browser screenshots lint bench check schema clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) scripts/run.py

test: $(STAMP)
	$(PY) -m pytest -m "not browser" -q

test-postgres: $(STAMP)
	$(PY) -m pytest -m "not browser" -q

test-browser: $(STAMP)
	$(PY) -m pytest -m browser -q

# Every page at 390 and 1280 px, as a member, a team owner and staff, into screenshots/ (git ignores it).
screenshots: $(STAMP)
	SCREENSHOT_DIR=$(CURDIR)/screenshots $(PY) -m pytest tests/browser/screenshots.py -m browser -q -p no:cacheprovider

# ruff and mypy (django-stubs) over the app and the project; configured in pyproject.toml.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy generations gmi_project

bench: $(STAMP)
	$(PY) bench/run.py

check: $(STAMP)
	DJANGO_DEBUG=0 DJANGO_HTTPS=1 $(PY) manage.py check --deploy --fail-level WARNING

schema: $(STAMP)
	DJANGO_DEBUG=1 GMI_API_KEY=x $(PY) manage.py spectacular --file /tmp/gmi-schema.yml --validate --fail-on-warn

clean:
	rm -rf $(VENV) .test-db.sqlite3* staticfiles
