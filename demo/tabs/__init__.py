"""The page's tabs, one module each: its components, its events wired beside them, and its handlers; here, the
settings their events and charts share (no imports, nothing built)."""

FAST = dict(concurrency_limit=None, show_progress="hidden")  # events that are quick: no queue limit, no spinner
# Charts start empty as None: a LinePlot whose first value is an empty frame never draws later lines or legends
# (Gradio 6.31), and one cleared with an empty frame keeps its old legend; see tests/browser/test_page.py. Once drawn,
# a chart is hidden rather than cleared (demo/live.py Live._cleared).
# Axes as numbers read: steps as whole numbers, values with no trailing zeros (a one-point chart printed
# "8,000.000000").
PLOT = dict(x="step", y="value", color="series", x_title="step", x_axis_format=",.0f", y_axis_format="~g")

__all__ = ["FAST", "PLOT"]
