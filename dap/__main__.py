import sys

from dap.cli import main

sys.exit(main())
