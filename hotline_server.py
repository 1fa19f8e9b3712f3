"""`python hotline_server.py` is `hotline serve` (the name the design card gives)."""

import sys

from hotline.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
