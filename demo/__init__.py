"""The Gradio app: `python demo/app.py`. Threads live in runs.py only."""
