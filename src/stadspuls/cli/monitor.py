"""`stadspuls monitor …`: create, list, inspect, edit and remove monitors, through the read
service (changes and shown posts are audited under the OS login name)."""

from __future__ import annotations

from datetime import timedelta

import click
from tqdm import tqdm

from stadspuls.cli.common import cli_user, common_options, refusal, service_for
from stadspuls.records import LEGAL_BASES, Monitor, utcnow
from stadspuls.service.reads import ReadService
from stadspuls.settings import Settings
from stadspuls.store import monitors as store

BASIS = click.Choice(sorted(LEGAL_BASES))


@click.group("monitor")
def monitor_group() -> None:
    """Monitors: named queries with a purpose, a legal basis and a retention period."""


def _find(settings: Settings, name: str, *, read_only: bool = False) -> tuple[ReadService, Monitor]:
    service = service_for(settings, read_only=read_only, existing=True)
    found = store.find_monitor(service.engine, name)
    if found is None:
        raise click.ClickException(f"no monitor named {name!r} (see: stadspuls monitor list)")
    return service, found


@monitor_group.command("add")
@click.argument("name")
@click.argument("query")
@click.option("--purpose", required=True, help="Why this is watched (doelbinding).")
@click.option("--basis", required=True, type=BASIS, help="Legal basis of the processing.")
@click.option("--retention-days", type=click.IntRange(1, 3650), default=90, show_default=True)
@click.option("--place", "places", multiple=True, help="Only posts about this place (repeatable).")
@click.option("--owner", help="Who is responsible (default: you, the OS login name).")
@click.option("--reason", help="Why, when QUERY holds @handle (re-identification; audited).")
@common_options
def add_command(
    name: str,
    query: str,
    purpose: str,
    basis: str,
    retention_days: int,
    places: tuple[str, ...],
    owner: str | None,
    reason: str | None,
    settings: Settings,
) -> None:
    """Create monitor NAME watching QUERY, and match it against the archive."""
    service = service_for(settings)
    monitor = Monitor(
        name=name,
        query=query,
        owner=owner or "",
        purpose=purpose,
        legal_basis=basis,
        retention_days=retention_days,
        places=places,
    )
    with tqdm(desc="backfill", unit=" posts", leave=False) as bar:

        def progress(done: int) -> None:
            bar.update(done - bar.n)

        with refusal():
            saved, matched = service.create_monitor(cli_user(), monitor, reason, progress=progress)
    click.echo(f"monitor {saved.name!r} (id {saved.id}) created; {matched} stored posts match")


@monitor_group.command("edit")
@click.argument("name")
@click.option("--query", help="New query (re-matches the archive).")
@click.option("--purpose")
@click.option("--basis", type=BASIS)
@click.option("--retention-days", type=click.IntRange(1, 3650))
@click.option("--pause/--resume", "paused", default=None, help="Stop or restart live matching.")
@click.option("--reason", help="Why, when the new query holds @handle (re-identification).")
@common_options
def edit_command(
    name: str,
    query: str | None,
    purpose: str | None,
    basis: str | None,
    retention_days: int | None,
    paused: bool | None,
    reason: str | None,
    settings: Settings,
) -> None:
    """Change monitor NAME."""
    service, found = _find(settings, name)
    assert found.id is not None
    changes: dict[str, object] = {
        k: v
        for k, v in {
            "query": query,
            "purpose": purpose,
            "legal_basis": basis,
            "retention_days": retention_days,
        }.items()
        if v is not None
    }
    if paused is not None:
        changes["active"] = not paused
    with refusal():
        saved, matched = service.update_monitor(cli_user(), found.id, changes, reason)
    rematched = "" if matched is None else f"; re-matched: {matched} stored posts match"
    click.echo(f"monitor {saved.name!r} saved{rematched}")


@monitor_group.command("list")
@common_options
def list_command(settings: Settings) -> None:
    """List monitors with their number of matched posts."""
    found = service_for(settings, read_only=True).monitors(cli_user())
    if not found:
        click.echo("no monitors yet; create one with: stadspuls monitor add NAME QUERY ...")
    for monitor, posts in found:
        state = "" if monitor.active else " (paused)"
        click.echo(
            f"{monitor.name}{state}: {posts} posts,"
            f" {monitor.legal_basis}, keep {monitor.retention_days} d\n    {monitor.query}"
        )


@monitor_group.command("show")
@click.argument("name")
@click.option("--hours", type=click.IntRange(1, 24 * 90), default=24, show_default=True)
@click.option("--last", type=click.IntRange(0, 100), default=5, show_default=True)
@common_options
def show_command(name: str, hours: int, last: int, settings: Settings) -> None:
    """Show monitor NAME: its purpose, volume per hour and last posts (showing posts writes an
    audit row: with --last 0 it only reads)."""
    service, found = _find(settings, name, read_only=last == 0)
    assert found.id is not None
    actor = cli_user()
    _, total = service.monitor(actor, found.id)
    posts = service.posts(actor, monitor_id=found.id, limit=last).posts if last else ()
    click.echo(f"{found.name} (id {found.id}), owner {found.owner}")
    click.echo(f"  query:     {found.query}")
    if found.places:
        click.echo(f"  places:    {', '.join(found.places)}")
    click.echo(f"  purpose:   {found.purpose}")
    click.echo(f"  basis:     {LEGAL_BASES[found.legal_basis]}")
    click.echo(f"  retention: {found.retention_days} days; {total} posts matched")
    since = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    volume = dict(service.volume(actor, bucket_seconds=3600, monitor_id=found.id, since=since))
    peak = max(volume.values(), default=0)
    click.echo(f"\nposts per hour, last {hours} h (UTC):")
    for hour in range(hours):
        start = since + timedelta(hours=hour)
        n = volume.get(start, 0)
        bar = "#" * (round(40 * n / peak) if peak else 0)
        click.echo(f"  {start:%m-%d %H:00} {n:>6} {bar}")
    if posts:
        click.echo("\nlast posts:")
    for post in posts:
        text = " ".join(post.text.split())[:200]
        click.echo(f"  {post.created_at:%Y-%m-%d %H:%M} {post.source:<8} {text}")


@monitor_group.command("rm")
@click.argument("name")
@common_options
def rm_command(name: str, settings: Settings) -> None:
    """Remove monitor NAME (its posts stay until retention removes them)."""
    service, found = _find(settings, name)
    assert found.id is not None
    with refusal():
        service.delete_monitor(cli_user(), found.id)
    click.echo(f"monitor {name!r} removed")
