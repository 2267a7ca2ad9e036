import sys

from stacks.synth import main

sys.exit(main())
