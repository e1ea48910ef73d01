"""Few-shot fine-tuning: prompt-based (the label word wins at [MASK]) and classic (a head on [CLS]).

``prompt_finetune`` trains a masked LM so that, in a template's mask slot, each training
text's label words become more likely than the other classes' words. This is the
objective of PET (Schick & Schuetze 2021) and LM-BFF (Gao et al. 2021): the task keeps the
shape of the pretraining task, so nothing new is initialised at random.

``head_finetune`` is the classic recipe (Devlin et al. 2019; d2l.ai "Fine-Tuning BERT"):
the same encoder with a new linear layer on the [CLS] vector, or on the mean of the token
vectors (``pooling="mean"``, how sentence encoders such as all-MiniLM-L6-v2 were trained),
trained with cross-entropy.

``embed`` and ``logistic_regression`` are the cheap baseline of SetFit-style methods
(Tunstall et al. 2022): a logistic regression on frozen, mean-pooled sentence embeddings.

Both return new objects and never modify the model they are given. Both are deterministic
for a given ``seed`` on a CPU (the same machine and number of threads). The defaults were
chosen on SST-2 validation with ``python bench/finetune.py --choose`` (see each docstring).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .inputs import as_texts
from .models import resolve_device
from .scorer import encoder_and_head, fused_attention, pad_prompts
from .verbalizer import aggregate_words, bind

if TYPE_CHECKING:
    from .inputs import TextInput
    from .template import Template
    from .verbalizer import BoundVerbalizer, Verbalizer

__all__ = ["HeadClassifier", "LogisticProbe", "PROMPT_DEFAULTS", "HEAD_DEFAULTS", "prompt_finetune",
           "head_finetune", "class_scores", "embed", "logistic_regression"]

POOLINGS = ("cls", "mean")

# Chosen on SST-2 validation by ``python bench/finetune.py --choose`` (see the docstrings).
PROMPT_DEFAULTS = {"epochs": 10, "lr": 1e-5, "warmup": 0.1, "weight_decay": 0.01, "batch_size": 8}
HEAD_DEFAULTS = {"epochs": 10, "lr": 3e-4, "warmup": 0.1, "weight_decay": 0.01, "batch_size": 8}


# ---- checking what the user passes ------------------------------------------------------
def _check_examples(texts, labels, n_classes: int | None, class_names: Sequence[str] | None = None,
                    mappings: bool = True) -> tuple[list[TextInput], np.ndarray, int]:
    """Return texts as a list, labels as int array and the number of classes, or raise."""
    texts, _ = as_texts(texts, what="texts", mappings=mappings)
    labels = list(labels) if not isinstance(labels, np.ndarray) else labels.tolist()
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels; pass one label per text")
    if not texts:
        raise ValueError("the training set is empty; pass at least one labelled text per class")
    for i, y in enumerate(labels):
        if isinstance(y, (bool, np.bool_)) or not isinstance(y, (int, np.integer)):
            raise TypeError(f"labels[{i}] is {y!r}; labels must be class indices (int)")
    labels = np.asarray(labels, dtype=int)
    if n_classes is None:
        n_classes = max(2, int(labels.max()) + 1)
    names = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        raise ValueError(f"label {labels[bad[0]]} (text {bad[0]}) is outside the {n_classes} classes "
                         f"{names}; labels[i] must be an index from 0 to {n_classes - 1}")
    missing = [names[c] for c in range(n_classes) if not (labels == c).any()]
    if missing:
        raise ValueError(f"class(es) {missing} have no training example; give every class at least one "
                         "(few-shot: K examples per class)")
    return texts, labels, n_classes


def _hyper(defaults: dict, epochs: int | None, lr: float | None, batch_size: int | None, warmup: float | None,
           weight_decay: float | None) -> tuple[int, float, int, float, float]:
    """The hyper-parameters with ``None`` taken from ``defaults``, each checked."""
    epochs = defaults["epochs"] if epochs is None else epochs
    lr = defaults["lr"] if lr is None else lr
    batch_size = defaults["batch_size"] if batch_size is None else batch_size
    warmup = defaults["warmup"] if warmup is None else warmup
    weight_decay = defaults["weight_decay"] if weight_decay is None else weight_decay
    if not (isinstance(epochs, int) and epochs >= 1):
        raise ValueError(f"epochs must be a positive int, not {epochs!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, not {lr!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
    if not 0 <= warmup < 1:
        raise ValueError(f"warmup is a share of the training steps, from 0 to below 1, not {warmup!r}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, not {weight_decay!r}")
    return epochs, lr, batch_size, warmup, weight_decay


# ---- shared training machinery ----------------------------------------------------------
def _optimizer(params: list[tuple[str, nn.Parameter]], lr: float, weight_decay: float, total: int,
               warmup: float) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW without decay on biases and LayerNorm weights; linear warm-up, then linear decay to 0."""
    decay = [p for n, p in params if p.ndim >= 2]
    rest = [p for n, p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": rest, "weight_decay": 0.0}], lr=lr)
    warm = max(1, math.ceil(warmup * total)) if warmup > 0 else 0

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _batches(n: int, batch_size: int, epochs: int, generator: torch.Generator) -> list[list[int]]:
    """Index batches for all epochs: a fresh seeded shuffle per epoch."""
    out = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).tolist()
        out += [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return out


def _run(steps: list[list[int]], loss_of, params, lr: float, weight_decay: float, warmup: float,
         progress: bool, loss_log: list[float] | None, desc: str) -> None:
    opt, schedule = _optimizer(params, lr, weight_decay, len(steps), warmup)
    for batch in tqdm(steps, desc=desc, unit="step", disable=not progress):
        loss = loss_of(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        schedule.step()
        if loss_log is not None:
            loss_log.append(float(loss.detach()))


# ---- prompt-based fine-tuning -------------------------------------------------------------
def class_scores(word_logprobs: torch.Tensor, bound: BoundVerbalizer) -> torch.Tensor:
    """Class scores (n, n_classes) from label-word log-probabilities (n, n_words), in torch.

    The verbalizer's ``aggregate`` combines a class's words, as ``BoundVerbalizer.class_logits``
    does in numpy: ``"mean_logprob"`` the mean of the words' log-probabilities,
    ``"sum_prob"`` the log of their total probability (logsumexp), ``"max"`` the best word.
    """
    word_class = torch.as_tensor(np.asarray(bound.word_class), device=word_logprobs.device)
    return aggregate_words(word_logprobs, word_class, len(bound.labels), bound.aggregate)


def prompt_finetune(
    model,
    tokenizer,
    template: Template,
    verbalizer: Verbalizer | BoundVerbalizer,
    texts: Sequence[TextInput],
    labels: Sequence[int],
    *,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    warmup: float | None = None,
    weight_decay: float | None = None,
    max_length: int = 128,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    loss_log: list[float] | None = None,
):
    """Fine-tune a copy of a masked LM so that each text's label words win at [MASK].

    Each text is filled into ``template``; at the mask the model gives log-probabilities
    over the **whole vocabulary** (log-softmax of the MLM head's logits). A label word of
    k word pieces gets k masks and scores the sum of its pieces' log-probabilities in one
    pass; this needs ``multi_token="parallel"`` or ``"iterative"`` (with the default
    ``"error"`` binding refuses split words). Training always uses the one-pass score,
    as PET trains; ``"iterative"`` changes only how ``MaskScorer`` scores afterwards. A
    class's score is its words' log-probabilities combined by the verbalizer's
    ``aggregate`` (default ``"mean_logprob"``: their mean). The loss is the cross-entropy
    of a softmax over the class scores:
    ``loss_i = -log softmax(s_i)[y_i]``, ``s_ic = agg_{w in V(c)} log p([MASK] = w | x_i)``.
    With one word per class this equals LM-BFF's softmax over the label words' logits.

    Args:
        model: a BERT- or RoBERTa-style masked LM (``helpers.load_mlm``); never modified.
        template, verbalizer: the prompt; ``labels[i]`` indexes ``verbalizer.labels``.
        texts: n training inputs (str, or dicts for a multi-slot template).
        labels: n class indices.
        epochs, lr, batch_size, warmup, weight_decay: ``None`` takes ``PROMPT_DEFAULTS``:
            10 epochs, lr 1e-5, batch 8, linear warm-up over the first 10 % of steps then
            linear decay to 0, AdamW weight decay 0.01 (not on biases and LayerNorms),
            gradient norm clipped at 1. The learning rate was chosen from 1e-5, 3e-5 and
            1e-4 by ``python bench/finetune.py --choose --quick``: best mean accuracy on a
            fixed sample of 400 SST-2 validation sentences after training on K = 8 and
            K = 32 examples per class from SST-2 train (seed 0), with "{text} It was
            {mask}." and great / terrible (1e-5: 0.745, 3e-5: 0.739, 1e-4: 0.688; zero-shot
            0.740). Warm-up, weight decay, batch size and epochs are the usual BERT / LM-BFF
            values, not swept (30 epochs at 1e-5, K = 8, scored 0.728 against 0.753).
            ``--choose`` without ``--quick`` reruns the sweep at K = 8, 16, 32, 64 and two
            seeds. Few-shot results vary strongly with the sample: at K = 16 the same
            defaults gave 0.773 (seed 0) and 0.675 (seed 1) on that validation sample.
        max_length: prompts longer than this are cut inside the text slot (the template and
            mask survive).
        seed: seeds the shuffling and dropout; the same seed gives the same model on a CPU.
        device: where to train ("auto": a GPU when there is one).
        loss_log: a list to which the training loss of every step is appended.

    Returns:
        A fine-tuned copy of ``model``, in eval mode, on ``device``. Score it with
        ``MaskScorer(tuned, tokenizer).classify(texts, template, verbalizer)``.

    References: Schick & Schuetze (2021), "Exploiting Cloze Questions for Few Shot Text
    Classification and Natural Language Inference" (PET); Gao, Fisch & Chen (2021), "Making
    Pre-trained Language Models Better Few-shot Learners" (LM-BFF).
    """
    bound = bind(verbalizer, tokenizer)
    texts, labels, _ = _check_examples(texts, labels, len(bound.labels), bound.labels)
    epochs, lr, batch_size, warmup, weight_decay = _hyper(PROMPT_DEFAULTS, epochs, lr, batch_size, warmup, weight_decay)
    target = resolve_device(device)
    limit = min(max_length, tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))

    # words grouped by their number of pieces k: each group needs prompts with k masks
    groups = {}
    for k in sorted({len(ids) for ids in bound.word_ids}):
        words = [q for q, ids in enumerate(bound.word_ids) if len(ids) == k]
        pieces = torch.tensor([bound.word_ids[q] for q in words], device=target)  # (words, k)
        groups[k] = (words, pieces, template.encode_batch(tokenizer, texts, limit, k))
    y = torch.as_tensor(labels, device=target)

    tuned = copy.deepcopy(model).to(target)
    encoder, head = encoder_and_head(tuned)
    params = [(n, p) for n, p in tuned.named_parameters() if p.requires_grad]

    def loss_of(batch: list[int]) -> torch.Tensor:
        word_lp = torch.zeros((len(batch), len(bound.words)), device=target)
        for k, (words, pieces, prompts) in groups.items():
            ids, attention, at_mask = pad_prompts([prompts[i] for i in batch], tokenizer.pad_token_id, target)
            hidden = encoder(input_ids=ids, attention_mask=attention).last_hidden_state
            logp = torch.log_softmax(head(hidden[at_mask]).float(), dim=-1).view(len(batch), k, -1)
            # piece j of word q is read at mask j: sum over j of logp[:, j, pieces[q, j]]
            picked = logp[:, torch.arange(k, device=target)[None, :], pieces]  # (b, words, k)
            word_lp[:, words] = picked.sum(dim=-1)
        return nn.functional.cross_entropy(class_scores(word_lp, bound), y[batch])

    with torch.random.fork_rng(devices=[target] if target.type == "cuda" else []):
        torch.manual_seed(seed)
        steps = _batches(len(texts), batch_size, epochs, torch.Generator().manual_seed(seed))
        tuned.train()
        with fused_attention(tuned):
            _run(steps, loss_of, params, lr, weight_decay, warmup, progress, loss_log, "prompt fine-tuning")
    return tuned.eval()


# ---- classic fine-tuning: a head on [CLS] ------------------------------------------------------
def _check_pooling(pooling: str) -> str:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}; pass 'cls' (the first token's vector) or 'mean' (the mean of "
                         "the token vectors, padding left out)")
    return pooling


