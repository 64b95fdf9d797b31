"""The one read service between the web, the command line and the store.

Every read of stored data and every change goes through `ReadService` with the acting user
(`records.Actor`): it checks the role (`access.roles`), keeps aggregates shown to a viewer above
`MIN_AUTHORS` distinct authors, and writes the audit row for every view of post texts and every
re-identification in the same transaction as the read. A route cannot forget any of it, because
the store functions that return texts are called from here only.
"""
