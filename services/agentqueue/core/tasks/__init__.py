"""Tasks: the record, its store and public view, its event stream and its webhooks."""
