"""The organisation's own channels: where citizens' messages come in (e-mail over IMAP, mentions
and direct messages on Mastodon and Bluesky) and where replies go back out."""
