"""Runtime configuration (cli.md "Configuration"), read from the environment and `.env`."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///followup.db"


class SettingsError(Exception):
    """A missing or invalid setting, already phrased for the user."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")
    anthropic_model: str = Field(default="claude-sonnet-4-5", validation_alias="ANTHROPIC_MODEL")
    # None: the command's own default (INFO for `serve`, WARNING for `deliver`).
    log_level: str | None = Field(default=None, validation_alias="LOG_LEVEL")
    log_format: str = Field(default="text", validation_alias="LOG_FORMAT")
    actions_webhook_url: str | None = Field(default=None, validation_alias="ACTIONS_WEBHOOK_URL")
    actions_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="ACTIONS_WEBHOOK_SECRET"
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(
                "expected an SQLAlchemy URL such as sqlite:///followup.db or "
                "postgresql+psycopg://user@host/db"
            ) from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"unsupported database '{url.get_backend_name()}': use sqlite or postgresql"
            )
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("expected a bot token starting with 'xoxb-'")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("expected an app-level token starting with 'xapp-'")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str | None) -> str | None:
        levels = ("DEBUG", "INFO", "WARNING", "ERROR")
        if value is None or not value.strip():
            return None
        if value.strip().upper() not in levels:
            raise ValueError(f"expected one of {', '.join(levels)}")
        return value.strip().upper()

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.strip().lower() not in ("text", "json"):
            raise ValueError("expected text or json")
        return value.strip().lower()

    @field_validator("actions_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://example.com/hooks/followup")
        return value or None

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        secret = self.actions_webhook_secret
        if self.actions_webhook_url and (secret is None or not secret.get_secret_value()):
            raise ValueError(
                "ACTIONS_WEBHOOK_URL is set but ACTIONS_WEBHOOK_SECRET is not: the webhook's "
                "requests are signed with the secret, so set both (or neither)"
            )
        return self


_ENV_NAMES = {
    "database_url": "DATABASE_URL",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "anthropic_base_url": "ANTHROPIC_BASE_URL",
    "anthropic_model": "ANTHROPIC_MODEL",
    "log_level": "LOG_LEVEL",
    "log_format": "LOG_FORMAT",
    "actions_webhook_url": "ACTIONS_WEBHOOK_URL",
    "actions_webhook_secret": "ACTIONS_WEBHOOK_SECRET",
}


# The command-line options that stand for a setting (`--database-url` for DATABASE_URL).
_OPTION_NAMES = {"database_url": "--database-url"}


def load_settings(**overrides: object) -> Settings:
    """Read the settings. An override that is not None (a command-line option) takes the place
    of the environment's and `.env`'s value before anything is checked, so a bad DATABASE_URL
    does not matter when `--database-url` gives a good one. A bad value raises SettingsError
    naming where it came from: the option for an override, else the variable."""
    given = {field: v for field, v in overrides.items() if v is not None}
    values: dict[str, Any] = {_ENV_NAMES.get(field, field): v for field, v in given.items()}
    try:
        return Settings(**values)
    except ValidationError as exc:
        fields = {env: field for field, env in _ENV_NAMES.items()}
        problems = []
        for err in exc.errors():
            loc = str(err["loc"][0]) if err["loc"] else "?"
            field = fields.get(loc, loc)
            name = _OPTION_NAMES.get(field, loc) if field in given else _ENV_NAMES.get(field, loc)
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if err["loc"] else message)
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
