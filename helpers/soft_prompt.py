"""Soft prompts: trained vectors in place of a template's words, the model frozen.

``prompt_tune`` learns ``n_tokens`` input vectors for a template and a verbalizer from a
few labelled examples; every weight of the model stays as it is.

- **Prompt tuning** (Lester, Al-Rfou & Constant 2021, "The Power of Scale for
  Parameter-Efficient Prompt Tuning", https://arxiv.org/abs/2104.08691): the vectors are
  the parameters. Each of the template's words (its alphanumeric tokens, e.g. *it* and
  *was* in "{text} It was {mask}.") is replaced by a vector initialised from that word's
  embedding; vectors beyond those go just before the template's first word, initialised
  from the embeddings of whole words drawn at random (seeded) from the vocabulary. The
  template's punctuation stays as real tokens (anchors). With as many vectors as template
  words, the untrained soft prompt *is* the hand prompt.
- **P-tuning** (Liu et al. 2021, "GPT Understands, Too", https://arxiv.org/abs/2103.10385),
  ``encoder="mlp"`` or ``"lstm"``: the vectors are the output of a small prompt encoder
  (a two-layer MLP, or a bidirectional LSTM followed by it) applied to trainable inputs,
  ``v = h + f(h)``; ``f``'s last layer starts at zero, so training starts from the hand
  prompt too. The anchors (punctuation) are kept as real words, as P-tuning keeps a few.
  Once trained, only the vectors ``v`` are needed: the encoder is thrown away.

The loss is the cross-entropy over the classes' label words at [MASK], the objective of
``helpers.finetune.prompt_finetune``: ``loss_i = -log softmax(s_i)[y_i]`` with
``s_ic = agg_{w in V(c)} log p([MASK] = w | x_i)``. Label words must be one token each.
Only the vectors are saved (``SoftPrompt.save``: a safetensors file of n x hidden floats
and a small JSON file of the template, the verbalizer and the layout).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .calibration import CONTENT_FREE_INPUTS, calibrate_probs
from .finetune import _batches, _check_examples, _run, class_scores
from .inputs import TextInput, as_texts
from .label_search import whole_word_tokens
from .scorer import content_free_texts, encoder_and_head, fused_attention, pad_prompts
from .template import EncodedPrompt, Template, readable_tokens
from .verbalizer import BoundVerbalizer, Verbalizer, VerbalizerError, bind

__all__ = ["SoftPrompt", "prompt_tune", "SOFT_PROMPT_DEFAULTS", "ENCODERS"]

ENCODERS = (None, "mlp", "lstm")
# The learning rate was chosen on SST-2 validation (see ``prompt_tune``).
SOFT_PROMPT_DEFAULTS = {"n_tokens": None, "steps": 60, "lr": 1e-3, "batch_size": 8}


def _is_word_token(tokenizer, token_id: int) -> bool:
    """True for a template token that is (part of) a word, False for punctuation (an anchor)."""
    text = tokenizer.convert_tokens_to_string([tokenizer.convert_ids_to_tokens(token_id)]).strip()
    return any(ch.isalnum() for ch in text)


class _PromptEncoder(nn.Module):
    """P-tuning's reparametrisation ``v = h + f(h)``: f an MLP, or a BiLSTM then an MLP."""

    def __init__(self, dim: int, kind: str):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim // 2, num_layers=2, bidirectional=True, batch_first=True) \
            if kind == "lstm" else None
        width = 2 * (dim // 2) if kind == "lstm" else dim
        self.mlp = nn.Sequential(nn.Linear(width, dim), nn.ReLU(), nn.Linear(dim, dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.lstm(h[None])[0][0] if self.lstm is not None else h
        return h + self.mlp(x)


class SoftPrompt:
    """Trained prompt vectors for one template and verbalizer on one (frozen) model.

    ``vectors`` is (n_tokens, hidden). ``classify(texts)`` gives (n, n_classes) probabilities,
    classes in ``verbalizer.labels`` order. Make one with ``prompt_tune`` or ``SoftPrompt.load``.
    """

    def __init__(self, model, tokenizer, template: Template, verbalizer: Verbalizer, vectors: torch.Tensor,
                 encoder: str | None = None, max_length: int = 128, batch_size: int = 32):
        self.model, self.tokenizer = model, tokenizer
        self.template, self.verbalizer = template, verbalizer
        self.bound = _single_token(verbalizer, tokenizer)
        dim = model.get_input_embeddings().weight.shape[1]
        vectors = torch.as_tensor(vectors, dtype=torch.float32)
        if vectors.ndim != 2 or vectors.shape[1] != dim or vectors.shape[0] < 1:
            raise ValueError(f"soft prompt vectors must have shape (n_tokens, {dim}) for this model's "
                             f"embeddings, got {tuple(vectors.shape)}; was it trained on another model?")
        self.vectors = vectors.detach().cpu()
        self.encoder = encoder
        self.max_length = min(max_length, tokenizer.model_max_length,
                              getattr(model.config, "max_position_embeddings", 512))
        self.batch_size = batch_size
        _layout(template, tokenizer, len(self.vectors))  # checks that the template fits n_tokens

    @property
    def n_tokens(self) -> int:
        """Number of trained vectors."""
        return int(self.vectors.shape[0])

    def __repr__(self) -> str:
        return (f"SoftPrompt({self.n_tokens} vectors x {self.vectors.shape[1]}, template={self.template.template!r}, "
                f"labels={self.verbalizer.labels}, encoder={self.encoder!r})")

    def _word_logprobs(self, texts: list, vectors: torch.Tensor | None = None) -> np.ndarray:
        """Label-word log-probabilities (n, n_words) with the current vectors, in input order."""
        vectors = self.vectors if vectors is None else vectors
        prompts = _encode(self.template, self.tokenizer, texts, self.max_length, self.n_tokens)
        device = next(self.model.parameters()).device
        word_ids = torch.as_tensor([ids[0] for ids in self.bound.word_ids], device=device)
        out = np.zeros((len(texts), len(self.bound.words)))
        order = sorted(range(len(texts)), key=lambda i: len(prompts[i][0].ids))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode(), fused_attention(self.model):
                for s in range(0, len(order), self.batch_size):
                    chunk = order[s:s + self.batch_size]
                    logp = _mask_logprobs(self.model, self.tokenizer, [prompts[i] for i in chunk], vectors.to(device))
                    out[chunk] = logp[:, word_ids].cpu().numpy()
        finally:
            self.model.train(was_training)
        return out

    def classify(self, texts: TextInput | Sequence[TextInput], calibrate: bool | Sequence[str] = False) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in ``verbalizer.labels`` order.

        ``calibrate=True`` divides by the mean probabilities of the content-free inputs "N/A",
        "" and the mask token through the same soft prompt (Zhao et al. 2021), as
        ``MaskScorer.classify`` does; a list of strings uses those inputs instead.
        """
        texts, _ = as_texts(texts)
        probs = self.bound.class_probs(self._word_logprobs(texts))
        if not calibrate:
            return probs
        inputs = CONTENT_FREE_INPUTS if calibrate is True else calibrate
        free = content_free_texts(self.template, self.tokenizer, inputs)
        return calibrate_probs(probs, self.bound.class_probs(self._word_logprobs(free)).mean(axis=0))

    def nearest_words(self, k: int = 5) -> list[list[tuple[str, float]]]:
        """For each vector, the ``k`` vocabulary tokens whose input embeddings are closest by cosine.

        Returns one list of ``(token, cosine similarity)`` per vector, closest first.
        """
        table = self.model.get_input_embeddings().weight.detach().float().cpu()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= table.shape[0]:
            raise ValueError(f"k must be a whole number from 1 to the vocabulary size {table.shape[0]}, got {k!r}")
        cos = nn.functional.normalize(self.vectors, dim=1) @ nn.functional.normalize(table, dim=1).T
        top = torch.topk(cos, k, dim=1)
        # tokens as a person reads them: "Ġgreat" -> "great" in a byte-level BPE vocabulary
        return [list(zip(readable_tokens(self.tokenizer, i.tolist()), v.numpy().round(4).tolist()))
                for v, i in zip(top.values, top.indices)]

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write the vectors to ``path`` (safetensors) and the configuration beside it (``.json``).

        Returns the two paths. Nothing of the model is written: load it again with
        ``SoftPrompt.load(path, model, tokenizer)`` on the same model.
        """
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        config = {"template": self.template.template, "truncate": self.template.truncate,
                  "verbalizer": self.verbalizer.to_dict(), "encoder": self.encoder, "n_tokens": self.n_tokens,
                  "hidden_size": int(self.vectors.shape[1]), "max_length": self.max_length,
                  "model": str(getattr(self.model.config, "name_or_path", ""))}
        save_file({"vectors": self.vectors.contiguous()}, str(path))
        meta = path.with_suffix(".json")
        meta.write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path, meta

    @classmethod
    def load(cls, path: str | Path, model, tokenizer) -> SoftPrompt:
        """Read a soft prompt written by ``save`` and attach it to ``model`` and ``tokenizer``."""
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        meta = path.with_suffix(".json")
        for p in (path, meta):
            if not p.is_file():
                raise FileNotFoundError(f"no file {p}; SoftPrompt.save(path) writes both {path.name} and {meta.name}")
        config = json.loads(meta.read_text(encoding="utf-8"))
        vectors = load_file(str(path))["vectors"]
        verbalizer = Verbalizer(config["verbalizer"]["label_words"], aggregate=config["verbalizer"]["aggregate"],
                                multi_token=config["verbalizer"]["multi_token"])
        return cls(model, tokenizer, Template(config["template"], truncate=config.get("truncate", "right")),
                   verbalizer, vectors, encoder=config.get("encoder"), max_length=config.get("max_length", 128))


# ---- the layout of a soft prompt --------------------------------------------------------------
def _layout(template: Template, tokenizer, n_tokens: int) -> tuple[int, int]:
    """(template words replaced in place, extra vectors inserted before them) for ``n_tokens``."""
    probe = template.encode(tokenizer, {slot: "x" for slot in template.text_slots})
    words = [p for p in probe.template_positions if _is_word_token(tokenizer, probe.ids[p])]
    if n_tokens < len(words):
        raise ValueError(f"{template!r} has {len(words)} word tokens to replace; n_tokens must be at least "
                         f"{len(words)}, got {n_tokens}")
    return len(words), n_tokens - len(words)


def _encode(template: Template, tokenizer, texts: list, max_length: int, n_tokens: int
            ) -> list[tuple[EncodedPrompt, list[int]]]:
    """Each text's prompt with room for the extra vectors, and the positions of the n soft vectors."""
    _, extra = _layout(template, tokenizer, n_tokens)
    out = []
    for prompt in template.encode_batch(tokenizer, texts, max_length - extra):
        words = [p for p in prompt.template_positions if _is_word_token(tokenizer, prompt.ids[p])]
        at = words[0] if words else prompt.mask_positions[0]
        ids = prompt.ids[:at] + [tokenizer.pad_token_id] * extra + prompt.ids[at:]
        shift = lambda p: p + extra if p >= at else p  # noqa: E731
        soft = list(range(at, at + extra)) + [shift(p) for p in words]
        out.append((EncodedPrompt(ids, [shift(p) for p in prompt.mask_positions], prompt.truncated), soft))
    return out


def _mask_logprobs(model, tokenizer, batch: list[tuple[EncodedPrompt, list[int]]], vectors: torch.Tensor
                   ) -> torch.Tensor:
    """Log-probabilities over the vocabulary (b, vocab) at each prompt's mask, soft vectors in place."""
    device = vectors.device
    ids, attention, at_mask = pad_prompts([p for p, _ in batch], tokenizer.pad_token_id, device)
    embeddings = model.get_input_embeddings()(ids)
    rows = torch.as_tensor([r for r, (_, soft) in enumerate(batch) for _ in soft], device=device)
    cols = torch.as_tensor([c for _, soft in batch for c in soft], device=device)
    which = torch.arange(vectors.shape[0], device=device).repeat(len(batch))
    embeddings = embeddings.index_put((rows, cols), vectors[which].to(embeddings.dtype))
    encoder, head = encoder_and_head(model)
    hidden = encoder(inputs_embeds=embeddings, attention_mask=attention).last_hidden_state
    return torch.log_softmax(head(hidden[at_mask]).float(), dim=-1)


def _single_token(verbalizer: Verbalizer | BoundVerbalizer, tokenizer) -> BoundVerbalizer:
    bound = bind(verbalizer, tokenizer)
    split = [w for w, ids in zip(bound.words, bound.word_ids) if len(ids) != 1]
    if split:
        raise VerbalizerError(f"label word(s) {split} are split into several tokens; a soft prompt has one mask, "
                              "so choose words the vocabulary keeps whole (search_label_words finds only such words)")
    return bound


# ---- training ---------------------------------------------------------------------------------
def prompt_tune(
    model,
    tokenizer,
    template: Template | str,
    verbalizer: Verbalizer,
    texts: Sequence[TextInput],
    labels: Sequence[int],
    seed: int = 0,
    *,
    n_tokens: int | None = None,
    steps: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    encoder: str | None = None,
    max_length: int = 128,
    progress: bool = False,
    loss_log: list[float] | None = None,
) -> SoftPrompt:
    """Train a soft prompt for ``template`` and ``verbalizer`` on a frozen model (see the module docstring).

    Args:
        model: a BERT- or RoBERTa-style masked LM (``helpers.load_mlm``). Its weights are
            not changed (nor their ``requires_grad`` flags, nor their ``.grad``).
        template: the hand prompt whose words the vectors replace; one ``{mask}``.
        verbalizer: one-token label words per class; ``labels[i]`` indexes ``verbalizer.labels``.
        texts, labels: n training examples (K per class in few-shot use).
        seed: seeds the draw of extra vectors' words, the prompt encoder and the shuffling;
            the same seed gives the same prompt on a CPU.
        n_tokens: number of vectors; ``None``: as many as the template has word tokens.
        steps, lr, batch_size: ``None`` takes ``SOFT_PROMPT_DEFAULTS`` (60 steps of 8
            examples through the training loop of ``finetune``, lr 1e-3 decaying linearly to 0,
            gradient norm clipped at 1, no weight decay). The learning rate was chosen on 200
            SST-2 validation sentences (seed 0 of ``np.random.default_rng``) with
            "{text} It was {mask}." and great / terrible on the offline default model, after
            prompt tuning on K = 8 examples per class: mean accuracy over three seeds 0.705 at
            1e-3 against 0.562 at 1e-2 (zero-shot 0.690); at 1e-2 the training loss goes to
            almost 0 and the prompt overfits. An earlier single-seed run at K = 16 had found
            1e-2, 3e-2 and 1e-1 within the noise of each other (0.685, 0.645, 0.680).
            ``steps=0`` returns the untrained prompt (the hand prompt's own words).
        encoder: ``None`` (prompt tuning), ``"mlp"`` or ``"lstm"`` (P-tuning).
        max_length: prompts are cut to this many tokens inside the text slot.
        loss_log: a list to which the training loss of every step is appended.

    Returns:
        A ``SoftPrompt`` on ``model``: ``.classify(texts)`` -> (n, n_classes) probabilities.
    """
    template = template if isinstance(template, Template) else Template(template)
    if not isinstance(verbalizer, Verbalizer):
        raise TypeError(f"verbalizer must be a Verbalizer, got {type(verbalizer).__name__}; e.g. "
                        "Verbalizer({'negative': ['terrible'], 'positive': ['great']})")
    bound = _single_token(verbalizer, tokenizer)
    texts, labels, _ = _check_examples(texts, labels, len(bound.labels), bound.labels)
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be None (prompt tuning), 'mlp' or 'lstm' (P-tuning), not {encoder!r}")
    steps = SOFT_PROMPT_DEFAULTS["steps"] if steps is None else steps
    lr = SOFT_PROMPT_DEFAULTS["lr"] if lr is None else lr
    batch_size = SOFT_PROMPT_DEFAULTS["batch_size"] if batch_size is None else batch_size
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    n_words, _ = _layout(template, tokenizer, 10**6)
    n_tokens = n_words if n_tokens is None else n_tokens
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, int) or n_tokens < 1:
        raise ValueError(f"n_tokens must be a positive whole number, got {n_tokens!r}"
                         + ("; this template has no words to start from, so pass n_tokens" if n_words == 0 else ""))
    _, extra = _layout(template, tokenizer, n_tokens)
    table = model.get_input_embeddings().weight
    device = table.device
    limit = min(max_length, tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))
    prompts = _encode(template, tokenizer, texts, limit, n_tokens)

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        first = prompts[0]
        in_place = [first[0].ids[p] for p in first[1][extra:]]
        pool, _ = whole_word_tokens(tokenizer)
        drawn = pool[np.random.default_rng(seed).choice(len(pool), extra, replace=False)].tolist() if extra else []
        start = table.detach()[torch.as_tensor(drawn + in_place, dtype=torch.long, device=device)].float().clone()
        h = nn.Parameter(start)
        reparam = _PromptEncoder(start.shape[1], encoder).to(device) if encoder else None
        params = [("prompt", h)] + ([(f"encoder.{n}", p) for n, p in reparam.named_parameters()] if reparam else [])
        vectors = (lambda: reparam(h)) if reparam else (lambda: h)
        y = torch.as_tensor(labels, device=device)
        word_ids = torch.as_tensor([ids[0] for ids in bound.word_ids], device=device)

        def loss_of(batch: list[int]) -> torch.Tensor:
            logp = _mask_logprobs(model, tokenizer, [prompts[i] for i in batch], vectors())
            return nn.functional.cross_entropy(class_scores(logp[:, word_ids], bound), y[batch])

        epochs = max(1, math.ceil(steps * batch_size / len(texts)))
        order = _batches(len(texts), batch_size, epochs, torch.Generator().manual_seed(seed))
        order = [b for b in order][:steps]
        flags = [p.requires_grad for p in model.parameters()]
        was_training = model.training
        try:
            for p in model.parameters():
                p.requires_grad_(False)
            model.eval()  # frozen: no dropout either, so the prompt is trained for the model it is used with
            if order:
                with fused_attention(model):
                    _run(order, loss_of, params, lr, 0.0, 0.0, progress, loss_log, "prompt tuning")
        finally:
            for p, flag in zip(model.parameters(), flags):
                p.requires_grad_(flag)
            model.train(was_training)
        with torch.no_grad():
            final = vectors().detach().float().cpu()
    return SoftPrompt(model, tokenizer, template, verbalizer, final, encoder=encoder, max_length=limit)
