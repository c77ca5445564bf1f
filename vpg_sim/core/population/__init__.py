"""A population of M agents trained as one: each agent exactly a
:class:`~vpg_sim.core.trainer.VPGTrainer` with its own seed, config and estimator.

``trainer.py`` (the :class:`PopulationTrainer`), ``stacked.py`` (M networks as stacked
weights, their Adam and clipping), ``envs.py`` (M x N envs), ``rollout.py`` (step 1),
``advantages.py`` (step 2), ``update.py`` (steps 3 and 4).
"""
