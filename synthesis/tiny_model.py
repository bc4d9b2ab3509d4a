"""Build a tiny random causal LM with its own BPE tokenizer and chat template, entirely offline (tests, smoke runs)."""
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import os

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase, PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIALS = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CORPUS = [
    "How long have you had the pain in your chest, and does it get worse when you climb stairs?",
    "Do you have a fever, a cough or shortness of breath?",
    "Is the rash itchy, and has it spread since Monday?",
    "Have you noticed feeling cold, tired or gaining weight?",
    "What medications do you take, and at what dose?",
    "Patient post: I have had headaches every morning for two weeks. Doctor: any vision changes?",
    '{"ranks": {"A": 1, "B": 2, "C": 3}}',
]


def build_tokenizer(texts: Sequence[str] = CORPUS) -> "PreTrainedTokenizerFast":
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))  # noqa: S106 - a token, not a password
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts) * 4, trainer=trainer)
    special = {"bos_token": "<s>", "eos_token": "<|end|>", "unk_token": "<unk>", "pad_token": "<pad>"}
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok, **special,
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>", "</s>"],
    )
    hf_tok.chat_template = CHAT_TEMPLATE
    return hf_tok


def llama_config(tokenizer: "PreTrainedTokenizerBase", **shape: Any) -> "LlamaConfig":
    from transformers import LlamaConfig

    defaults = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                "num_key_value_heads": 2, "max_position_embeddings": 8192, "tie_word_embeddings": True,
                "vocab_size": len(tokenizer)}
    return LlamaConfig(**{**defaults, **shape}, bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)


def build_tiny_model(out_dir: "str | os.PathLike[str] | None" = None, seed: int = 0, device: str = "cpu",
                     dtype: "torch.dtype | None" = None,
                     **shape: Any) -> tuple["LlamaForCausalLM", "PreTrainedTokenizerFast"]:
    """Return (model, tokenizer); save both to out_dir when given. ~100k parameters by default.

    Larger shapes (a Llama-3.2-1B-shaped benchmark model) are initialised directly on `device` in `dtype`.
    """
    import torch
    from transformers import LlamaForCausalLM

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype or torch.float32)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(llama_config(tokenizer, **shape)).eval()
    finally:
        torch.set_default_dtype(previous)
    if out_dir is not None:
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
    return model, tokenizer
