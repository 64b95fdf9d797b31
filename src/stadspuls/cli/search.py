"""`stadspuls search QUERY`: stored posts matching a monitor query, newest first."""

from __future__ import annotations

import click

from stadspuls.cli.common import common_options, engine_for, parse_time, pseudonym_function
from stadspuls.query.parser import QuerySyntaxError
from stadspuls.settings import Settings
from stadspuls.store.search import count_posts, search_posts


@click.command("search")
@click.argument("query", required=False, default="")
@click.option("--count", "only_count", is_flag=True, help="Print only the number of matches.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--since", help="Only posts created at or after (ISO 8601; UTC if no zone).")
@click.option("--until", help="Only posts created before (ISO 8601; UTC if no zone).")
@click.option("--source", "sources", multiple=True, help="Only these sources (repeatable).")
@click.option("--lang", help="Only posts in this language (ISO 639-1).")
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
    settings: Settings,
) -> None:
    """Print stored posts matching QUERY (all posts when omitted), newest first.

    QUERY uses the monitor language: terms, "phrases", prefix*, #hashtags, @mentions,
    AND/OR/NOT, parentheses, NEAR/n, and filters lang:, source:, place:, has:media, has:link.
    """
    engine = engine_for(settings, read_only=True)
    pseudonym = pseudonym_function(settings)
    filters = {
        "since": parse_time(since),
        "until": parse_time(until),
        "sources": list(sources) or None,
        "lang": lang,
    }
    try:
        if only_count:
            click.echo(count_posts(engine, query, pseudonymise=pseudonym, **filters))  # type: ignore[arg-type]
            return
        found = search_posts(
            engine,
            query,
            limit=limit,
            offset=offset,
            pseudonymise=pseudonym,
            **filters,  # type: ignore[arg-type]
        )
    except QuerySyntaxError as error:
        raise click.ClickException(f"query error: {error}") from error
    finally:
        engine.dispose()
    for post in found:
        when = post.created_at.strftime("%Y-%m-%d %H:%M")
        text = " ".join(post.text.split())
        click.echo(f"{when}  {post.source:<8} {post.id}\n    {text[:300]}")
