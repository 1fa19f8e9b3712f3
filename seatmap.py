"""`python seatmap.py --user NAME` is `hotline seatmap`: the live seat map in a terminal."""

import sys

from hotline.cli import main

if __name__ == "__main__":
    sys.exit(main(["seatmap", *sys.argv[1:]]))
