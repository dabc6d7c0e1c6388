"""The marketplace's side of matching: documents, index sync, search and recommendation endpoints."""
