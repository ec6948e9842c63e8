"""Settings: one place, documented defaults, clear errors."""

from __future__ import annotations

import pytest
from votewire.config import SETTINGS_DOC, Settings, SettingsError, settings_table


def test_defaults_provision_a_local_stack() -> None:
    """With no environment, Kafka and Redis are the locally provisioned ones."""
    settings = Settings.from_env({})
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.kafka_provisioned and settings.redis_provisioned
    assert settings.redis_url == "redis://127.0.0.1:16379/0"
    assert settings.reports_topic == "votewire.reports"


def test_external_servers_are_not_provisioned() -> None:
    """Pointing at existing servers turns provisioning off for each of them."""
    settings = Settings.from_env(
        {"VOTEWIRE_KAFKA_BOOTSTRAP": "k1:9092,k2:9092", "VOTEWIRE_REDIS_URL": "redis://r:6379/1"}
    )
    assert settings.kafka_bootstrap == "k1:9092,k2:9092" and not settings.kafka_provisioned
    assert settings.redis_url == "redis://r:6379/1" and not settings.redis_provisioned


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VOTEWIRE_KAFKA_PORT": "abc"}, "VOTEWIRE_KAFKA_PORT"),
        ({"VOTEWIRE_LIVE_PORT": "-1"}, "VOTEWIRE_LIVE_PORT"),
        ({"VOTEWIRE_REDIS_URL": "http://x"}, "VOTEWIRE_REDIS_URL"),
        ({"VOTEWIRE_TOPIC_PREFIX": "a b"}, "VOTEWIRE_TOPIC_PREFIX"),
        ({"VOTEWIRE_AGGREGATE_ROLE": "stage1"}, "VOTEWIRE_AGGREGATE_ROLE"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    """A malformed value raises SettingsError naming the variable."""
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_aggregate_roles_share_topics_and_keep_their_own_groups() -> None:
    """races keeps the app id (and so the committed offsets of an `all` worker);
    rollups is a group of its own; both name the internal topics after the app id."""
    from votewire.aggregate.app import group_id

    roles = {
        r: Settings.from_env({"VOTEWIRE_AGGREGATE_ROLE": r.upper()})
        for r in ("all", "races", "rollups")
    }
    assert Settings.from_env({}).aggregate_role == "all"
    assert {r: s.aggregate_role for r, s in roles.items()} == {r: r for r in roles}
    ids = {r: group_id(s) for r, s in roles.items()}
    assert ids["all"] == ids["races"] == roles["all"].aggregate_app_id
    assert ids["rollups"] == f"{ids['all']}-rollups"


def test_every_setting_is_documented() -> None:
    """The generated table lists every variable the code knows."""
    table = settings_table()
    for name in SETTINGS_DOC:
        assert f"`{name}`" in table


def test_configuration_doc_lists_every_setting() -> None:
    """docs/configuration.md is regenerated whenever a setting is added."""
    from votewire.config import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in SETTINGS_DOC if f"`{name}`" not in doc]
    assert not missing, f"regenerate docs/configuration.md; missing {missing}"
