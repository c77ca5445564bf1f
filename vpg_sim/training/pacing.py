"""Training paces the window offers: how fast a class sees the agent improve."""

PACES: tuple[tuple[str, float | None], ...] = (
    ("full", None),
    ("1/s", 1.0),
    ("2/s", 2.0),
    ("5/s", 5.0),
    ("lockstep", None),
)
"""(name, updates per second) in the order T cycles them. ``full`` runs updates back
to back; ``lockstep`` runs one per finished stage episode."""
PACE_NAMES = tuple(name for name, _ in PACES)
DEFAULT_PACE = "1/s"
"""At one update a second a class sees CartPole go from falling to balancing in ~45 s."""
