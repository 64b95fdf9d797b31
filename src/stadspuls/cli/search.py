"""`stadspuls search QUERY`: stored posts matching a monitor query, newest first. Read through
the read service: every search that prints texts is written to the audit log."""

from __future__ import annotations

import click

from stadspuls.cli.common import (
    cli_user,
    common_options,
    parse_time,
    refusal,
    service_for,
)
from stadspuls.query.parser import QuerySyntaxError, parse
from stadspuls.service.reidentify import handles_in
from stadspuls.settings import Settings


@click.command("search")
@click.argument("query", required=False, default="")
@click.option("--count", "only_count", is_flag=True, help="Print only the number of matches.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--since", help="Only posts created at or after (ISO 8601; UTC if no zone).")
@click.option("--until", help="Only posts created before (ISO 8601; UTC if no zone).")
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable).")
@click.option("--lang", help="Only posts in this language (ISO 639-1).")
@click.option(
    "--reason", help="Why a handle is looked up (needed when QUERY holds @handle; audited)."
)
@common_options
def search_command(
    query: str,
    only_count: bool,
    limit: int,
    offset: int,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    lang: str | None,
    reason: str | None,
    settings: Settings,
) -> None:
    """Print stored posts matching QUERY (all posts when omitted), newest first.

    QUERY uses the monitor language: terms, "phrases", prefix*, #hashtags, @mentions,
    AND/OR/NOT, parentheses, NEAR/n, and filters lang:, source:, place:, has:media, has:link.
    Printing posts writes an audit row, so it needs write access to the database; --count
    without @handle only reads.
    """
    try:
        handles = handles_in(parse(query))
    except QuerySyntaxError as error:
        raise click.ClickException(f"query error: {error}") from error
    service = service_for(settings, read_only=only_count and not handles, existing=True)
    actor = cli_user()
    filters = {
        "since": parse_time(since),
        "until": parse_time(until),
        "sources": list(sources) or None,
        "lang": lang,
    }
    try:
        with refusal():
            if only_count:
                click.echo(service.count(actor, query=query, reason=reason, **filters))  # type: ignore[arg-type]
                return
            page = service.posts(
                actor,
                query=query,
                limit=limit,
                offset=offset,
                reason=reason,
                **filters,  # type: ignore[arg-type]
            )
    finally:
        service.engine.dispose()
    for post in page.posts:
        when = post.created_at.strftime("%Y-%m-%d %H:%M")
        text = " ".join(post.text.split())
        click.echo(f"{when}  {post.source:<8} {post.id}\n    {text[:300]}")
