# Two commands do all setup on a fresh Debian machine with Python 3.11:
#   make train   installs what is missing, then trains and tests the default recipe
#   make test    installs what is missing, then runs the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
APT_PACKAGES := dataset-fashion-mnist espeak-ng
RECIPE ?= recipes/fashion_mnist.yaml

.PHONY: train test bench setup system clean

setup: $(STAMP)

# Debian packages: the Fashion-MNIST files and the speech synthesiser (only as root, only when missing).
system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "note: not root, so not installing:$$missing (tests that need them will skip)"; fi; \
	fi

$(STAMP): pyproject.toml | system
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	@touch $@

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
	rm -rf $(VENV) runs