def _pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """(b, t, h) token vectors -> (b, h) sentence vectors: the first token's, or the mean over real tokens."""
    if pooling == "cls":
        return hidden[:, 0]
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)


class HeadClassifier:
    """An encoder with a linear layer on a pooled vector: ``predict_proba(texts) -> (n, n_classes)``.

    ``pooling``: ``"cls"`` (the [CLS] vector of the last layer) or ``"mean"`` (the mean of the
    last layer's token vectors over the real tokens).
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, tokenizer, max_length: int = 128,
                 batch_size: int = 32, pooling: str = "cls"):
        self.pooling = _check_pooling(pooling)
        self.encoder = encoder.eval()
        self.head = head.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size

    @property
    def n_classes(self) -> int:
        """Number of classes: the head's output size."""
        return self.head[-1].out_features

    @property
    def device(self) -> torch.device:
        """The device the weights are on."""
        return next(self.encoder.parameters()).device

    def logits(self, batch: Sequence[str]) -> torch.Tensor:
        """Class logits (b, n_classes) of a batch of texts (no grad handling: the caller's mode)."""
        enc = self.tokenizer(list(batch), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(self.device)
        hidden = self.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        return self.head(_pool(hidden, enc["attention_mask"], self.pooling)).float()

    def predict_proba(self, texts: str | Sequence[str]) -> np.ndarray:
        """Class probabilities (n, n_classes) for n texts (a single str gives (1, n_classes))."""
        texts, _ = as_texts(texts, what="texts", mappings=False)
        out = np.zeros((len(texts), self.n_classes))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        self.encoder.eval(), self.head.eval()
        with torch.inference_mode(), fused_attention(self.encoder):
            for s in range(0, len(texts), self.batch_size):
                chunk = order[s:s + self.batch_size]
                out[chunk] = torch.softmax(self.logits([texts[i] for i in chunk]), dim=-1).cpu().numpy()
        return out

    def predict(self, texts: str | Sequence[str]) -> np.ndarray:
        """The most likely class index (n,) of each text."""
        return self.predict_proba(texts).argmax(axis=1)


def head_finetune(
    model,
    tokenizer,
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    n_classes: int | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    warmup: float | None = None,
    weight_decay: float | None = None,
    max_length: int = 128,
    pooling: str = "cls",
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    loss_log: list[float] | None = None,
) -> HeadClassifier:
    """Fine-tune a copy of the model's encoder with a new linear head on [CLS] (classic BERT).

    ``pooling="mean"`` puts the head on the mean of the last layer's token vectors instead,
    the pooling a sentence encoder such as all-MiniLM-L6-v2 was trained with.

    The head is dropout then ``Linear(hidden, n_classes)``, initialised as Hugging Face
    initialises ``BertForSequenceClassification``'s classifier (normal, std
    ``config.initializer_range``, zero bias) on the [CLS] vector of the last layer; encoder
    and head are trained together with cross-entropy. The MLM head is not used.

    Args:
        model: a BERT- or RoBERTa-style model (``helpers.load_mlm``); never modified.
        texts: n training texts; labels: n class indices from 0 to ``n_classes - 1``.
        n_classes: the number of classes (``None``: the largest label + 1, at least 2).
        epochs, lr, batch_size, warmup, weight_decay: ``None`` takes ``HEAD_DEFAULTS``:
            10 epochs, lr 3e-4, batch 8, linear warm-up over the first 10 % of steps then
            linear decay to 0, AdamW weight decay 0.01, gradient norm clipped at 1. The
            learning rate was chosen from 2e-5, 1e-4 and 3e-4 by ``python bench/finetune.py
            --choose --quick`` in the same way as ``prompt_finetune``'s (mean accuracy on 400
            SST-2 validation sentences, K = 8 and 32, seed 0: 0.559, 0.581, 0.590); the
            new head starts at random and a few dozen steps need the larger rate.
        max_length: texts are cut to this many tokens.
        pooling: ``"cls"`` or ``"mean"`` (see ``HeadClassifier``).
        seed: seeds the head's initialisation, the shuffling and dropout.

    Returns:
        A ``HeadClassifier``; ``predict_proba(texts)`` gives (n, n_classes) probabilities.

    References: Devlin et al. (2019), BERT; Zhang et al., Dive into Deep Learning,
    "Fine-Tuning BERT for Sequence-Level and Token-Level Applications".
    """
    texts, labels, n_classes = _check_examples(texts, labels, n_classes, mappings=False)
    pooling = _check_pooling(pooling)
    epochs, lr, batch_size, warmup, weight_decay = _hyper(HEAD_DEFAULTS, epochs, lr, batch_size, warmup, weight_decay)
    target = resolve_device(device)
    encoder, _ = encoder_and_head(model)
    limit = min(max_length, tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))
    y = torch.as_tensor(labels, device=target)

    with torch.random.fork_rng(devices=[target] if target.type == "cuda" else []):
        torch.manual_seed(seed)
        config = model.config
        linear = nn.Linear(config.hidden_size, n_classes)
        nn.init.normal_(linear.weight, std=getattr(config, "initializer_range", 0.02))
        nn.init.zeros_(linear.bias)
        head = nn.Sequential(nn.Dropout(getattr(config, "hidden_dropout_prob", 0.1)), linear).to(target)
        classifier = HeadClassifier(copy.deepcopy(encoder).to(target), head, tokenizer, limit, pooling=pooling)
        params = [(f"encoder.{n}", p) for n, p in classifier.encoder.named_parameters() if p.requires_grad]
        params += [(f"head.{n}", p) for n, p in head.named_parameters()]

        def loss_of(batch: list[int]) -> torch.Tensor:
            return nn.functional.cross_entropy(classifier.logits([texts[i] for i in batch]), y[batch])

        steps = _batches(len(texts), batch_size, epochs, torch.Generator().manual_seed(seed))
        classifier.encoder.train(), head.train()
        with fused_attention(classifier.encoder):
            _run(steps, loss_of, params, lr, weight_decay, warmup, progress, loss_log, "head fine-tuning")
    classifier.encoder.eval(), head.eval()
    return classifier


