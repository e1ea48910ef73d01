"""Attention views: BertViz's head view and model view for one text and one model."""

from __future__ import annotations

import torch

__all__ = ["attention_for", "head_view", "model_view", "MAX_VIEW_TOKENS"]

# Past this many tokens the views draw thousands of lines and the page stops responding.
MAX_VIEW_TOKENS = 128


def attention_for(model, tokenizer, text: str) -> tuple[tuple[torch.Tensor, ...], list[str]]:
    """Return the attention weights of every layer (each (1, heads, n, n)) and the tokens."""
    if getattr(model.config, "_attn_implementation", "eager") != "eager":
        raise ValueError("attention weights need eager attention: load the model with helpers.load_mlm()")
    encoded = tokenizer(text, return_tensors="pt").to(next(model.parameters()).device)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    if len(tokens) > MAX_VIEW_TOKENS:
        raise ValueError(
            f"the text has {len(tokens)} tokens; attention views stay readable up to {MAX_VIEW_TOKENS}. "
            "Pass a shorter text (a sentence or two)."
        )
    with torch.inference_mode():
        out = model(**encoded, output_attentions=True)
    return tuple(a.float().cpu() for a in out.attentions), tokens


def head_view(model, tokenizer, text: str, layer: int | None = None, heads: list[int] | None = None,
              html_action: str = "view"):
    """Show BertViz's head view (one layer, all heads, as lines between tokens)."""
    from bertviz import head_view as bertviz_head_view

    attention, tokens = attention_for(model, tokenizer, text)
    return bertviz_head_view(attention, tokens, layer=layer, heads=heads, html_action=html_action)


def model_view(model, tokenizer, text: str, layers: list[int] | None = None, heads: list[int] | None = None,
               html_action: str = "view"):
    """Show BertViz's model view (a grid of every layer and head)."""
    from bertviz import model_view as bertviz_model_view

    attention, tokens = attention_for(model, tokenizer, text)
    return bertviz_model_view(attention, tokens, include_layers=layers, include_heads=heads, html_action=html_action)
