"""`python -m keras_genart.cli`: the `genart` command."""

import sys

from keras_genart.cli import main

sys.exit(main())
