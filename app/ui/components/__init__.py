"""Reusable pieces of the UI: layout, forms, tables, dialogs and menus."""
