"""Quality filters and cleaners (Gopher, C4, FineWeb, URL, PII, regex, boilerplate, perplexity, OCR, RedPajama)."""
