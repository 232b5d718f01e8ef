"""One file per schema revision, oldest first (each names its predecessor in `down_revision`)."""
