"""The main job in a checkout: an alias of the installed ``deepinn train`` command.

    python train.py domain=parallelogram
    python train.py domain=circle sampler=sobol optimizer=adam trainer.max_steps=500
    python train.py -m domain=interval,circle,box
"""

import sys

from deepinn.app import train

if __name__ == "__main__":
    sys.exit(train(sys.argv[1:]))
