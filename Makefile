# Set-up is part of every target: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run serve test lint check-menu flows docs audio bench system-deps clean

run: $(STAMP)
	$(BIN)/ivr call

# Twilio webhooks under gunicorn; set TWILIO_AUTH_TOKEN and IVR_PUBLIC_URL first (README: "Connect a Twilio number").
serve: $(STAMP)
	$(BIN)/ivr serve --host $${IVR_HOST:-127.0.0.1} --port $${IVR_PORT:-8000} --workers $${IVR_WORKERS:-2}

test: $(STAMP) system-deps lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check ivr tests bench scripts
	$(BIN)/ruff format --check ivr tests bench scripts
	$(BIN)/mypy

check-menu: $(STAMP)
	$(BIN)/ivr menu check menus/*.yaml

# Re-draw the menu diagram in the README and the JSON Schema after a menu or format change.
docs: $(STAMP)
	$(BIN)/python scripts/readme_diagram.py
	$(BIN)/python -m ivr.loading.schema > menus/menu.schema.json

# Render every prompt to audio/ (pyttsx3 with espeak-ng voices); only changed prompts are rendered again.
audio: $(STAMP) system-deps
	$(BIN)/ivr audio build --menu menus/volcengine.yaml

# Re-create the generated flows after a menu change (the hand-written ones in tests/flows stay).
flows: $(STAMP)
	rm -rf tests/flows/generated
	$(BIN)/ivr qa generate --menu menus/volcengine.yaml --out tests/flows/generated
	$(BIN)/ivr qa run tests/flows --coverage --fail-under 100

bench: $(STAMP)
	$(BIN)/python bench/engine_calls.py
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/qa_flows.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# espeak-ng gives pyttsx3 its Mandarin and English voices; chromium opens the `ivr stats --html` report in its
# test (headless). Each is installed when missing and we are root.
system-deps:
	@if ! command -v espeak-ng >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing espeak-ng"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; \
	  else \
	    echo "note: espeak-ng is not installed (apt-get install espeak-ng); speech tests will be skipped"; \
	  fi; \
	fi
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "note: chromium is not installed (apt-get install chromium); the HTML report test will be skipped"; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache *.egg-info
