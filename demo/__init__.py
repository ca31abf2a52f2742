"""The Gradio app (`python demo/app.py`): the page and its tabs; the runs and their threads live in demo/runs/ only."""
