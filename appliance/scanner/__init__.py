"""The scanner: camera frames in, card presentations out (camera/, decode, debounce, runner)."""
