"""How good a run is: one score for any run (`scores`), the shared classifier, and the image, mode and pair meters."""
