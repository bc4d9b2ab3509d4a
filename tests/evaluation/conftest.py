"""Evaluation fixtures: the tiny offline model (shared with the synthesis tests) as a backend and as an endpoint."""

import pytest

from synthesis.models import Backend, ModelEndpoint
from tests.synthesis.conftest import catalogue, tiny_model_dir  # noqa: F401  (shared fixtures)


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir):  # noqa: F811
    from synthesis.backends import EndpointSettings
    from synthesis.backends.transformers_backend import TransformersBackend

    return TransformersBackend(EndpointSettings(backend="transformers", model=str(tiny_model_dir), device="cpu",
                                                batch_size=8))


@pytest.fixture
def tiny_endpoint(db, tiny_model_dir):  # noqa: F811
    return ModelEndpoint.objects.create(
        name="tiny", backend=Backend.TRANSFORMERS, model=str(tiny_model_dir), device="cpu", batch_size=8,
        default_sampling={"max_tokens": 8}, is_default_generator=True, is_default_judge=True)
