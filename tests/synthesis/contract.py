"""The contract every generation backend passes (a mixin, as Django's SessionTestsMixin)."""

from synthesis.backends import GenerationRequest, GenerationResult
from synthesis.configs import SamplingConfig

GREEDY = SamplingConfig(temperature=0.0, max_tokens=8, seed=0)
SAMPLED = SamplingConfig(temperature=1.0, top_p=0.9, max_tokens=6, seed=3)


def ask(text, sampling=GREEDY, prefill=""):
    return GenerationRequest(messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}],
                             sampling=sampling, prefill=prefill)


class BackendContract:
    """Subclasses provide a `backend` fixture; every backend must pass these tests."""

    def test_it_returns_one_result_per_request_in_order(self, backend):
        requests = [ask("hi " * n) for n in range(1, 6)]
        results = backend.generate(requests)
        assert len(results) == 5 and all(isinstance(r, GenerationResult) for r in results)
        assert all(r.ok for r in results), [r.error for r in results]
        lengths = [r.tokens_in for r in results]
        assert lengths == sorted(lengths) and lengths[0] < lengths[-1]  # order kept although batches sort by length

    def test_it_counts_tokens_and_respects_max_tokens(self, backend):
        (result,) = backend.generate([ask("How long has it hurt?")])
        assert result.tokens_in > 0 and 1 <= result.tokens_out <= GREEDY.max_tokens
        assert result.finish_reason in {"stop", "length"} and result.latency_s >= 0

    def test_it_is_deterministic_when_greedy(self, backend):
        first, second = backend.generate([ask("Any fever?"), ask("Any fever?")])
        assert first.text == second.text

    def test_it_serves_mixed_sampling_settings_in_one_call(self, backend):
        results = backend.generate([ask("a"), ask("b", SAMPLED), ask("c"), ask("d", SAMPLED)])
        assert all(r.ok for r in results)
        assert all(r.tokens_out <= SAMPLED.max_tokens for r in results[1::2])

    def test_it_continues_a_prefilled_reply(self, backend):
        (result,) = backend.generate([ask("Rank them.", prefill='{"ranks": {"A": ')])
        assert result.ok and result.tokens_out >= 1

    def test_it_returns_nothing_for_no_requests(self, backend):
        assert backend.generate([]) == []

    def test_it_names_its_model_and_backend_in_its_identity(self, backend):
        identity = backend.identity(GREEDY)
        assert identity["backend"] == backend.name and identity["model"] == backend.model_name
        assert identity["sampling"]["temperature"] == 0.0
