# facecloak: `make demo` sets everything up, then detects, compares, cloaks and hides faces in
# public-domain photos and blurs the faces of a generated clip; `make test` sets everything up and
# runs the tests.
# Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
DEMO := build/demo
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup demo test lint bench clean chromium serve bench-web

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: this CPU build installs from the machine's disk in seconds.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m facecloak.data $(DEMO)
	$(BIN)/facecloak detect $(DEMO)/astronaut.png --draw $(DEMO)/astronaut_faces.png --overwrite
	$(BIN)/facecloak detect $(DEMO)/grace_hopper.jpg --draw $(DEMO)/grace_hopper_faces.png --overwrite
	$(BIN)/facecloak compare $(DEMO)/grace_hopper.jpg $(DEMO)/grace_hopper_reshared.jpg
	$(BIN)/facecloak compare $(DEMO)/grace_hopper.jpg $(DEMO)/astronaut.png
	# The default cloak. With ../shared it must beat five recognizers at once within its quality
	# floor, which it cannot on Grace Hopper's face: it says so, writes nothing for her and exits 1
	# (the leading '-' lets the demo go on).
	-$(BIN)/facecloak protect $(DEMO)/grace_hopper.jpg $(DEMO)/astronaut.png -o $(DEMO)/protected --overwrite
	# The strongest preset beats them, at a face of medium quality at worst.
	$(BIN)/facecloak protect $(DEMO)/grace_hopper.jpg $(DEMO)/astronaut.png -o $(DEMO)/protected_high --strength high --overwrite
	# Every recognizer that can load here gives its own verdict (with ../shared: five of them).
	$(BIN)/facecloak compare --all $(DEMO)/grace_hopper.jpg $(DEMO)/protected_high/grace_hopper.jpg
	$(BIN)/facecloak compare --all $(DEMO)/astronaut.png $(DEMO)/protected/astronaut.png
	# Hiding the face from detectors: with ../shared's detectors the evasion cloak does not yet hold
	# against all of them on the astronaut (issue 10) and says so; the demo goes on.
	-$(BIN)/facecloak protect $(DEMO)/astronaut.png -o $(DEMO)/hidden --against detection --overwrite
	-test ! -f $(DEMO)/hidden/astronaut.png || $(BIN)/facecloak detect $(DEMO)/hidden/astronaut.png
	# A generated face in place of each sample face (the committed generator; same seed, same face).
	$(BIN)/facecloak protect $(DEMO)/grace_hopper.jpg $(DEMO)/astronaut.png -o $(DEMO)/replaced --method replace --seed 1 --overwrite
	$(PY) -m facecloak.video.synthetic $(DEMO)/clip.mp4
	$(BIN)/facecloak protect $(DEMO)/clip.mp4 -o $(DEMO)/protected_clip.mp4 --method blur --overwrite

test: $(STAMP) chromium
	$(PY) -m pytest -q
	# The >>> examples in the package's docstrings (a separate run: conftest names clash otherwise).
	$(PY) -m pytest -q --doctest-modules src/facecloak

# The browser tests drive Debian's Chromium (never a downloaded one); as root with apt-get it is
# installed here, otherwise those tests skip and say why.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		(apt-get update -qq && apt-get install -y -qq chromium </dev/null) \
			|| echo "chromium did not install: the browser tests will skip"; \
	else echo "no $(CHROMIUM) and no apt-get as root: the browser tests will skip"; fi

serve: $(STAMP)
	$(BIN)/facecloak serve --open

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/detectors.py
	$(PY) benchmarks/lfw_verification.py

bench-web: $(STAMP)
	$(PY) benchmarks/web_load.py

clean:
	rm -rf $(VENV) build .pytest_cache