# ---- the cheap baseline: logistic regression on frozen embeddings ----------------------------
def embed(model, tokenizer, texts: str | Sequence[str], *, pooling: str = "mean", max_length: int = 128,
          batch_size: int = 32) -> np.ndarray:
    """Sentence vectors (n, hidden) from the model's frozen encoder, pooled over the last layer.

    ``pooling="mean"`` averages the token vectors over the real tokens (as sentence-transformers
    does); ``"cls"`` takes the first token's vector. The weights are not changed.
    """
    texts, _ = as_texts(texts, what="texts", mappings=False)
    pooling = _check_pooling(pooling)
    encoder, _ = encoder_and_head(model)
    device = next(encoder.parameters()).device
    limit = min(max_length, tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512))
    out = np.zeros((len(texts), model.config.hidden_size))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    was_training = encoder.training
    encoder.eval()
    with torch.inference_mode():
        for s in range(0, len(texts), batch_size):
            chunk = order[s:s + batch_size]
            enc = tokenizer([texts[i] for i in chunk], padding=True, truncation=True, max_length=limit,
                            return_tensors="pt").to(device)
            hidden = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            out[chunk] = _pool(hidden.float(), enc["attention_mask"], pooling).cpu().numpy()
    encoder.train(was_training)
    return out


class LogisticProbe:
    """A multinomial logistic regression on fixed features: ``predict_proba(features) -> (n, n_classes)``."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, mean: np.ndarray, scale: np.ndarray):
        self.weight, self.bias, self.mean, self.scale = weight, bias, mean, scale

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of n feature rows (n, d)."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != self.weight.shape[1]:
            raise ValueError(f"features of shape {features.shape}; pass (n, {self.weight.shape[1]}), "
                             "the same embedding the probe was trained on")
        z = ((features - self.mean) / self.scale) @ self.weight.T + self.bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The most likely class index (n,) of each row."""
        return self.predict_proba(features).argmax(axis=1)


