"""One worker of the 2-worker training test (test_distributed_training.py), run as its own process.

    python distributed_worker.py FOLDER OUTPUT EPOCHS [--resume] [--crash-at EPOCH BATCH]

Trains the tiny test model with distributed=True (the cluster comes from
TF_CONFIG) and prints every progress report as a JSON line. --crash-at raises in
the progress callback at that batch, as a power cut would stop the run there.
"""

import argparse
import json
from dataclasses import asdict

from musicgen_gui.core.training import train

# The distributed test's model: no input noise (seed-2017), so a run can be compared exactly.
SETTINGS = dict(preset="seed-2017", units=[16], batch_size=8, sequence_length=10, seed=2, checkpoint_every=3)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("output")
    parser.add_argument("epochs", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--crash-at", type=int, nargs=2)
    args = parser.parse_args()

    def report(p):
        print(json.dumps(asdict(p)), flush=True)
        if args.crash_at and p.stage == "training" and [p.epoch, p.batch] == args.crash_at:
            raise SystemExit(3)

    train([args.folder], args.output, epochs=args.epochs, resume=args.resume, distributed=True, progress=report,
          **SETTINGS)
