"""The page's own CSS (given to launch()): on narrow screens, a picture stays in view while its controls move, the
Train tab's run comes right after its buttons, and every tab is in reach (the tabs wrap, demo/app.py)."""

CSS = """
@media (max-width: 640px) {
  /* Explore: G(z) above its controls, pinned to the top while the sliders scroll under it */
  #x-image { order: -1; position: sticky; top: 0; z-index: 100; min-width: 100% !important; height: 40vh !important;
             background: var(--block-background-fill, white) !important; opacity: 1;
             box-shadow: 0 6px 10px -6px rgba(0, 0, 0, 0.35); }
  #x-image img { max-height: calc(40vh - 40px); }
  /* Train: the form tighter (numbers three a row, the four buttons in one), then the run's status and grid at
     once; the upload panels after the charts */
  #train-numbers .form > .block { min-width: 28% !important; }
  #train-buttons { flex-wrap: wrap; }
  #train-buttons > button { min-width: 0 !important; flex: 1 1 0; padding-left: 4px; padding-right: 4px; }
  #upload-zip, #upload-pair { order: 1; }
  #grid-row ~ * { order: 2; }
}
"""
# Gradio scopes CSS to the page's container, and that container hides what overflows, which stops a sticky picture
# from sticking; on narrow screens it clips instead (the same look, no scroll box). It goes in the page's <head>.
HEAD = ("<style>@media (max-width: 640px) { .gradio-container { overflow-x: clip !important; "
        "overflow-y: visible !important; } }</style>")

__all__ = ["CSS", "HEAD"]
