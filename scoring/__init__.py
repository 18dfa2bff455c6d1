"""Pure scoring library: numpy, pandas and scikit-learn only (no web or database imports)."""

from scoring.artefacts import (
    ModelStoreError,
    list_models,
    load_current_model,
    load_model,
    save_model,
)
from scoring.catalogue import CatalogueError, OffenceCatalogue, load_catalogue, normalise_ho_code
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

__all__ = ["CatalogueError", "OffenceCatalogue", "load_catalogue", "normalise_ho_code"]
__all__ += ["IdiomReport", "Matching", "add_months", "idiom_report", "match_comparison",
            "member_windows", "member_windows_reference", "report_table"]
__all__ += ["ConfigError", "ModelMismatchError", "ModelStoreError", "SCORE_COLUMNS",
            "ScoringConfig", "ScoringInputError", "ThreatModel", "TrainingDataError",
            "explain_people", "explain_person", "list_models", "load_config",
            "load_current_model", "load_model", "model_card", "rfg_scores",
            "rfg_scores_reference", "save_model", "score_people", "train_threat_model"]
__all__ += ["RetentionRule", "RetentionRuleError", "load_retention_rule", "retention_review"]
