"""Pure scoring library: numpy, pandas and scikit-learn only (no web or database imports)."""

# Exports load on first use (scoring/lazy.py): importing one small module of this package
# does not pull in scikit-learn.
from typing import TYPE_CHECKING

from scoring.lazy import lazy_exports

if TYPE_CHECKING:
    from scoring.artefacts import (
        ModelStoreError,
        list_models,
        load_current_model,
        load_model,
        save_model,
    )
    from scoring.catalogue import (
        CatalogueError,
        OffenceCatalogue,
        load_catalogue,
        normalise_ho_code,
    )
    from scoring.config import ConfigError, ScoringConfig, load_config
    from scoring.dates import add_months
    from scoring.explain import explain_people, explain_person
    from scoring.idiom import (
        IdiomReport,
        Matching,
        idiom_report,
        match_comparison,
        member_windows,
        member_windows_reference,
        report_table,
    )
    from scoring.person import PersonRecord, person_scores
    from scoring.retention import (
        RetentionRule,
        RetentionRuleError,
        load_retention_rule,
        retention_review,
    )
    from scoring.rfg import rfg_scores, rfg_scores_reference
    from scoring.score import SCORE_COLUMNS, score_people
    from scoring.thr import ModelMismatchError, ThreatModel, model_card
    from scoring.training import TrainingDataError, train_threat_model
    from scoring.validation import ScoringInputError

_EXPORTS = {
    "CatalogueError": "scoring.catalogue",
    "ConfigError": "scoring.config",
    "IdiomReport": "scoring.idiom",
    "Matching": "scoring.idiom",
    "ModelMismatchError": "scoring.thr",
    "ModelStoreError": "scoring.artefacts",
    "OffenceCatalogue": "scoring.catalogue",
    "PersonRecord": "scoring.person",
    "RetentionRule": "scoring.retention",
    "RetentionRuleError": "scoring.retention",
    "SCORE_COLUMNS": "scoring.score",
    "ScoringConfig": "scoring.config",
    "ScoringInputError": "scoring.validation",
    "ThreatModel": "scoring.thr",
    "TrainingDataError": "scoring.training",
    "add_months": "scoring.dates",
    "explain_people": "scoring.explain",
    "explain_person": "scoring.explain",
    "idiom_report": "scoring.idiom",
    "list_models": "scoring.artefacts",
    "load_catalogue": "scoring.catalogue",
    "load_config": "scoring.config",
    "load_current_model": "scoring.artefacts",
    "load_model": "scoring.artefacts",
    "load_retention_rule": "scoring.retention",
    "match_comparison": "scoring.idiom",
    "person_scores": "scoring.person",
    "member_windows": "scoring.idiom",
    "member_windows_reference": "scoring.idiom",
    "model_card": "scoring.thr",
    "normalise_ho_code": "scoring.catalogue",
    "report_table": "scoring.idiom",
    "retention_review": "scoring.retention",
    "rfg_scores": "scoring.rfg",
    "rfg_scores_reference": "scoring.rfg",
    "save_model": "scoring.artefacts",
    "score_people": "scoring.score",
    "train_threat_model": "scoring.training",
}


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)


__all__ = ["CatalogueError", "OffenceCatalogue", "load_catalogue", "normalise_ho_code"]
__all__ += ["IdiomReport", "Matching", "add_months", "idiom_report", "match_comparison",
            "member_windows", "member_windows_reference", "report_table"]
__all__ += ["ConfigError", "ModelMismatchError", "ModelStoreError", "SCORE_COLUMNS",
            "ScoringConfig", "ScoringInputError", "ThreatModel", "TrainingDataError",
            "explain_people", "explain_person", "list_models", "load_config",
            "load_current_model", "load_model", "model_card", "rfg_scores",
            "rfg_scores_reference", "save_model", "score_people", "train_threat_model"]
__all__ += ["RetentionRule", "RetentionRuleError", "load_retention_rule", "retention_review"]
__all__ += ["PersonRecord", "person_scores"]
