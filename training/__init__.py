"""Training and evaluation of the project's offline default model (not part of the installed package).

Run from a source checkout's root:

- ``python -m training.train``: LoRA continued masked-LM training on CPU or GPU (the shipped adapter);
- ``python -m training.evaluate``: the model card's quality bars (``--card`` rewrites the card);
- ``python -m training.gpu_job.bundle`` / ``python -m training.gpu_job.run``: full fine-tuning on a
  CUDA GPU from a self-contained bundle (``training/README.md``).

``helpers`` never imports this folder; loading lives in ``helpers.offline_model``.
"""
