"""Attention weights, queries and keys of a BERT-style model for one text."""

from __future__ import annotations

import torch

from .template import readable_tokens, with_mask_token

__all__ = ["MAX_VIEW_TOKENS", "attention_for", "queries_and_keys_for"]

# Past this many tokens a view of every token pair stops being readable on a screen.
MAX_VIEW_TOKENS = 128


def _encode(model, tokenizer, text: str) -> tuple[dict, list[str]]:
    """Tokenize one text for ``model`` (a literal "[MASK]" as the tokenizer's mask token) and refuse
    texts too long to show; the tokens come back as a person reads them ("great", not "Ġgreat")."""
    encoded = tokenizer(with_mask_token(text, tokenizer), return_tensors="pt").to(next(model.parameters()).device)
    tokens = readable_tokens(tokenizer, encoded["input_ids"][0].tolist())
    if len(tokens) > MAX_VIEW_TOKENS:
        raise ValueError(
            f"the text has {len(tokens)} tokens; attention views stay readable up to {MAX_VIEW_TOKENS}. "
            "Pass a shorter text (a sentence or two)."
        )
    return encoded, tokens


def attention_for(model, tokenizer, text: str) -> tuple[tuple[torch.Tensor, ...], list[str]]:
    """Return the attention weights of every layer (each (1, heads, n, n)) and the tokens."""
    if getattr(model.config, "_attn_implementation", "eager") != "eager":
        raise ValueError("attention weights need eager attention: load the model with helpers.load_mlm()")
    encoded, tokens = _encode(model, tokenizer, text)
    with torch.inference_mode():
        out = model(**encoded, output_attentions=True)
    return tuple(a.float().cpu() for a in out.attentions), tokens


def _query_key_layers(model) -> list[tuple[torch.nn.Module, torch.nn.Module]]:
    """Find each layer's query and key projections in a BERT-style encoder."""
    modules = dict(model.named_modules())
    pairs = [(modules[name], modules[name[: -len("query")] + "key"]) for name in modules
             if name.endswith("attention.self.query") and name[: -len("query")] + "key" in modules]
    if len(pairs) != model.config.num_hidden_layers:
        raise ValueError(
            f"queries and keys are read from BERT-style layers (modules named '...attention.self.query' "
            f"and '...attention.self.key'); {type(model).__name__} has {len(pairs)} of "
            f"{model.config.num_hidden_layers}. Use a BERT, RoBERTa or ELECTRA checkpoint."
        )
    return pairs


def queries_and_keys_for(model, tokenizer, text: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Return every layer's per-head queries and keys, each (layers, heads, n, head_dim), and the tokens."""
    pairs = _query_key_layers(model)
    encoded, tokens = _encode(model, tokenizer, text)
    captured: dict[int, torch.Tensor] = {}
    hooks = []
    for query, key in pairs:
        for module in (query, key):
            hooks.append(module.register_forward_hook(
                lambda module, args, output: captured.__setitem__(id(module), output.detach())))
    try:
        with torch.inference_mode():
            model(**encoded)
    finally:
        for hook in hooks:
            hook.remove()
    heads = model.config.num_attention_heads

    def per_head(module: torch.nn.Module) -> torch.Tensor:
        vectors = captured[id(module)][0].float().cpu()  # (n, hidden)
        return vectors.view(len(tokens), heads, -1).transpose(0, 1)  # (heads, n, head_dim)

    queries = torch.stack([per_head(q) for q, _ in pairs])
    keys = torch.stack([per_head(k) for _, k in pairs])
    return queries, keys, tokens
