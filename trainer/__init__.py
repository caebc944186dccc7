"""photocap's trainer: datasets, feature cache, training loop, evaluation, fine-tuning. No Qt.

The functions the CLI (``photocap-train``) and the app's trainer tab share:

* ``trainer.train.train(TrainConfig, CaptionDataset, TrainControl, resume=...)`` - a generator
  of :class:`trainer.train.TrainEvent` (pause/cancel between steps, exact resume);
* ``trainer.finetune.finetune_library(library_path, model_path, FinetuneOptions, ...)`` and
  ``trainer.finetune.finetune(model, dataset, ...)`` - the same events, from a base model;
* ``trainer.evaluate.evaluate_model(model, dataset, split, beams=(1, 3))`` - a JSON-able report;
* ``trainer.datasets.load_dataset(annotations, images)`` / ``load_library(path)``;
* ``trainer.synthetic.make_synthetic(out_dir, ...)`` - the benchmark anyone can regenerate.

Nothing is imported here, so ``photocap-train --help`` answers without loading torch.
"""
