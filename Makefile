# Two commands do all setup on a fresh Debian machine with Python 3.11:
#   make train   installs what is missing, then trains and tests the default recipe
#   make test    installs what is missing, then runs the whole test suite
# Both install exactly requirements.lock (pinned, with hashes); `make lock` refreshes it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
LOCK_VENV := .lock-venv
APT_PACKAGES := dataset-fashion-mnist espeak-ng flite
RECIPE ?= recipes/fashion_mnist.yaml

.PHONY: train test bench setup system lock clean

setup: $(STAMP)

# Debian packages: the Fashion-MNIST files and the speech synthesiser (only as root, only when missing).
system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "note: not root, so not installing:$$missing (tests that need them will skip)"; fi; \
	fi

# The locked environment: exactly the files of requirements.lock (hash-checked, no resolution), then the project
# itself with the locked setuptools.
$(STAMP): $(LOCK) pyproject.toml | system
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	@touch $@

# Refresh the lock: resolve pyproject.toml's ranges afresh in a scratch venv, run the whole suite there, and pin
# that environment only if the suite passes. Commit requirements.lock afterwards.
lock: system
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q "setuptools>=68" -e ".[test]"
	$(LOCK_VENV)/bin/pip check
	$(LOCK_VENV)/bin/python -m pytest -q
	$(LOCK_VENV)/bin/python tools/lock.py --venv $(LOCK_VENV) --out $(LOCK)
	rm -rf $(LOCK_VENV)

train: $(STAMP) system
	$(BIN)/blackmagic train -c $(RECIPE)

test: $(STAMP) system
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/vision_chain.py
	$(BIN)/python benchmarks/voice_chain.py
	$(BIN)/python benchmarks/image_folder_input.py
	$(BIN)/python benchmarks/augment_share.py

clean:
	rm -rf $(VENV) $(LOCK_VENV) runs
