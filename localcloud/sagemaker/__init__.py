"""A SageMaker stand-in that really trains XGBoost and really serves predictions.

Control plane (training jobs, models, endpoint configs, endpoints, tags) and runtime
(InvokeEndpoint) on one local HTTP port, speaking the protocols botocore uses, with AWS's error
codes and messages, S3 via any endpoint (moto), and fault injection for tests.
"""

import os

# XGBoost's OpenMP threads spin after each predict and, on a small machine, take the CPU from the
# worker sharing this process; a passive wait keeps per-call latency steady. Set before xgboost
# is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from localcloud.sagemaker.emulator import Emulator
from localcloud.sagemaker.faults import Faults

__all__ = ["Emulator", "Faults"]
