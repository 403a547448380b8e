"""The "Dataset" tab: a paged grid of LR thumbnails of the `--shards` builds, with filters.

Filters: source and the bin (0-3) of blur / noise / JPEG; the count of matching samples
is shown. Clicking a thumbnail shows HR, LR (nearest x4), restoration prompt, caption (when
the build is captioned) and deg.json as a table. Each build's bin histograms are drawn
as `dalpsr-data stats --plot` draws them. A visitor picks among what the index holds:
no control takes a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dalpsr_data import schema

from .dataset import DatasetIndex

ANY = "any"
BIN_CHOICES = [ANY, *(str(b) for b in range(schema.NUM_BINS))]
GRID_COLUMNS = 8
ROW_PX = 155  # one row of thumbnails at 1280 px wide: the grid is sized to a page, not to a fixed default


class DatasetTab:
    """Handlers of the tab, bound to the index."""

    def __init__(self, index: DatasetIndex, page_size: int) -> None:
        self.index, self.page_size = index, page_size

    def matching(self, source: str, blur: str, noise: str, jpeg: str) -> list[int]:
        bins = {t: int(v) for t, v in zip(schema.DEGRADATION_TYPES, (blur, noise, jpeg)) if v not in (ANY, "", None)}
        return self.index.select("" if source in (ANY, "", None) else source, bins)

    def show(self, source: str, blur: str, noise: str, jpeg: str, page: float) -> tuple[Any, ...]:
        """(gallery items, count line, page number, ids on the page) for the filters and page."""
        ids = self.matching(source, blur, noise, jpeg)
        pages = max(1, -(-len(ids) // self.page_size))
        page = min(max(1, int(page or 1)), pages)
        shown = ids[(page - 1) * self.page_size: page * self.page_size]
        items = [(self.index.thumbnail(i), self.index.samples[i].key) for i in shown]
        count = f"**{len(ids)}** of {len(self.index.samples)} samples match (page {page} of {pages})"
        return items, count, page, shown

    def select(self, shown: list[int], evt: Any) -> tuple[Any, ...]:
        """Details of the clicked thumbnail (``evt``: gr.SelectData of the gallery)."""
        i = shown[evt.index]
        d = self.index.detail(i)
        title = f"{d['key']} ({d['source']}, {d['build']})"
        return d["hr"], d["lr_x4"], d["prompt"], d["caption"] or "(build not captioned)", d["deg"], title


def build_dataset_tab(demo: Any, index: DatasetIndex | None, page_size: int, histograms: list[Path]) -> None:
    """Lay out the tab inside ``demo`` (the gr.Blocks being built) and wire its events."""
    import gradio as gr

    if index is None:
        gr.Markdown("No build to browse: start `dalpsr-app` with `--shards BUILD` (repeat it for several).")
        return
    tab = DatasetTab(index, page_size)
    with gr.Row():
        source = gr.Dropdown([ANY, *index.sources], value=ANY, label="Source", elem_id="ds-source")
        bins = [gr.Dropdown(BIN_CHOICES, value=ANY, label=f"{t} bin", elem_id=f"ds-{t}")
                for t in schema.DEGRADATION_TYPES]
        page = gr.Number(value=1, precision=0, minimum=1, label="Page", elem_id="ds-page")
    count = gr.Markdown(elem_id="ds-count")
    rows = -(-page_size // GRID_COLUMNS)
    gallery = gr.Gallery(label="LR thumbnails (click one)", columns=GRID_COLUMNS, height=rows * ROW_PX + 50,
                         allow_preview=False,
                         format="png", elem_id="ds-gallery", object_fit="contain", fit_columns=False)
    shown = gr.State([])
    title = gr.Markdown(elem_id="ds-title")
    with gr.Row():
        hr = gr.Image(label="HR", interactive=False, format="png", elem_id="ds-hr", height=360)
        lr = gr.Image(label="LR (nearest x4)", interactive=False, format="png", elem_id="ds-lr", height=360)
    with gr.Row():
        prompt = gr.Textbox(label="Restoration prompt", interactive=False, elem_id="ds-prompt")
        caption = gr.Textbox(label="Caption", interactive=False, elem_id="ds-caption")
    deg = gr.Dataframe(headers=["parameter", "value"], label="Degradation parameters (deg.json)",
                       interactive=False, elem_id="ds-deg", max_height=320)
    for path, build in zip(histograms, index.builds):
        gr.Markdown(f"**Degree histograms and samples per bin** of `{build.root}` (as `dalpsr-data stats --plot`)")
        gr.Image(str(path), show_label=False, interactive=False, format="png", elem_id="ds-histograms")

    filters = [source, *bins]
    outputs = [gallery, count, page, shown]

    def first_page(*values: str) -> tuple[Any, ...]:  # a new filter starts again at page 1
        return tab.show(*values, 1)

    def clicked(ids: list[int], evt: Any) -> tuple[Any, ...]:
        return tab.select(ids, evt)

    clicked.__annotations__["evt"] = gr.SelectData  # the class itself: gradio finds the event by it

    for control in filters:
        control.change(first_page, filters, outputs, api_visibility="private", queue=False)
    demo.load(first_page, filters, outputs, api_visibility="private", queue=False)
    page.submit(tab.show, [*filters, page], outputs, api_name="dataset_page", queue=False)
    gallery.select(clicked, [shown], [hr, lr, prompt, caption, deg, title], api_visibility="private",
                   queue=False)
