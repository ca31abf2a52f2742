def numbers_follow(page, dataset: str) -> bool:
    """The Train form's batch size, learning rate and width boxes show `dataset`'s defaults (they follow the
    Dataset box through a server event): what a test waits for after picking a dataset, before pressing Train."""
    from demo import present

    want = present.control_defaults(dataset, "auto")

    def value(elem_id: str) -> float | None:
        try:
            return float(page.locator(f"#{elem_id} input").input_value())
        except ValueError:
            return None
    return all(value(e) == float(want[k]) for e, k in (("batch-size", "batch_size"), ("lr", "lr"), ("width", "width")))
