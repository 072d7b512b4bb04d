"""Settings from TOML and flags; secrets only from owner-only files or the environment."""

from __future__ import annotations

import pytest

from agent.config import ConfigError, Secret, load_settings, read_secret

from .conftest import WORKSPACE_ID


def test_flags_override_the_file(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text(
        f'workspace_id = "{WORKSPACE_ID}"\nlog_type = "FromFile"\nbatch_records = 10\n'
        'categories = ["ONLINE"]\n'
    )
    settings = load_settings(str(config), {"log_type": "FromFlag", "linger": "0.5"})
    assert settings.log_type == "FromFlag"
    assert settings.batch_records == 10
    assert settings.linger == 0.5
    assert settings.categories == ("ONLINE",)
    assert settings.resolved_api == "data-collector"


def test_a_secret_in_the_settings_file_is_refused(tmp_path):
    config = tmp_path / "agent.toml"
    config.write_text(f'workspace_id = "{WORKSPACE_ID}"\nshared_key = "abc"\n')
    with pytest.raises(ConfigError, match="own owner-only file") as caught:
        load_settings(str(config), {})
    assert "abc" not in str(caught.value)


def test_key_file_readable_by_others_is_refused_with_the_fix(tmp_path):
    key = tmp_path / "key"
    key.write_text("c2VjcmV0LWtleQ==")
    key.chmod(0o644)
    with pytest.raises(ConfigError, match=r"chmod 600") as caught:
        read_secret(str(key), "UNUSED", "shared key")
    assert "c2VjcmV0" not in str(caught.value)


def test_key_file_readable_by_group_is_refused(tmp_path):
    key = tmp_path / "key"
    key.write_text("c2VjcmV0LWtleQ==")
    key.chmod(0o640)
    with pytest.raises(ConfigError, match="group or others"):
        read_secret(str(key), "UNUSED", "shared key")


def test_secret_comes_from_the_environment_when_no_file(monkeypatch):
    monkeypatch.setenv("TEST_AGENT_KEY", "  c2VjcmV0  ")
    assert read_secret("", "TEST_AGENT_KEY", "shared key").reveal() == "c2VjcmV0"


def test_missing_secret_names_the_environment_variable(monkeypatch):
    monkeypatch.delenv("TEST_AGENT_KEY", raising=False)
    with pytest.raises(ConfigError, match="TEST_AGENT_KEY"):
        read_secret("", "TEST_AGENT_KEY", "shared key")


def test_secret_never_shows_itself():
    secret = Secret("hunter2")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])]
    assert all("hunter2" not in text for text in shown)
    assert secret.reveal() == "hunter2"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"workspace_id": "not-a-guid"}, "workspace GUID"),
        ({"log_type": "bad-type"}, "letters, digits"),
        ({"categories": "ONLINE,SOMETIMES"}, "unknown categories"),
        ({"cloud": "mars"}, "unknown"),
        ({"api": "logs-ingestion"}, "endpoint, dcr_id, tenant_id, client_id"),
        ({"batch_records": "many"}, "must be an integer"),
    ],
)
def test_bad_settings_say_what_to_fix(overrides, complaint):
    values = {"workspace_id": WORKSPACE_ID, **overrides}
    with pytest.raises(ConfigError, match=complaint):
        load_settings(None, values)


def test_lia_is_chosen_when_a_dcr_is_given():
    settings = load_settings(
        None,
        {
            "dcr_id": "dcr-0123",
            "endpoint": "https://dce.example",
            "tenant_id": "t",
            "client_id": "c",
        },
    )
    assert settings.resolved_api == "logs-ingestion"
    assert settings.resolved_stream == "Custom-secRMM_CL"


@pytest.mark.parametrize(
    "secret",
    [
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4==",
        "cZf/pdPxXjwDKtq1c4LwGm7eopOfyhiosiCywmCydBk=",
        "Xy8Q~abcdefghijklmnopqrstuvwxyz0123456789",
    ],
)
def test_a_secret_given_instead_of_a_file_path_is_not_echoed(secret):
    with pytest.raises(ConfigError, match="looks like a secret") as caught:
        read_secret(secret, "UNUSED", "shared key")
    assert secret not in str(caught.value)


def test_a_missing_key_file_path_is_named_in_the_error(tmp_path):
    missing = str(tmp_path / "shared.key")
    with pytest.raises(ConfigError, match="cannot read") as caught:
        read_secret(missing, "UNUSED", "shared key")
    assert missing in str(caught.value)
