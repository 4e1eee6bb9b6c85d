"""A SageMaker stand-in that really trains XGBoost and really serves predictions.

Control plane (training jobs, models, endpoint configs, endpoints, tags) and runtime
(InvokeEndpoint) on one local HTTP port, speaking the protocols botocore uses, with AWS's error
codes and messages, S3 via any endpoint (moto), and fault injection for tests.
"""

from localcloud.sagemaker.emulator import Emulator
from localcloud.sagemaker.faults import Faults

__all__ = ["Emulator", "Faults"]
