"""Closed-set identity classifiers on aligned face chips: train, save, load, classify, attack.

Train on a labelled folder (``labels.csv`` with ``path,identity``, or one sub-folder per
identity); every photo becomes a dlib-aligned 150x150 chip (cached in an ``.npz``)::

    from facecloak.classify import TrainConfig, load_chip_set, split_per_identity, train_classifier

    chips = load_chip_set("faces/", min_per_identity=5, cache_dir="build/chip-cache")
    train, val = split_per_identity(chips, fraction=0.2)
    train_classifier(train, val, TrainConfig(arch="small-cnn"), output="model.pt")

Architectures (:mod:`facecloak.models.classifiers`): ``small-cnn`` (Model A of *Adversarial
Face De-Identification*), ``resnet18`` (from scratch), ``dlib-head`` (frozen dlib ResNet + a
trained FC 256 + BN + ReLU + FC head; our Model B).

**The model interface.** :func:`load_classifier` returns a :class:`ClassifierModel`, an
``nn.Module`` in eval mode with frozen weights whose ``forward`` takes dlib-aligned chips
``(N, 3, 150, 150)`` float RGB in [0, 1] (as :func:`facecloak.faces.align.face_chips` makes them)
and returns ``(N, num_classes)`` logits. It resizes the chips to ``image_size`` (bilinear,
antialiased) and normalises them inside ``forward``, differentiably, so attacks operate on the
[0, 1] chip scale. Attributes: ``class_names`` (identity of each logit), ``input_size`` (150),
``image_size`` (what the network sees), ``arch``, ``mean``/``std`` (the normalisation: a step of
``s`` normalised units is ``s * std`` on the chip scale); ``class_index(name)`` maps a target
identity to its logit (with a helpful error for unknown names); ``predict(chips, top_k)``.

Attacking it::

    from facecloak.attacks import ClassifierTargeted, make_attack

    model = load_classifier("model.pt")
    target = model.class_index("Ada_Lovelace")
    attack = make_attack("pgd", model, ClassifierTargeted(target), eps=8 / 255, steps=10)
    result = attack.run(chips)  # result.success: classified as the target
"""

from __future__ import annotations

from facecloak.classify.checkpoint import load_classifier, save_classifier, training_info
from facecloak.classify.config import TrainConfig
from facecloak.classify.data import (
    DEFAULT_CACHE_DIR,
    ChipSet,
    extract_chip_set,
    load_chip_set,
    photo_chip,
    split_per_identity,
)
from facecloak.classify.model import ClassifierModel, Prediction
from facecloak.classify.predict import PhotoClassification, classify
from facecloak.classify.train import (
    EpochStats,
    TrainResult,
    evaluate_accuracy,
    predict_labels,
    train_classifier,
)

__all__ = [
    "DEFAULT_CACHE_DIR",
    "ChipSet",
    "ClassifierModel",
    "EpochStats",
    "PhotoClassification",
    "Prediction",
    "TrainConfig",
    "TrainResult",
    "classify",
    "evaluate_accuracy",
    "extract_chip_set",
    "load_chip_set",
    "load_classifier",
    "photo_chip",
    "predict_labels",
    "save_classifier",
    "split_per_identity",
    "train_classifier",
    "training_info",
]
