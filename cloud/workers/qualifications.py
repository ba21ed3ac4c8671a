"""Whether a worker may enter (or watch over) a confined space during a work window: pure, dates passed in.

A worker qualifies when active, with a registered phone key (entrants only: the key binds the permit token),
confined-space training valid through the last day of the window, and every required certificate valid
through that day too. Each failure is a sentence naming the worker, so a refusal says exactly why.
"""

from __future__ import annotations

from datetime import date

from cloud.workers.models import Worker


def qualification_problems(worker: Worker, *, last_day: date, required_certificates: list[str],
                           role: str) -> list[str]:
    who = f"{role} {worker.name} (worker {worker.id})"
    problems: list[str] = []
    if not worker.active:
        problems.append(f"{who} is not active")
    if worker.training_valid_until is None:
        problems.append(f"{who} has no confined-space training on record")
    elif worker.training_valid_until < last_day:
        problems.append(f"{who}: confined-space training valid only until {worker.training_valid_until.isoformat()}, "
                        f"the work runs until {last_day.isoformat()}")
    for kind in required_certificates:
        valid = [date.fromisoformat(c["valid_until"]) for c in worker.certificates if c.get("kind") == kind]
        if not valid:
            problems.append(f"{who} holds no {kind} certificate")
        elif max(valid) < last_day:
            problems.append(f"{who}: {kind} certificate valid only until {max(valid).isoformat()}, "
                            f"the work runs until {last_day.isoformat()}")
    return problems
