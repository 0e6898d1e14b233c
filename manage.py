#!/usr/bin/env python3
from prm.cli import main

if __name__ == "__main__":
    main()
