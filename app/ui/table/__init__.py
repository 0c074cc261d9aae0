"""The machinery of a paged, searchable, live table: its paging, dialogs and refreshes."""
