"""Small JSON endpoints: health and the dataset registry."""

from typing import Any

from fastapi import APIRouter

from engine.datasets import DATASETS, DEFAULT_N_CLASSES, LIMITS

router = APIRouter(prefix="/api")


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/datasets")
def datasets() -> list[dict[str, Any]]:
    """Every dataset of the engine's registry, with the ranges its parameters accept."""
    out = []
    for spec in DATASETS.values():
        limits = {k: list(v) for k, v in LIMITS.items() if k != "n_classes" or spec.has_classes}
        item = {
            "name": spec.name,
            "task": spec.task,
            "n_features": spec.n_features,
            "default_loss": spec.default_loss,
            "allowed_losses": list(spec.allowed_losses),
            "description": spec.description,
            "default_noise": spec.default_noise,
            "has_classes": spec.has_classes,
            "hidden_hint": list(spec.hidden_hint),
            "limits": limits,
        }
        if spec.has_classes:
            item["default_n_classes"] = DEFAULT_N_CLASSES
        out.append(item)
    return out
