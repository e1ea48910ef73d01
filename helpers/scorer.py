"""MaskScorer: batched scoring of [MASK] positions on CPU or GPU.

Texts are sorted by length and cut into batches padded only to the longest text in the
batch; results come back in input order. The encoder runs once per batch and the
vocabulary layer runs only on the hidden states at mask positions (a masked-LM head would
otherwise compute 30,522 logits at every position). ``precision`` picks the number
format: "fp32" (the default, on every device: what the notebooks' outputs were made with),
"bf16", "fp16" (CUDA only) or "auto" (the fastest accurate one here, see ``helpers.precision``:
bf16 or fp16 autocast on CUDA; on a CPU, bf16 only where the CPU runs it fast). On a CPU, bf16
runs a bf16 copy of the encoder (made once, and again only after the weights change), and the
vocabulary layer and log-softmax stay in fp32 at the masks. On a CUDA out-of-memory error the
batch is halved and retried.
While scoring, attention runs through PyTorch's fused ``scaled_dot_product_attention``
(SDPA) even when the model was loaded with eager attention for BertViz; the model is put
back afterwards. Eager attention builds every (heads x length x length) weight matrix,
which dominates on long inputs.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm.auto import tqdm

from .calibration import CONTENT_FREE_INPUTS, calibrate_probs
from .inputs import as_texts
from .precision import PRECISIONS, resolve_precision
from .template import EncodedPrompt, readable_tokens, with_mask_token
from .verbalizer import bind

if TYPE_CHECKING:
    from .inputs import TextInput
    from .template import Template
    from .verbalizer import BoundVerbalizer, Verbalizer

__all__ = ["MaskScorer", "TruncationWarning", "content_free_texts", "encoder_and_head"]


class TruncationWarning(UserWarning):
    """Some inputs were longer than the model allows and their text was cut."""


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside ``helpers``."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def pad_prompts(prompts: Sequence[EncodedPrompt], pad_id: int, device: torch.device | str = "cpu"
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One batch of encoded prompts padded to the longest: input ids and attention mask
    (b, width), and a boolean (b, width) marking the mask slots, all on ``device``."""
    width = max(len(p.ids) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    at_mask = torch.zeros((len(prompts), width), dtype=torch.bool)
    for row, p in enumerate(prompts):
        ids[row, :len(p.ids)] = torch.tensor(p.ids)
        attention[row, :len(p.ids)] = 1
        at_mask[row, p.mask_positions] = True
    return ids.to(device), attention.to(device), at_mask.to(device)


@contextlib.contextmanager
def fused_attention(model) -> Iterator[None]:
    """Switch an eager-attention model to SDPA for the duration, when it supports that."""
    previous = getattr(model.config, "_attn_implementation", None)
    if previous != "eager" or not hasattr(model, "set_attn_implementation"):
        yield
        return
    try:
        model.set_attn_implementation("sdpa")
    except (ValueError, ImportError):  # a model class without SDPA support
        yield
        return
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


def encoder_and_head(model) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The encoder and the masked-LM head of a BERT- or RoBERTa-style model."""
    if hasattr(model, "bert") and hasattr(model, "cls"):
        return model.bert, model.cls
    if hasattr(model, "lm_head") and hasattr(model, "base_model"):
        return model.base_model, model.lm_head
    raise TypeError(f"{type(model).__name__} is not a BERT- or RoBERTa-style masked LM "
                    "(no .bert/.cls or .base_model/.lm_head); load one with helpers.load_mlm")


def content_free_texts(template: Template, tokenizer, inputs: Sequence[str] = CONTENT_FREE_INPUTS) -> list[dict]:
    """The content-free inputs (Zhao et al. 2021) as slot values of ``template``: each input, with
    "{mask_token}" written as the tokenizer's mask token, in every text slot."""
    inputs, _ = as_texts(inputs, what="content-free inputs", mappings=False)
    if not inputs:
        raise ValueError("content-free inputs are empty; pass at least one, e.g. ['N/A']")
    fill = [s.format(mask_token=tokenizer.mask_token) for s in inputs]
    return [{slot: s for slot in template.text_slots} for s in fill]


class MaskScorer:
    """Score the [MASK] positions of many texts with a masked language model."""

    def __init__(self, model, tokenizer, batch_size: int = 32, max_length: int | None = None,
                 progress: bool | None = None, precision: str = "fp32"):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        self.precision = precision
        self._compute: dict[torch.device, torch.dtype] = {}  # precision resolved per device
        self._cast_copy: tuple[tuple, torch.nn.Module] | None = None  # (weights' fingerprint, copy)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        limit = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))
        self.max_length = min(max_length or limit, limit)
        self.progress = progress  # None: a bar when there are at least 8 batches
        try:
            self._encoder, self._head = encoder_and_head(model)
        except TypeError:
            self._encoder = self._head = None  # fall back to the full model's logits
        self.compute_dtype  # noqa: B018  resolve now, so that a fallback message appears when the scorer is made

    @property
    def device(self) -> torch.device:
        """The device the model's weights are on."""
        return next(self.model.parameters()).device

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype the encoder computes in on the model's current device (from ``precision``)."""
        device = self.device
        if device not in self._compute:
            self._compute[device] = resolve_precision(self.precision, device)
        return self._compute[device]

    # ---- the engine -------------------------------------------------------------------
    def _cpu_cast(self, dtype: torch.dtype) -> torch.nn.Module:
        """The encoder (or whole model) in ``dtype``: a copy, remade only when the weights change.

        The fingerprint is each parameter's storage and version counter, which an optimiser step
        or ``load_state_dict`` bumps, so a model trained after the scorer was built is not scored
        with stale weights.
        """
        module = self._encoder if self._encoder is not None else self.model
        key = (dtype, *((p.data_ptr(), p._version) for p in module.parameters()))
        if self._cast_copy is None or self._cast_copy[0] != key:
            self._cast_copy = None  # free the old copy before making the new one
            self._cast_copy = (key, copy.deepcopy(module).to(dtype))
        return self._cast_copy[1]

    def _mask_logprobs(self, batch: list[EncodedPrompt]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities over the vocabulary at every mask of a batch, and masks per row."""
        input_ids, attention, at_mask = pad_prompts(batch, self.tokenizer.pad_token_id, self.device)
        dtype = self.compute_dtype
        weights = next(self.model.parameters()).dtype
        on_cuda = self.device.type == "cuda"
        # CUDA: autocast. CPU: autocast re-casts every weight on every call and measured slower
        # than fp32, so the CPU runs a bf16 copy instead, with the head in the model's dtype.
        lower = weights == torch.float32 and dtype != torch.float32  # half weights run as they are
        autocast, cast = lower and on_cuda, lower and not on_cuda
        encoder = self._cpu_cast(dtype) if cast else self._encoder if self._encoder is not None else self.model
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=autocast):
            if self._encoder is not None:
                hidden = encoder(input_ids=input_ids, attention_mask=attention).last_hidden_state
                logits = self._head(hidden[at_mask].to(weights) if cast else hidden[at_mask])
            else:
                logits = encoder(input_ids=input_ids, attention_mask=attention).logits[at_mask]
            return torch.log_softmax(logits.float(), dim=-1), at_mask.sum(dim=1)

    def score_masks(self, prompts: Sequence[EncodedPrompt],
                    select: Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, ...]],
                    ) -> list[tuple[np.ndarray, ...]]:
        """Run encoded inputs in length-sorted batches; ``select`` reduces each batch's
        mask rows (log-probabilities, shape (masks, vocab)); return, per input in input
        order, the selected arrays restricted to its own masks."""
        n = len(prompts)
        order = sorted(range(n), key=lambda i: len(prompts[i].ids))
        results: list = [None] * n
        batch_size = self.batch_size
        show = self.progress if self.progress is not None else n >= 8 * self.batch_size
        with fused_attention(self.model), tqdm(total=n, disable=not show, desc="scoring", unit="text") as bar:
            start = 0
            while start < n:
                chunk = order[start:start + batch_size]
                try:
                    logprobs, counts = self._mask_logprobs([prompts[i] for i in chunk])
                except torch.OutOfMemoryError:
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    if batch_size == 1:
                        raise RuntimeError(
                            "out of memory with a batch of one text; use shorter texts (max_length), "
                            "a smaller dtype, or device='cpu'"
                        ) from None
                    batch_size //= 2
                    warnings.warn(f"out of memory: retrying with batch_size={batch_size}", ResourceWarning,
                                  stacklevel=1)
                    continue
                selected = select(logprobs)
                selected = selected if isinstance(selected, tuple) else (selected,)
                arrays = [s.cpu().numpy() for s in selected]
                bounds = np.concatenate([[0], np.cumsum(counts.cpu().numpy())])
                for j, i in enumerate(chunk):
                    results[i] = tuple(a[bounds[j]:bounds[j + 1]] for a in arrays)
                start += len(chunk)
                bar.update(len(chunk))
        return results

    # ---- raw texts with [MASK] ----------------------------------------------------------
    def encode_texts(self, texts: str | Sequence[str]) -> list[EncodedPrompt]:
        """Tokenize texts that contain the mask token; refuse ones without it or too long."""
        texts, _ = as_texts(texts, mappings=False)
        mask, mask_id = self.tokenizer.mask_token, self.tokenizer.mask_token_id
        encoded = []
        for i, text in enumerate(texts):
            text = with_mask_token(text, self.tokenizer)
            if mask not in text:
                raise ValueError(f"text {i} has no {mask} (nor [MASK]): {text[:80]!r}")
            x = self.tokenizer.encode(text)
            if len(x) > self.max_length:
                raise ValueError(
                    f"text {i} has {len(x)} tokens and the model takes at most {self.max_length}; "
                    "shorten it, or put it in a Template, which cuts the text and keeps the mask"
                )
            encoded.append(EncodedPrompt(x, [j for j, t in enumerate(x) if t == mask_id], False))
        return encoded

    @property
    def vocab_size(self) -> int:
        """Number of tokens the model scores at a mask."""
        return int(self.model.config.vocab_size)

    def _check_k(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.vocab_size:
            raise ValueError(f"k must be a whole number from 1 to the vocabulary size {self.vocab_size}, got {k!r}")

    def top_k(self, texts: str | Sequence[str], k: int = 5) -> list:
        """The ``k`` most likely tokens at each mask with their probabilities.

        For one text (a ``str``): a list (one per mask) of ``(token, probability)`` lists;
        for a list of texts: one such list per text.
        """
        self._check_k(k)
        batch, single = as_texts(texts, mappings=False)
        found = self.score_masks(self.encode_texts(batch), lambda lp: torch.topk(lp.exp(), k, dim=-1))
        tokens = functools.partial(readable_tokens, self.tokenizer)
        out = [[list(zip(tokens(i.tolist()), p.astype(float).round(6).tolist())) for p, i in zip(*r)] for r in found]
        return out[0] if single else out

    def label_logprobs(self, texts: str | Sequence[str], token_ids: Sequence[int]) -> np.ndarray:
        """Log-probabilities (n, len(token_ids)) of the given tokens at each text's one mask
        (one text, a ``str``, gives one row)."""
        texts, _ = as_texts(texts, mappings=False)
        token_ids = [int(t) for t in token_ids]
        bad = [t for t in token_ids if not 0 <= t < self.vocab_size]
        if bad:
            raise ValueError(f"token ids {bad} are outside the vocabulary (0..{self.vocab_size - 1}); "
                             "get ids with tokenizer.convert_tokens_to_ids")
        prompts = self.encode_texts(texts)
        for i, p in enumerate(prompts):
            if len(p.mask_positions) != 1:
                raise ValueError(f"text {i} has several masks; label_logprobs needs exactly one (see top_k)")
        if not prompts:
            return np.zeros((0, len(token_ids)))
        columns = torch.as_tensor(token_ids, device=self.device)
        rows = self.score_masks(prompts, lambda lp: lp[:, columns])
        return np.concatenate([r[0] for r in rows])

    # ---- templates and verbalizers --------------------------------------------------------
    def _encode_prompts(self, texts: Sequence[TextInput], template: Template, n_masks: int) -> list[EncodedPrompt]:
        return template.encode_batch(self.tokenizer, texts, self.max_length, n_masks)

    def _warn_if_cut(self, template: Template, n_texts: int, cut: int) -> None:
        if cut:
            warnings.warn(
                f"{cut} of {n_texts} inputs were longer than the model's {self.max_length}-token limit; "
                f"their text was cut (truncate={template.truncate!r}) so the template and mask fit",
                TruncationWarning, stacklevel=_stacklevel_outside_package(),
            )

    def _iterative(self, prompts: list[EncodedPrompt], piece_ids: tuple[int, ...]) -> np.ndarray:
        """PET's iterative decoding of one k-piece word over prompts with k masks: (n,)."""
        prompts = [EncodedPrompt(list(p.ids), list(p.mask_positions), p.truncated) for p in prompts]
        still_open = [list(range(len(piece_ids))) for _ in prompts]  # piece index of each open mask
        total = np.zeros(len(prompts))
        columns = torch.as_tensor(piece_ids, device=self.device)
        for _ in piece_ids:
            rows = self.score_masks(prompts, lambda lp: lp[:, columns])  # per text (open masks, k)
            for i, (table,) in enumerate(rows):
                own = table[np.arange(len(still_open[i])), still_open[i]]  # each open mask's own piece
                m = int(own.argmax())  # the most confident mask; ties go to the leftmost
                total[i] += own[m]
                prompts[i].ids[prompts[i].mask_positions[m]] = piece_ids[still_open[i][m]]
                del prompts[i].mask_positions[m], still_open[i][m]
        return total

    def _word_logprobs(self, texts: list, template: Template, bound: BoundVerbalizer,
                       top_k: int = 0) -> tuple[np.ndarray, list | None]:
        """Word log-probabilities (n, n_words) and, with ``top_k``, the top tokens at a one-mask blank."""
        out = np.zeros((len(texts), len(bound.words)))
        top = None
        if not texts:
            return out, [] if top_k else None
        cut = 0
        for k in sorted({len(w) for w in bound.word_ids} | ({1} if top_k else set())):
            words = [q for q, w in enumerate(bound.word_ids) if len(w) == k]
            prompts = self._encode_prompts(texts, template, k)
            cut = max(cut, sum(p.truncated for p in prompts))
            if k > 1 and bound.multi_token == "iterative":
                for q in words:
                    out[:, q] = self._iterative(prompts, bound.word_ids[q])
                continue
            columns = torch.as_tensor([t for q in words for t in bound.word_ids[q]], dtype=torch.long,
                                      device=self.device)
            if k == 1 and top_k:
                rows = self.score_masks(prompts, lambda lp: (lp[:, columns], *torch.topk(lp, top_k, dim=-1)))
                names = functools.partial(readable_tokens, self.tokenizer)
                top = [list(zip(names(r[2][0].tolist()), np.exp(r[1][0]).astype(float).round(6).tolist()))
                       for r in rows]
            else:
                rows = self.score_masks(prompts, lambda lp: lp[:, columns])
            # parallel: row r of an input's array is mask r; word q's piece j sits at column q*k + j
            table = np.stack([r[0] for r in rows]).reshape(len(texts), k, len(words), k)
            out[:, words] = np.einsum("njqj->nq", table)
        self._warn_if_cut(template, len(texts), cut)
        return out, top

    def word_logprobs(self, texts: TextInput | Sequence[TextInput], template: Template,
                      verbalizer: Verbalizer | BoundVerbalizer) -> np.ndarray:
        """Log-probability (n, n_words) of every label word in the template's mask slot.

        A word of k pieces is scored with k masks, by PET's parallel decoding (the sum of
        its pieces' log-probabilities in one pass) or iterative decoding (fill the most
        confident mask, run again), as the verbalizer's ``multi_token`` says. One text
        (a ``str`` or one dict of slot values) gives one row.
        """
        texts, _ = as_texts(texts)
        return self._word_logprobs(texts, template, bind(verbalizer, self.tokenizer))[0]

    def word_logprobs_and_top_k(self, texts: TextInput | Sequence[TextInput], template: Template,
                                verbalizer: Verbalizer | BoundVerbalizer, k: int = 1) -> tuple[np.ndarray, list]:
        """One pass for two questions: the label words' log-probabilities (n, n_words), as
        ``word_logprobs``, and per text the ``k`` most likely tokens at the one-mask blank
        as ``(token, probability)`` pairs (what ``top_k`` gives for the filled prompt)."""
        self._check_k(k)
        texts, _ = as_texts(texts)
        return self._word_logprobs(texts, template, bind(verbalizer, self.tokenizer), top_k=k)

    def content_free_probs(self, template: Template, verbalizer: Verbalizer | BoundVerbalizer,
                           inputs: Sequence[str] = CONTENT_FREE_INPUTS) -> np.ndarray:
        """Class probabilities (C,) averaged over content-free inputs (Zhao et al. 2021)."""
        bound = bind(verbalizer, self.tokenizer)
        texts = content_free_texts(template, self.tokenizer, inputs)
        return bound.class_probs(self.word_logprobs(texts, template, bound)).mean(axis=0)

    def classify(self, texts: TextInput | Sequence[TextInput], template: Template,
                 verbalizer: Verbalizer | BoundVerbalizer, calibrate: bool | Sequence[str] | None = None) -> np.ndarray:
        """Class probabilities (n, n_classes), columns in ``verbalizer.labels`` order.

        One text (a ``str``, or one dict of slot values) gives one row. ``calibrate=True``
        applies contextual calibration with the content-free inputs "N/A", "" and the mask
        token; a list of strings uses those instead.
        """
        texts, _ = as_texts(texts)
        bound = bind(verbalizer, self.tokenizer)
        probs = bound.class_probs(self._word_logprobs(texts, template, bound)[0])
        if calibrate is None or calibrate is False:
            return probs
        inputs = CONTENT_FREE_INPUTS if calibrate is True else calibrate
        return calibrate_probs(probs, self.content_free_probs(template, bound, inputs))
