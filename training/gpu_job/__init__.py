"""Full fine-tuning of the default model on a CUDA GPU, as one self-contained, resumable job.

1. On the machine with the data and Debian's dictionaries (a CPU is enough):
   ``python -m training.gpu_job.bundle`` writes ``gpu_bundle/`` (git-ignored): the starting
   weights, a pre-tokenised compressed corpus and a manifest with checksums, small enough to
   copy with the checkout.
2. On the GPU machine (no network, no pip; torch, transformers and safetensors only):
   ``python -m training.gpu_job.run --bundle gpu_bundle --out OUT --budget-s 480`` trains
   every weight with BERT masking on 512-token blocks in bf16, with the learning-rate
   schedule sized to the time budget; logs and checkpoints every minute; writes fp16 weight
   shards of less than 16 MiB to ``--out``.
3. Back on the first machine: ``python -m training.evaluate --validation --weights <folder of
   the shards>``, and ship if every bar is better (``training/README.md``).

``run`` imports nothing from ``helpers`` and reads no data folder.
"""
