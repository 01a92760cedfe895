"""The throwaway PostgreSQL that `make test` and `make test-container` start (scripts/test-postgres.sh),
as the DAGSTER_PG_* variables deploy/dagster.yaml reads, and a fresh database on it per test module."""

import os
from urllib.parse import unquote, urlsplit

import psycopg2
import pytest
from psycopg2 import sql

URL_VARIABLE = "PIPELINE_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(URL_VARIABLE, "")
    if not url:
        pytest.fail(
            f"{URL_VARIABLE} is not set, so the production instance config cannot be tested. Run `make "
            f"test` (it starts a throwaway PostgreSQL), or `export {URL_VARIABLE}=$(scripts/test-postgres.sh "
            "start)` before pytest and `scripts/test-postgres.sh stop` after.",
            pytrace=False,
        )
    return url


def pg_variables(url: str, *, db_name: str | None = None) -> dict[str, str]:
    """The DAGSTER_PG_* variables deploy/dagster.yaml reads, for the server and database in `url`
    (or the database `db_name` on that server)."""
    parts = urlsplit(url)
    return {
        "DAGSTER_PG_HOST": parts.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(parts.port or 5432),
        "DAGSTER_PG_USER": unquote(parts.username or "postgres"),
        "DAGSTER_PG_PASSWORD": unquote(parts.password or ""),
        "DAGSTER_PG_DB": db_name or parts.path.lstrip("/"),
    }


def connect(variables: dict[str, str], *, db_name: str | None = None):
    return psycopg2.connect(
        host=variables["DAGSTER_PG_HOST"],
        port=variables["DAGSTER_PG_PORT"],
        user=variables["DAGSTER_PG_USER"],
        password=variables["DAGSTER_PG_PASSWORD"],
        dbname=db_name or variables["DAGSTER_PG_DB"],
    )


def recreate_database(variables: dict[str, str]) -> None:
    """An empty database, whatever an earlier (possibly interrupted) run of a test left in it."""
    conn = connect(variables, db_name="postgres")
    conn.autocommit = True  # DROP/CREATE DATABASE cannot run inside a transaction
    try:
        with conn.cursor() as cursor:
            name = sql.Identifier(variables["DAGSTER_PG_DB"])
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    finally:
        conn.close()
