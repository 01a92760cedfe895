"""One list of settings: what the code reads (found in the code: pipeline_tests/deploy/settings.py, scan.py)
is what .env.example, the compose file and the Helm values name, no more and no less."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline_tests.deploy.scan import UnresolvedRead, scan
from pipeline_tests.deploy.settings import (
    AWS_CHAIN,
    COMPOSE,
    ENV_EXAMPLE,
    HELM_SECRETS,
    HELM_VALUES,
    REPO,
    code_settings,
    compose_names,
    env_file_values,
    plain_names,
    secret_names,
    secrets_never_with_a_value,
    user_deployment,
)

# What the scan finds today, written out by hand from reading the code: the oracle for the scan itself.
SECRET = {
    "DAGSTER_PG_PASSWORD",  # deploy/dagster.yaml
    "ECONNECT_USERNAME",  # EnvVar
    "ECONNECT_PASSWORD",  # EnvVar
    "ECONNECT_BUSINESS_PARTNER",  # EnvVar
    "JOLT_API_KEY",  # token_env of the bundled Jolt feed
    "PIPELINE_ALERT_WEBHOOK_URL",  # EnvVar
    "PIPELINE_S3_BUCKET",  # EnvVar
}
PLAIN = {
    *("ECONNECT_API_URL", "ECONNECT_MAX_CONCURRENCY", "ECONNECT_MAX_RPS", "ECONNECT_FOLLOW_HOSTS"),
    *("NCR_API_URL", "NCR_FOLLOW_HOSTS", "NCR_MAX_BYTES"),
    *("UK_OCPI_FEEDS", "UK_OCPI_MAX_CONCURRENCY", "UK_OCPI_MAX_ATTEMPTS", "UK_OCPI_MAX_DROP"),
    *("UK_OCPI_MAX_BYTES", "UK_OCPI_MAX_PAGE_BYTES"),
    *("PIPELINE_DATA_DIR", "PIPELINE_S3_PREFIX", "PIPELINE_MAX_REJECT_SHARE", "PIPELINE_OWNER"),
    *("PIPELINE_FIRST_SNAPSHOT_DAY", "PIPELINE_SNAPSHOT_CRON", "PIPELINE_SCHEDULE_TIMEZONE"),
    *("PIPELINE_REPORT_CADENCE", "PIPELINE_UI_URL", "AWS_ENDPOINT_URL"),
    *("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_DB"),
}


def _line_of(path: Path, text: str) -> int:
    """The one line of `path` holding `text`, counted from 1."""
    lines = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line]
    assert len(lines) == 1, f"{text!r} is on lines {lines} of {path}"
    return lines[0]


def _differences(path: Path, named: set[str], *, allowed: frozenset[str] = frozenset()) -> str:
    """'' when `named` is exactly what the code reads (plus any of `allowed`), else what to fix."""
    read = set(code_settings())
    missing, unread = sorted(read - named), sorted(named - read - allowed)
    where = path.relative_to(REPO)
    problems = [f"{where} misses {', '.join(missing)}" if missing else ""]
    problems.append(f"{where} names {', '.join(unread)}, which the code does not read" if unread else "")
    return "; ".join(p for p in problems if p)


class TestTheScan:
    def test_it_finds_every_setting_the_code_reads_and_which_are_secret(self):
        assert secret_names() == SECRET
        assert plain_names() == PLAIN

    def test_a_read_in_the_code_is_found_where_it_is(self):
        definitions = REPO / "pipeline" / "definitions.py"
        line = _line_of(definitions, 'environ.get("PIPELINE_DATA_DIR"')
        setting = code_settings()["PIPELINE_DATA_DIR"]
        assert (setting.secret, setting.found) == (False, (f"pipeline/definitions.py:{line}",))

    def test_a_module_constant_and_a_source_need_are_found(self):
        econnect = REPO / "pipeline" / "sources" / "econnect" / "definitions.py"
        line = _line_of(econnect, "password=EnvVar(PASSWORD)")
        setting = code_settings()["ECONNECT_PASSWORD"]
        expected = (f"pipeline/sources/econnect/definitions.py:{line}", "needs of source econnect")
        assert (setting.secret, setting.found) == (True, expected)

    def test_the_bundled_feed_list_and_the_instance_config_are_read(self):
        jolt, password = code_settings()["JOLT_API_KEY"], code_settings()["DAGSTER_PG_PASSWORD"]
        assert (jolt.secret, jolt.found) == (
            True,
            ("token_env of feed jolt in pipeline/sources/uk_ocpi/feeds.yaml",),
        )
        assert (password.secret, password.found) == (True, ("deploy/dagster.yaml env:",))
        assert code_settings()["DAGSTER_PG_HOST"].found == ("deploy/dagster.yaml env:",)

    def test_every_form_of_read_is_found(self, tmp_path, monkeypatch):
        module = tmp_path / "scan_forms.py"
        module.write_text(
            "import os\n"
            "from dagster import EnvVar\n"
            'KEY = "FORM_CONSTANT"\n'
            "def read(environ, context):\n"
            '    local = "FORM_LOCAL"\n'
            "    os.environ.get(KEY)\n"
            "    environ[local]\n"
            '    EnvVar("FORM_SECRET")\n'
            '    EnvVar.int("FORM_SECRET_INT")\n'
            '    os.getenv("FORM_GETENV")\n'
            '    "FORM_IN" in os.environ\n'
            '    context.get("FORM_CONTEXT")\n'
            '    configured(environ, "FORM_CONFIGURED")\n'
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        found = [(read.name, read.secret, read.where) for read in scan([module], root=tmp_path)]
        assert found == [
            ("FORM_CONSTANT", False, "scan_forms.py:6"),
            ("FORM_LOCAL", False, "scan_forms.py:7"),
            ("FORM_SECRET", True, "scan_forms.py:8"),
            ("FORM_SECRET_INT", True, "scan_forms.py:9"),
            ("FORM_GETENV", False, "scan_forms.py:10"),
            ("FORM_IN", False, "scan_forms.py:11"),
            ("FORM_CONTEXT", False, "scan_forms.py:12"),
            ("FORM_CONFIGURED", False, "scan_forms.py:13"),
        ]

    def test_a_read_it_cannot_name_fails_naming_file_and_line(self, tmp_path, monkeypatch):
        module = tmp_path / "scan_dynamic.py"
        module.write_text(
            "import os\n"
            "def read(environ, name_from_somewhere, feed):\n"
            "    environ.get(name_from_somewhere)\n"
            "    os.environ[f'{name_from_somewhere}_X']\n"
            "    os.environ.get(feed.token_env)\n"
            # The environment under another name, copied, or read without a positional name.
            "    env = os.environ\n"
            '    env.get("UNSEEN")\n'
            "    dict(os.environ)\n"
            "    {**os.environ}\n"
            "    os.environ.copy()\n"
            '    environ.get(key="UNSEEN")\n'
            "    handed_on(os.environ)\n"
            "    read(environ=os.environ, name_from_somewhere=None, feed=None)\n"  # to a parameter `environ`
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        with pytest.raises(UnresolvedRead) as raised:
            scan([module], root=tmp_path)
        lines = str(raised.value).splitlines()[1:]
        other = "used other than to read a variable by name"
        assert lines == [
            "  scan_dynamic.py:3: name_from_somewhere in read",
            "  scan_dynamic.py:4: f'{name_from_somewhere}_X' in read",
            "  scan_dynamic.py:5: feed.token_env in read",
            f"  scan_dynamic.py:6: os.environ {other} in read",
            f"  scan_dynamic.py:8: os.environ {other} in read",
            f"  scan_dynamic.py:9: os.environ {other} in read",
            f"  scan_dynamic.py:10: os.environ {other} in read",
            f"  scan_dynamic.py:11: environ {other} in read",
            f"  scan_dynamic.py:12: os.environ {other} in read",
        ]


class TestEnvExample:
    def test_it_names_every_setting_the_code_reads_and_no_other(self):
        named = set(env_file_values(ENV_EXAMPLE))
        assert _differences(ENV_EXAMPLE, named, allowed=AWS_CHAIN) == ""

    def test_it_holds_no_secret_value(self):
        values = env_file_values(ENV_EXAMPLE)
        filled = sorted(name for name in secrets_never_with_a_value() if values.get(name))
        assert filled == [], f".env.example gives secrets a value: {', '.join(filled)}"

    def test_an_env_file_names_assignments_and_commented_assignments_only(self, tmp_path):
        env = tmp_path / "example.env"
        env.write_text(
            "# A comment naming NOT_THIS=1 in its text\n"
            "PLAIN=a value=with equals\n"
            "EMPTY=\n"
            "# COMMENTED=default\n"
            "#NO_SPACE=x\n"
            "S3_BUCKET2='$quoted'\n"
            "lower=no\n"
            "  INDENTED=no\n"
            "#   kubectl create secret generic x --from-env-file=secrets.env\n"
        )
        assert env_file_values(env) == {
            "PLAIN": "a value=with equals",
            "EMPTY": "",
            "COMMENTED": "default",
            "NO_SPACE": "x",
            "S3_BUCKET2": "'$quoted'",
        }


class TestCompose:
    def test_it_names_every_setting_the_code_reads_and_no_other(self):
        assert _differences(COMPOSE, compose_names(COMPOSE), allowed=AWS_CHAIN) == ""


class TestHelm:
    """values.yaml's user deployment `env`, the keys of secrets.env.example, and the chart's own
    `postgresql:` block for the instance's DAGSTER_PG_*. Which of them holds which setting (plain values in
    `env`, secrets only in the Secret): test_helm_values.py."""

    def test_it_names_every_setting_the_code_reads_and_no_other(self):
        values = yaml.safe_load(HELM_VALUES.read_text())
        env = {entry["name"] for entry in user_deployment(values)["env"]}
        named = env | set(env_file_values(HELM_SECRETS)) | _postgres_settings(values)
        helm = HELM_VALUES.parent / "values.yaml + secrets.env.example"
        assert _differences(helm, named) == ""


def _postgres_settings(values: dict[str, Any]) -> set[str]:
    """The DAGSTER_PG_* the chart's postgres settings stand for, those of them that are set."""
    postgresql = values.get("postgresql", {})
    given = {
        "DAGSTER_PG_HOST": postgresql.get("postgresqlHost"),
        "DAGSTER_PG_USER": postgresql.get("postgresqlUsername"),
        "DAGSTER_PG_DB": postgresql.get("postgresqlDatabase"),
        "DAGSTER_PG_PORT": postgresql.get("service", {}).get("port"),
        "DAGSTER_PG_PASSWORD": values.get("global", {}).get("postgresqlSecretName"),
    }
    return {name for name, value in given.items() if value}
