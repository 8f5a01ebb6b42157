"""The Textual wizard: one screen per portal step, all Azure I/O through the gateway in workers."""
