"""Settings for the service: one class, read from the environment (and a `.env` file)."""

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scoring import paths

# The usual random_page_cost for SSDs (see Settings.db_random_page_cost).
SSD_RANDOM_PAGE_COST = 1.1
# The largest page any list returns (openapi.yaml states it as the maximum of `limit`).
PAGE_SIZE_CEILING = 500
# Outside development a secret must be at least this long and none of the well-known
# placeholders: a guessable secret lets anyone forge the console's form tokens.
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "console-secret",
                                 "development", "e2e-secret", "test"})


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./iomscore.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    offence_catalogue_path: Path = Field(
        default=paths.CATALOGUE,
        description="A force can point this at its own catalogue (costs, gravity, harm, HO codes).",
    )
    catalogue_archive_dir: Path | None = Field(
        default=None,
        description="A folder of earlier catalogue files (*.yaml), so a report can be asked "
                    "for with the cost table version a published figure used.",
    )
    scoring_config_path: Path = Field(
        default=paths.SCORING_CONFIG,
        description="RFG/THR rules and weights; a force can supply its own file.",
    )
    shortlist_config_path: Path = Field(
        default=paths.SHORTLIST_RULES,
        description="Migration-meeting shortlist rules (eligibility per stream, exits); a "
                    "force can supply its own file.",
    )
    idiom_rules_path: Path = Field(
        default=paths.IDIOM_RULES,
        description="The IDIOM report's rules (windows, counting, publication thresholds, "
                    "bootstrap, comparison); a force can supply its own file.",
    )
    retention_rule_path: Path = Field(
        default=paths.RETENTION_RULE,
        description="The retention-review rule (an indicative default of six quiet years); a "
                    "force supplies its own Management of Police Information schedule.",
    )
    model_dir: Path = Field(
        default=Path("var/models"),
        description="Where trained threat models are kept, one folder per version.",
    )
    # Pages bigger than this cost the database more than any screen can show; a
    # deployment may set it lower, never above the ceiling the API contract states.
    max_page_size: int = Field(default=PAGE_SIZE_CEILING, ge=1, le=PAGE_SIZE_CEILING)
    default_page_size: int = 50
    # An import is one transaction; the cap keeps one request from holding locks for minutes.
    max_import_rows: int = 200_000
    # 1 MiB is far above any legitimate JSON body here; imports carry 100,000-row extracts.
    max_json_body_bytes: int = 1024 * 1024
    max_import_body_bytes: int = 64 * 1024 * 1024
    # A runaway query must not hold a connection (and its locks) for ever; batch jobs
    # finish well inside this on a force-sized database.
    db_statement_timeout_ms: int = 120_000
    # PostgreSQL's planner default (4.0) prices random reads for spinning disks, and then
    # scans a whole table for a shortlist's thousand people instead of using their index
    # (29 against 17 ms). 1.1 is the usual setting for SSDs or a database held in memory.
    db_random_page_cost: float = Field(default=SSD_RANDOM_PAGE_COST, gt=0)
    # Past this many requests in flight uvicorn answers 503 at once rather than queueing
    # until memory runs out.
    max_concurrent_requests: int = 200
    # Each score run holds a snapshot of every person in memory and writes as many rows;
    # more than a couple at once only slows them all (a fuzz run once queued 485). A run
    # queued or running for longer than `score_run_stale_after` (a worker died under it)
    # no longer counts against the limit.
    max_active_score_runs: int = Field(default=2, ge=1)
    score_run_stale_after: timedelta = timedelta(hours=1)
    # A training job queued or running for longer than this (its worker died) no longer
    # blocks the next one; the model folder's file lock still stops two at once.
    training_job_stale_after: timedelta = timedelta(hours=6)
    # How long a request waits for a pooled database connection before it is told to
    # come back later (503), instead of queueing behind a stuck pool.
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    # A worker re-reads an API key's row at most this often (seconds; 0: every request).
    # Revocation through a worker takes effect there at once; in the other workers of the
    # host, within this time. The read was a round trip on every request.
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    log_level: str = "INFO"
    # Signs the console's session cookies (CONSOLE_SECRET). Unset, a random secret is drawn
    # per process: safe, but sessions end on restart and do not cross workers.
    console_secret: SecretStr = SecretStr("")
    # "development" (the default: `make run`) or anything else, e.g. "production": outside
    # development the service refuses to start without a real CONSOLE_SECRET.
    environment: str = "development"
    # OpenID Connect sign-in to the console: the issuer (found by discovery at
    # <issuer>/.well-known/openid-configuration), this service's client registration there,
    # and the scopes asked for. Unset issuer: no single sign-on, key sign-in only.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scopes: str = "openid profile email"
    # The callback URL registered with the provider; unset, it is built from the request
    # (set it behind a proxy that rewrites the host or scheme).
    oidc_redirect_uri: str | None = None
    # Where the provider sends the browser back after signing the person out there too
    # (registered at the provider as a post-logout / front-channel logout URL); unset, it
    # is built from the request (/console/signed-out).
    oidc_post_logout_redirect_uri: str | None = None
    # How a force's claims become a role and areas (docs/oidc-mapping.example.yaml).
    oidc_mapping_path: Path | None = None
    # The audience of the access tokens the provider issues to systems registered there
    # for this API (client credentials; Entra ID: the Application ID URI, api://...). Set,
    # the API also takes such a JWT as its bearer credential, mapped as people's claims
    # are; unset, the API takes keys only.
    oidc_api_audience: str | None = None
    # Whether the console's sign-in page still takes a pasted API key (for a break-glass
    # admin and `make run`); turn it off where every person signs in through the provider.
    console_key_signin: bool = True
    # A console session ends after this long without a request, and this long after
    # sign-in whatever happens (a working day: a meeting fits, a forgotten tab expires).
    session_idle_minutes: int = Field(default=30, ge=1)
    session_max_hours: int = Field(default=8, ge=1)
    # Throttle: more than `throttle_max_failures` failed sign-ins or 401s from one client
    # address within `throttle_window_seconds` get 429 until the window ends. Counted in
    # the database (shared by every worker), or in Redis where REDIS_URL is set.
    throttle_max_failures: int = Field(default=20, ge=1)
    throttle_window_seconds: int = Field(default=300, ge=1)
    redis_url: str | None = None

    @model_validator(mode="after")
    def _secrets_outside_development(self) -> "Settings":
        # Refuse to start rather than run a production console on a guessable secret.
        secret = self.console_secret.get_secret_value()
        if self.environment != "development" and (
                secret.strip().lower() in PLACEHOLDER_SECRETS
                or len(secret) < MIN_SECRET_LENGTH):
            raise ValueError(f"ENVIRONMENT={self.environment} needs CONSOLE_SECRET set to a "
                             f"random value of at least {MIN_SECRET_LENGTH} characters "
                             "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_mapping_path):
            raise ValueError("OIDC_ISSUER needs OIDC_CLIENT_ID and OIDC_MAPPING_PATH")
        if self.oidc_api_audience and not self.oidc_issuer:
            raise ValueError("OIDC_API_AUDIENCE needs OIDC_ISSUER")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache after changing the env)."""
    return Settings()
