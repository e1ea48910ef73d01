"""Full fine-tuning of the default model on a lent GPU, as one self-contained, resumable job.

1. Here (CPU, with the data and Debian's dictionaries): ``python -m training.gpu_job.bundle``
   writes ``gpu_bundle/`` (git-ignored): the starting weights, a pre-tokenised compressed
   corpus and a manifest with checksums, sized to travel with the working tree.
2. There (no network, no pip; torch, transformers and safetensors only):
   ``python -m training.gpu_job.run --bundle gpu_bundle --out $OUT --budget-s 480`` trains
   every weight with BERT masking on 512-token blocks in bf16, with the learning-rate
   schedule sized to the time budget; logs and checkpoints every minute; writes fp16 weight
   shards of less than 16 MiB to ``--out``.
3. Here again: ``python -m training.evaluate --weights <folder of the shards>``, and ship
   if every bar is better (README, "The model").

``run`` imports nothing from ``helpers`` and reads no data folder.
"""
