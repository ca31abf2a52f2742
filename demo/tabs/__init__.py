"""The page's tabs, one module each: its components, its events wired beside them, and its handlers."""
