"""What every backend returns: generated text that PostgreSQL can store."""

from synthesis.backends.base import GenerationResult


def test_a_result_drops_nul_bytes_a_model_emitted():
    assert GenerationResult(text="E\x00ations b\x00").text == "Eations b"
