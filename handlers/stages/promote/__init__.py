"""Stages `model.evaluated`, `model.approve` and `model.rollback` (`handle`): the challenger's
scores (`challenger`) and the move of the live endpoint that ends every decision (`transition`).
"""
