"""`oncall serve`'s web server: the observer view for browsers (no Textual or Rich here: the observer runs in
a process of its own, one per browser)."""
