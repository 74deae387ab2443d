"""Runs sweep jobs on Ray: a local Ray instance by default, or an existing cluster by address.

Ray is an optional extra (`pip install -r requirements-ray.txt`, or the `ray` extra of the
package); the base install and the default single-machine backend never import it. Jobs run as
Ray tasks; their results come back to the calling process, which writes them to the CSV and the
run store exactly as the local backend does.

The project folder (code and the bundled benchmark tables in assets/, about 2 MB) is shipped to
the workers as Ray's `working_dir`, so the nodes of a cluster need only the Python packages of
requirements.txt (and Ray, at the driver's version), not a copy of the project.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = (
    "the 'ray' backend needs Ray, an optional extra: pip install -r requirements-ray.txt "
    "(or pip install 'hypernas-explorer[ray]'); the default backend 'local' needs nothing more"
)
# shipped to the workers: the package and assets/, not environments, results or screenshots
WORKING_DIR_EXCLUDES = [
    ".git",
    ".venv",
    "venv",
    "runs",
    "docs",
    "tests",
    "**/__pycache__",
    "*.pyc",
    ".hypothesis",
    ".pytest_cache",
]


def import_ray() -> Any:
    """The `ray` module.

    Raises:
        ValueError: when Ray is not installed, saying how to install it.
    """
    try:
        import ray
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return ray


def run_on_ray(
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    jobs: Sequence[dict[str, Any]],
    address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_job: int = 1,
) -> Iterator[dict[str, Any]]:
    """Runs fn(job) for every job as Ray tasks and yields the results as they finish.

    Args:
        fn: a module-level function (workers import it by name).
        jobs: one dict per task.
        address: a cluster to join ("ray://host:10001" or "host:6379", or "auto"); None starts a
            local Ray instance for this call and stops it at the end.
        num_cpus: CPUs of the local instance (None: all of this machine); ignored with address.
        cpus_per_job: CPUs Ray reserves for each task (match the torch threads per run).

    Raises:
        ValueError: when Ray is missing, cpus_per_job < 1, or the cluster cannot be reached.
    """
    if cpus_per_job < 1:
        raise ValueError(f"cpus_per_job must be >= 1 (got {cpus_per_job!r})")
    ray = import_ray()
    started = not ray.is_initialized()
    if started and address:
        _check_reachable(address)
    if started:
        runtime_env = {"working_dir": str(PROJECT_ROOT), "excludes": WORKING_DIR_EXCLUDES}
        try:
            ray.init(
                address=address or "local",  # "local": a new instance, never a stale cluster
                num_cpus=None if address else num_cpus,
                include_dashboard=False,
                runtime_env=runtime_env,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ValueError(
                f"cannot start or reach Ray at {address or 'a local instance'!r}: {err} (a "
                "cluster with token authentication also needs RAY_AUTH_MODE=token and its token "
                "here, see docs/reliability.md)"
            ) from None
        logger.info("ray: %s, resources %s", address or "local", ray.cluster_resources())
    task = ray.remote(num_cpus=cpus_per_job)(fn)
    pending = [task.remote(job) for job in jobs]
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:  # an error or an abandoned generator: stop the rest
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fails fast when nothing listens at a cluster's host:port (Ray itself retries forever).

    Raises:
        ValueError: naming the address and why it cannot be reached.
    """
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(
            f"address must be 'auto', 'host:port' or 'ray://host:port' (got {address!r})"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        raise ValueError(
            f"cannot reach a Ray cluster at {address!r} ({err}); start it with `ray start --head` "
            "or check the address"
        ) from None