def logistic_regression(features: np.ndarray, labels: Sequence[int], *, l2: float = 1.0,
                        n_classes: int | None = None, max_iter: int = 200) -> LogisticProbe:
    """Fit a multinomial logistic regression with an L2 penalty on standardised features.

    Minimises the mean cross-entropy plus ``l2 / (2 n) * ||W||^2`` (the bias is not penalised;
    ``l2`` plays the role of scikit-learn's ``1 / C``) with L-BFGS in float64, so the fit is
    deterministic. Features are standardised with the training mean and standard deviation.

    Args:
        features: (n, d) training features, e.g. ``embed(model, tokenizer, texts)``.
        labels: n class indices. l2: the penalty (> 0); choose it on validation data.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features of shape {features.shape}; pass a 2-D array (n examples, d features)")
    if not (isinstance(l2, (int, float)) and l2 > 0):
        raise ValueError(f"l2={l2!r}; pass a positive penalty such as 1.0")
    _, y, n_classes = _check_examples([str(i) for i in range(len(features))], labels, n_classes, mappings=False)
    mean, scale = features.mean(0), features.std(0) + 1e-8
    x = torch.as_tensor((features - mean) / scale)
    target = torch.as_tensor(y)
    weight = torch.zeros(n_classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter, tolerance_grad=1e-9,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(x @ weight.T + bias, target) + l2 / (2 * len(y)) * (weight ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return LogisticProbe(weight.detach().numpy(), bias.detach().numpy(), mean, scale)
