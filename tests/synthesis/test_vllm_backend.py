"""The in-process vLLM backend: the shared contract where vLLM is installed (GPU hosts), a clear error elsewhere."""

import importlib.util

import pytest

from synthesis.backends import BackendUnavailable, EndpointSettings, get_backend

from .contract import BackendContract

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here")
def test_it_explains_that_vllm_is_missing(tiny_model_dir):
    with pytest.raises(BackendUnavailable, match="GPU-only extra"):
        get_backend(EndpointSettings(backend="vllm", model=str(tiny_model_dir)))


@pytest.mark.skipif(not HAS_VLLM, reason="vLLM is not installed (a GPU-only extra; see docs/synthesis.md)")
class TestVLLMBackend(BackendContract):
    @pytest.fixture(scope="class")
    def backend(self, tiny_model_dir):
        return get_backend(EndpointSettings(backend="vllm", model=str(tiny_model_dir)))
