"""The transformers backend on the tiny offline model: contract, batching and left padding."""

import pytest

from synthesis.backends import BackendError, EndpointSettings, get_backend
from synthesis.backends.transformers_backend import TransformersBackend

from .contract import GREEDY, BackendContract, ask


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    return TransformersBackend(EndpointSettings(backend="transformers", model=str(tiny_model_dir), device="cpu",
                                                batch_size=2))


class TestTransformersBackend(BackendContract):
    def test_it_pads_on_the_left_so_batched_equals_single(self, backend):
        requests = [ask("short"), ask("a much longer prompt " * 5)]
        batched = backend.generate(requests)
        single = [backend.generate([request])[0] for request in requests]
        assert [r.text for r in batched] == [r.text for r in single]
        assert backend.tokenizer.padding_side == "left"

    def test_it_samples_each_request_from_its_own_seed_whatever_shares_its_batch(self, backend):
        """A sampled row's text depends on its request's seed, not on the rows batched with it (one seed for the
        whole batch made a row's draws depend on its neighbours), and rows that ended leave the batch without
        changing the others' text."""
        from dataclasses import replace

        sampled = replace(GREEDY, temperature=1.0, top_p=0.9, max_tokens=12, seed=5)
        requests = [ask(text, sampled) for text in ("Any fever?", "a much longer prompt " * 5, "Any headache?")]
        together = [r.text for r in backend.generate(requests)]
        alone = [backend.generate([request])[0].text for request in requests]
        assert together == alone
        other_seed = backend.generate([ask("Any fever?", replace(sampled, seed=6))])[0].text
        assert other_seed != together[0]

    def test_it_applies_the_chat_template(self, backend):
        rendered = backend.render(ask("Any fever?"))
        assert rendered.startswith("<|system|>\nBe brief.<|end|>") and rendered.endswith("<|assistant|>\n")


def test_it_reports_a_missing_model_folder_clearly(tmp_path):
    with pytest.raises(BackendError, match="Cannot load a model"):
        TransformersBackend(EndpointSettings(backend="transformers", model=str(tmp_path / "none"), device="cpu"))


def test_it_keeps_one_local_model_loaded_per_process(tiny_model_dir):
    settings = EndpointSettings(backend="transformers", model=str(tiny_model_dir), device="cpu")
    first = get_backend(settings)
    assert get_backend(settings) is first
    assert first.generate([ask("x")])[0].tokens_out <= GREEDY.max_tokens


def shared_requests():
    """Two questions, four instructions each: one question's prompts share a long prefix (as rewrites do)."""
    posts = ["I have had a throbbing headache every morning for two weeks, with nausea and light hurting. " * 2,
             "My ankle is swollen and blue since I fell off my bike on Sunday; walking hurts a lot. " * 2]
    return [ask(f"{post}\nInstruction {n}: rewrite the question.") for post in posts for n in range(4)]


def token_ids(backend, requests):
    return {i: backend.tokenizer(backend.render(r), add_special_tokens=False)["input_ids"]
            for i, r in enumerate(requests)}


def test_it_groups_prompts_that_share_a_prefix_and_packs_groups_into_batches(backend):
    ids = token_ids(backend, shared_requests())
    backend.settings = EndpointSettings(backend="transformers", model=backend.settings.model, batch_size=8)
    [(chunk, prefixes)] = backend.plan_batches(list(ids), ids)
    groups = {}
    for i, prefix in zip(chunk, prefixes, strict=True):
        groups.setdefault(prefix, []).append(i)
    assert sorted(sorted(rows) for rows in groups.values()) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert all(prefix > 0.5 * min(len(ids[i]) for i in rows) for prefix, rows in groups.items())


