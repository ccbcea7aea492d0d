"""Model quality measures that need no TensorFlow (``musicgen evaluate``), in five parts:

* ``metrics``: the measures, pure functions (audio or log-mel dB frames in, numbers out);
* ``teacher_forced``: the next-frame error given the true past, against persistence;
* ``protocol``: the run: held-out clips, draws through the real pipeline, each scored
  beside the true continuation and a frozen baseline; the pass/fail targets;
* ``report``: the summary per set and horizon, and the JSON report;
* ``plots``: one PNG per seed (matplotlib, imported only when plotting).

Every public name is importable from here, as before the split.
"""

from .metrics import *  # noqa: F401,F403
from .plots import *  # noqa: F401,F403
from .protocol import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403
from .teacher_forced import *  # noqa: F401,F403
