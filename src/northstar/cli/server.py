"""`northstar serve` (the HTTP API) and `northstar token create|list|revoke` (its bearer tokens)."""

from __future__ import annotations

from typing import Annotated

import typer

from northstar.cli import app
from northstar.cli._common import DEFAULT_DB, ConfigOption, DbOption, Format, FormatOption, fail, print_rows

token_app = typer.Typer(
    help="Create, list and revoke the API's bearer tokens (scopes: ingest, read, admin).", no_args_is_help=True
)
app.add_typer(token_app, name="token")


@app.command(
    epilog=(
        "Example:\n\n"
        "    northstar token create ci --scope ingest\n\n"
        "    northstar serve --db northstar.duckdb --port 8000"
    )
)
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind; 127.0.0.1 (this machine only) unless told otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", min=0.001, help="Largest request body in MiB; beyond it: 413.")
    ] = 16.0,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve the HTTP API on the store: ingest, read, tokens, Prometheus and webhooks (OpenAPI at /docs).

    Routes: `POST /v1/records/KIND` (ingest), `/v1/metrics`, `/v1/assessment`, `/v1/check` (read),
    `/v1/tokens` (admin), `/metrics` (Prometheus, read), `/webhooks/…` (provider signatures).

    The server owns the store for its lifetime (DuckDB allows one writer): while it runs, load data through
    the API, not `northstar ingest`. Every route needs a token from `northstar token create` (create one before
    starting the server, or through `POST /v1/tokens` with an admin token); webhooks check their provider's
    signature with the secrets in the env (NORTHSTAR_GITHUB_SECRET, NORTHSTAR_GITLAB_TOKEN,
    NORTHSTAR_PAGERDUTY_SECRET, NORTHSTAR_MLFLOW_SECRET).
    """
    import os

    try:
        import uvicorn
    except ModuleNotFoundError:
        fail("the server needs its extra: pip install 'northstar-ml[server]'")
    from northstar.cli._common import user_errors
    from northstar.cli.config import load_settings
    from northstar.server import ServerState, create_app
    from northstar.store import StoreError, StoreLocked

    with user_errors():
        settings = load_settings(config)
    secrets = {
        provider: os.environ[var]
        for provider, var in (
            ("github", "NORTHSTAR_GITHUB_SECRET"),
            ("gitlab", "NORTHSTAR_GITLAB_TOKEN"),
            ("pagerduty", "NORTHSTAR_PAGERDUTY_SECRET"),
            ("mlflow", "NORTHSTAR_MLFLOW_SECRET"),
        )
        if os.environ.get(var)
    }
    try:
        state = ServerState.open(db, settings, max_body=int(max_body_mb * (1 << 20)), webhook_secrets=secrets)
    except StoreLocked as exc:
        fail(f"{exc} (is another `northstar serve` running on it?)", code=1)
    except StoreError as exc:
        fail(str(exc))
    typer.echo(f"northstar: serving {db} on http://{host}:{port} (OpenAPI at /docs)", err=True)
    uvicorn.run(create_app(state), host=host, port=port, log_level=log_level)


def _open_for_tokens(db_path: str) -> object:
    from northstar.store import Store, StoreError, StoreLocked

    try:
        return Store.open(db_path, lock_timeout=2.0)
    except StoreLocked as exc:
        fail(f"{exc}; while `northstar serve` runs, manage tokens through its API (/v1/tokens, admin scope)", code=1)
    except StoreError as exc:
        fail(str(exc))


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for (e.g. the tool that will use it).")],
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help="ingest, read or admin (repeat for several; admin implies all).")
    ],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Create a token and print it once (only its sha256 is stored).

    Example: `northstar token create deploy-bot --scope ingest`
    """
    from northstar.server.auth import TokenError, create_token
    from northstar.store import Store

    store = _open_for_tokens(str(db))
    assert isinstance(store, Store)
    with store:
        try:
            token, info = create_token(store.con, name, scope)
        except TokenError as exc:
            fail(str(exc))
    typer.echo(token)
    typer.echo(f"token {info.id} ({', '.join(info.scopes)}) created; it is shown only now", err=True)


@token_app.command("list")
def token_list(db: DbOption = DEFAULT_DB, fmt: FormatOption = Format.table) -> None:
    """List the tokens: id, name, scopes, created, revoked (never the secret)."""
    from northstar.server.auth import list_tokens
    from northstar.store import Store

    store = _open_for_tokens(str(db))
    assert isinstance(store, Store)
    with store:
        rows = [t.to_dict() for t in list_tokens(store.con)]
    for r in rows:
        r["scopes"] = ",".join(r["scopes"]) if fmt is not Format.json else r["scopes"]
    print_rows(rows, fmt, title="API tokens", columns=["id", "name", "scopes", "created_at", "revoked_at", "active"])


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `northstar token list`).", metavar="ID")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Revoke a token: the server refuses it from the next request on."""
    from northstar.server.auth import TokenError, revoke_token
    from northstar.store import Store

    store = _open_for_tokens(str(db))
    assert isinstance(store, Store)
    with store:
        try:
            info = revoke_token(store.con, token_id)
        except TokenError as exc:
            fail(str(exc))
    typer.echo(f"token {info.id} ({info.name}) revoked")