def test_it_keeps_a_group_whole_when_the_next_does_not_fit(backend):
    ids = token_ids(backend, shared_requests())
    backend.settings = EndpointSettings(backend="transformers", model=backend.settings.model, batch_size=6)
    batches = backend.plan_batches(list(ids), ids)
    assert sorted(sorted(chunk) for chunk, _prefixes in batches) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_it_batches_prompts_without_a_shared_prefix_with_plain_left_padding(backend):
    ids = token_ids(backend, [ask("Any fever?"), ask("How long has the rash been there?")])
    assert backend.plan_batches(list(ids), ids) == [([0, 1], [0, 0])]


def last_logits(backend, ids, mask, cache, start):
    import torch

    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        out = backend.model(input_ids=ids[:, start:], attention_mask=mask, past_key_values=cache,
                            position_ids=positions[:, start:], use_cache=cache is not None)
    return out.logits[:, -1]


def test_it_computes_the_same_logits_with_a_shared_prefix_cache(backend):
    """The [prefix][padding][suffix] layout with a cached prefix equals plain left padding, token for token."""
    import torch

    from synthesis.backends.transformers_backend import shared_prefix

    requests = shared_requests()[:3]
    rows = [backend.tokenizer(backend.render(r), add_special_tokens=False)["input_ids"] for r in requests]
    rows[1] = rows[1] + backend.tokenizer(" and more words", add_special_tokens=False)["input_ids"]
    prefix = shared_prefix(dict(enumerate(rows)), range(3))
    assert prefix > 20

    ids, mask, cache = backend._inputs(rows, [prefix] * 3)
    cached = last_logits(backend, ids, mask, cache, prefix)
    plain = last_logits(backend, *backend._inputs(rows, [0] * 3), 0)
    assert torch.allclose(cached, plain, atol=1e-4)


def test_it_computes_the_same_logits_for_groups_with_different_prefixes_in_one_batch(backend):
    """Two questions' groups, prefixes of different lengths: [padding][prefix][padding][suffix] equals plain."""
    import torch

    from synthesis.backends.transformers_backend import shared_prefix

    requests = shared_requests()
    requests[4:] = [ask("Short post about a cough." * 3 + f" Instruction {n}.") for n in range(4)]
    rows = [backend.tokenizer(backend.render(r), add_special_tokens=False)["input_ids"] for r in requests]
    ids_by_index = dict(enumerate(rows))
    prefixes = [shared_prefix(ids_by_index, range(4))] * 4 + [shared_prefix(ids_by_index, range(4, 8))] * 4
    assert prefixes[0] != prefixes[4] and min(prefixes) > 20

    ids, mask, cache = backend._inputs(rows, prefixes)
    start = max(prefixes)
    assert cache.get_seq_length() == start
    cached = last_logits(backend, ids, mask, cache, start)
    plain = last_logits(backend, *backend._inputs(rows, [0] * 8), 0)
    assert torch.allclose(cached, plain, atol=1e-4)


def test_it_writes_the_same_greedy_text_for_several_prefix_groups_as_without_sharing(backend):
    requests = shared_requests()
    backend.settings = EndpointSettings(backend="transformers", model=backend.settings.model, batch_size=8)
    shared = [r.text for r in backend.generate(requests)]
    backend.settings = EndpointSettings(backend="transformers", model=backend.settings.model, batch_size=8,
                                        share_prefix=False)
    assert shared == [r.text for r in backend.generate(requests)]


@pytest.mark.slow
def test_it_writes_the_same_greedy_text_with_and_without_prefix_sharing_on_smollm2():
    from django.conf import settings

    path = settings.MODELS_DIR / "smollm2-135m-instruct"
    if not (path / "config.json").exists():
        pytest.skip("SmolLM2 not prepared: run `python manage.py prepare_demo_model`")
    shared = TransformersBackend(EndpointSettings(backend="transformers", model=str(path), device="cpu",
                                                  batch_size=4))
    plain = TransformersBackend(EndpointSettings(backend="transformers", model=str(path), device="cpu",
                                                 batch_size=4, share_prefix=False), model=shared.model,
                                tokenizer=shared.tokenizer)
    requests = shared_requests()[:4]
    assert [r.text for r in shared.generate(requests)] == [r.text for r in plain.generate(requests)]
