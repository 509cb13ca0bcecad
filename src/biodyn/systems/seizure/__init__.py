"""Brain-Go-Brr: seizure detection on EEG (the recipe; :mod:`.szcore` runs the SzCORE benchmark)."""
