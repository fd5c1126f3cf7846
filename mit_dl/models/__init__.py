"""Lab and lecture models built from `mit_dl.layers` (loaded lazily per module)."""
