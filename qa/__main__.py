"""python -m qa"""

import sys

from qa.cli import main

sys.exit(main())
