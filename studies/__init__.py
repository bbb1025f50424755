"""The study orchestration at the top of the layers: the sweep, its launchers and cell processes,
the paper checkpoints and the demo. It drives trainers and `fairreason score` and hands results to
`leaderboards`; nothing imports it."""
