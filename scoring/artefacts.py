"""Versioned threat-model artefacts on disk.

Layout of a model directory::

    CURRENT                 the version in use (one line; empty or absent: the fallback)
    PROMOTIONS.json         every change of CURRENT, oldest first: version, time, forced, reason
    <version>/model.json    the parameters (plain numbers: loading runs no code, unlike pickle)
    <version>/card.json     the model card (with its comparison and gate verdict), with the
                            SHA-256 of model.json

Saving never overwrites an existing version; ``CURRENT`` and ``PROMOTIONS.json`` are
replaced atomically. Every process reading the folder sees a promotion by re-reading
``CURRENT`` (a few bytes). A version's status is worked out, never stored: ``current``
(named in CURRENT), ``retired`` (was current once), ``rejected`` (failed the gate),
``candidate`` (passed it, or was trained before there was a gate, and never promoted).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from scoring.thr import ThreatModel

CURRENT = "CURRENT"
PROMOTIONS = "PROMOTIONS.json"


class ModelStoreError(ValueError):
    """A model directory or artefact is missing, tampered with or malformed."""


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def save_model(model: ThreatModel, directory: str | Path, *, make_current: bool = True) -> Path:
    """Write ``model`` under ``directory/<version>/`` and (by default) make it current.

    Returns
    -------
    Path
        The version's folder.

    Raises
    ------
    ModelStoreError
        If that version already exists (versions are immutable).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> model = ThreatModel("threat-demo", ("copas_rate",), ("none",), np.zeros(1),
    ...                     np.ones(1), np.array([0.5]), -1.0, (1.0, 0.0))
    >>> folder = save_model(model, tempfile.mkdtemp())
    >>> load_model(folder.parent) == model, current_version(folder.parent)
    (True, 'threat-demo')
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    folder = root / model.version
    if folder.exists():
        raise ModelStoreError(f"model version {model.version} already exists in {root}")
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{model.version}."))
    params = json.dumps(model.to_dict(), indent=1, sort_keys=True)
    card = dict(model.card)
    card["parameters_sha256"] = hashlib.sha256(params.encode()).hexdigest()
    (staging / "model.json").write_text(params)
    (staging / "card.json").write_text(json.dumps(card, indent=1, sort_keys=True, default=str))
    os.replace(staging, folder)
    if make_current:
        _atomic_write(root / CURRENT, model.version + "\n")
    return folder


def list_models(directory: str | Path) -> list[str]:
    """Saved versions, oldest first (versions start with the UTC training time)."""
    root = Path(directory)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "model.json").is_file())


def current_version(directory: str | Path) -> str | None:
    """The version named in ``CURRENT``, or None if no model has been made current."""
    marker = Path(directory) / CURRENT
    if not marker.is_file():
        return None
    return marker.read_text().strip() or None


def load_model(directory: str | Path, version: str | None = None) -> ThreatModel:
    """Load a saved model (the current one by default), checking its digest.

    Raises
    ------
    ModelStoreError
        If there is no such version, or ``model.json`` does not match its card's digest.
    """
    root = Path(directory)
    chosen = version or current_version(root)
    if chosen is None:
        raise ModelStoreError(f"no current model in {root}")
    folder = root / chosen
    if chosen in (".", "..") or "/" in chosen or not (folder / "model.json").is_file():
        raise ModelStoreError(f"no model version {chosen!r} in {root}")
    params = (folder / "model.json").read_text()
    card = json.loads((folder / "card.json").read_text())
    if hashlib.sha256(params.encode()).hexdigest() != card.get("parameters_sha256"):
        raise ModelStoreError(f"model {chosen}: model.json does not match its recorded digest")
    try:
        model = ThreatModel.from_dict(json.loads(params), card)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelStoreError(f"model {chosen}: malformed parameters ({exc})") from exc
    if model.version != chosen:
        raise ModelStoreError(f"model folder {chosen} holds version {model.version}")
    return model


def load_current_model(directory: str | Path) -> ThreatModel | None:
    """The current model, or None when none has been trained (threat is then rule-based)."""
    if current_version(directory) is None:
        return None
    return load_model(directory)


def read_card(directory: str | Path, version: str) -> dict[str, Any]:
    """A saved version's card, without loading (or checking) its parameters."""
    folder = Path(directory) / version
    if version in (".", "..") or "/" in version or not (folder / "card.json").is_file():
        raise ModelStoreError(f"no model version {version!r} in {directory}")
    card: dict[str, Any] = json.loads((folder / "card.json").read_text())
    return card


def promotions(directory: str | Path) -> list[dict[str, Any]]:
    """Every change of the current version, oldest first (``version`` None: the fallback)."""
    path = Path(directory) / PROMOTIONS
    if not path.is_file():
        return []
    entries: list[dict[str, Any]] = json.loads(path.read_text())
    return entries


def promote(directory: str | Path, version: str | None, *, at: str, forced: bool = False,
            reason: str | None = None) -> str | None:
    """Make ``version`` current (None: back to the rule-based fallback); return the previous.

    The caller decides whether the gate allows it; this records the change in
    ``PROMOTIONS.json`` and replaces ``CURRENT``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> root = tempfile.mkdtemp()
    >>> model = ThreatModel("threat-demo", ("copas_rate",), ("none",), np.zeros(1),
    ...                     np.ones(1), np.array([0.5]), -1.0, (1.0, 0.0))
    >>> _ = save_model(model, root, make_current=False)
    >>> promote(root, "threat-demo", at="2026-01-01T00:00:00+00:00"), current_version(root)
    (None, 'threat-demo')
    >>> model_status(root, "threat-demo"), previous_current(root)
    ('current', None)
    """
    root = Path(directory)
    if version is not None:
        load_model(root, version)  # exists and is intact
    before = current_version(root)
    history = promotions(root)
    if before is not None and not history:  # made current before promotions were recorded
        history.append({"version": before, "at": None, "forced": False, "reason": None})
    history.append({"version": version, "previous": before, "at": at, "forced": forced,
                    "reason": reason})
    _atomic_write(root / PROMOTIONS, json.dumps(history, indent=1))
    _atomic_write(root / CURRENT, (version or "") + "\n")
    return before


def previous_current(directory: str | Path) -> str | None:
    """The version that was current before the current one (None: the fallback)."""
    history = promotions(directory)
    return history[-1].get("previous") if history else None


def model_status(directory: str | Path, version: str, *,
                 card: dict[str, Any] | None = None) -> str:
    """current, retired, rejected or candidate (see the module docstring)."""
    if version == current_version(directory):
        return "current"
    if any(entry.get("version") == version for entry in promotions(directory)):
        return "retired"
    gate = (card if card is not None else read_card(directory, version)).get("gate")
    if gate is not None and not gate.get("passed"):
        return "rejected"
    return "candidate"
