"""The transformers backend's prefix store on the tiny offline model: a prompt computes only the tokens after its
longest stored prefix, writes what it would write without the store, and the store keeps to its token budget."""

from dataclasses import replace

import pytest

from synthesis.backends import EndpointSettings
from synthesis.backends.prefix_store import PrefixStore
from synthesis.backends.transformers_backend import TransformersBackend, shared_prefix

from .contract import GREEDY, ask

POST = "I have had a throbbing headache every morning for two weeks, with nausea and light hurting. " * 3


@pytest.fixture(scope="module")
def plain(tiny_model_dir):
    return TransformersBackend(EndpointSettings(backend="transformers", model=str(tiny_model_dir), device="cpu",
                                                batch_size=4), prefix_cache_tokens=0)


def stored(plain, budget=4096):
    """A backend of the same model with a fresh store."""
    return TransformersBackend(plain.settings, model=plain.model, tokenizer=plain.tokenizer,
                               prefix_cache_tokens=budget)


def turns(sampling=GREEDY):
    """Prompts as an interactive run sends them: one case's, growing by a turn, and another case's."""
    first = [ask(f"{POST}\nTask {n}: what could it be?", sampling) for n in range(3)]
    later = [ask(f"{POST}\nDoctor: any fever?\nPatient: no.\nTask {n}: what could it be?", sampling)
             for n in range(3)]
    return first, [*later, ask("My ankle is swollen since I fell off my bike on Sunday.", sampling)]


def token_ids(backend, request):
    return backend.tokenizer(backend.render(request), add_special_tokens=False)["input_ids"]


def test_the_default_store_is_on_for_a_cpu_backend(plain):
    assert plain.prefix_store is None
    default = TransformersBackend(plain.settings, model=plain.model, tokenizer=plain.tokenizer)
    assert default.prefix_store is not None and default.prefix_store.budget > 0


@pytest.mark.parametrize(("configured", "budget"), [("1024", 1024), ("0", None)])
def test_alfa_prefix_cache_tokens_sets_the_default_budget(plain, monkeypatch, configured, budget):
    monkeypatch.setenv("ALFA_PREFIX_CACHE_TOKENS", configured)
    store = TransformersBackend(plain.settings, model=plain.model, tokenizer=plain.tokenizer).prefix_store
    assert (store and store.budget) == budget


def test_it_writes_the_same_greedy_text_with_the_store_as_without(plain):
    backend = stored(plain)
    for requests in turns():
        assert [r.text for r in backend.generate(requests)] == [r.text for r in plain.generate(requests)]
    assert backend.prompt_tokens_reused > 0


def test_it_samples_the_same_text_with_the_store_as_without(plain):
    sampled = replace(GREEDY, temperature=1.0, top_p=0.9, max_tokens=12)
    backend = stored(plain)
    texts = []
    for requests in turns(sampled):
        requests = [replace(request, sampling=replace(sampled, seed=n)) for n, request in enumerate(requests)]
        with_store = [r.text for r in backend.generate(requests)]
        assert with_store == [r.text for r in plain.generate(requests)]
        texts += with_store
    assert len(set(texts)) > 1  # sampled, not one text for all
    assert backend.prompt_tokens_reused > 0


def test_a_stored_prefix_is_not_computed_again(plain):
    backend = stored(plain)
    block = backend.prefix_store.block
    first, later = turns()
    one = token_ids(backend, first[0])
    backend.generate([first[0]])
    assert (backend.prompt_tokens_computed, backend.prompt_tokens_reused) == (len(one), 0)

    other = token_ids(backend, later[0])
    common = shared_prefix({0: one, 1: other}, [0, 1])
    backend.generate([later[0]])
    reused = backend.prompt_tokens_reused
    assert reused == common // block * block and reused > len(one) // 2
    assert backend.prompt_tokens_computed == len(one) + len(other) - reused

    backend.generate([later[0]])  # the same prompt again: all but the partial last block comes from the store
    assert backend.prompt_tokens_computed - (len(one) + len(other) - reused) == len(other) - (
        len(other) - 1) // block * block


def test_rows_of_one_call_reuse_each_others_prefix(plain):
    """A case's letter and confidence prompts go in one call: the second computes only its own end."""
    backend = stored(plain)
    first, _later = turns()
    backend.generate(first)
    total = sum(len(token_ids(backend, request)) for request in first)
    assert backend.prompt_tokens_computed < total / 2
    assert backend.prompt_tokens_computed + backend.prompt_tokens_reused == total


def test_the_store_keeps_to_its_token_budget_and_evicts_the_least_recently_used(plain):
    backend = stored(plain, budget=64)
    store = backend.prefix_store
    first, later = turns()
    for request in [*first, *later]:
        backend.generate([request])
        assert store.tokens <= 64
    assert backend.prompt_tokens_reused < backend.prompt_tokens_computed  # a small store reuses little
    # the last prompt's blocks are the ones kept, its first block the most recently used (evicted last)
    last = token_ids(backend, later[-1])
    assert next(reversed(store.blocks)) == tuple(last[:store.block])


def test_the_store_evicts_a_prompts_last_blocks_before_the_start_others_share():
    import torch

    store = PrefixStore(budget=24, block=4)  # six blocks
    kv = torch.zeros((1, 2, 1, 32, 2))
    shared, first, second = list(range(8)), list(range(8, 16)), list(range(16, 24))
    store.add(shared + first, kv, 0)  # 4 blocks
    store.add(shared + second, kv, len(store.match(shared + second, 16)))  # 2 stored, 2 new: 6 blocks
    store.add([99] * 8, kv, 0)  # 2 more: 8 blocks, over the budget
    assert store.tokens == 24
    assert len(store.match(shared + second, 16)) == 4  # the most recent prompt whole
    assert len(store.match(shared + first, 16)) == 2  # the older one kept only the start both share
