"""The pipeline's stages against the embedded AWS (moto + the SageMaker emulator)."""
