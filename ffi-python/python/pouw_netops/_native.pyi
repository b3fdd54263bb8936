"""Type stubs of the private native module ``pouw_netops._native`` (the Rust core's binding)."""

from typing import Any, Dict, List, Optional, Tuple, final

__all__ = [
    "__version__",
    "CrashRecoveryCore",
    "PanicException",
    "PhiAccrualDetector",
    "_trigger_panic",
    "decode_envelope",
    "encode_heartbeat",
    "metrics_healthy",
]
__version__: str

class PanicException(BaseException):
    """A panic inside the native code, surfaced as an exception (pyo3's ``PanicException``)."""

def _trigger_panic() -> None:
    """Panics inside the core; for the test that proves a panic does not kill the interpreter."""

def metrics_healthy(
    last_heartbeat: float,
    response_time: float,
    success_rate: float,
    cpu_usage: float,
    memory_usage: float,
    now: Optional[float] = None,
) -> bool:
    """The core's default health thresholds applied to one set of metrics at ``now``."""

@final
class PhiAccrualDetector:
    """Akka's phi-accrual failure detector; sans-IO, every time in seconds."""

    def __new__(
        cls,
        threshold: float = 8.0,
        max_sample_size: int = 1000,
        min_std_deviation: float = 0.1,
        acceptable_heartbeat_pause: float = 0.0,
        first_heartbeat_estimate: float = 1.0,
    ) -> PhiAccrualDetector: ...
    def heartbeat(self, now: float) -> None:
        """Records a heartbeat arriving at ``now``."""
    def phi(self, now: float) -> float:
        """Phi at ``now``: 0 before any heartbeat, ``inf`` once the tail underflows."""
    def is_available(self, now: float) -> bool:
        """Whether phi at ``now`` is below the threshold."""
    @property
    def threshold(self) -> float: ...
    @property
    def sample_count(self) -> int: ...
    @property
    def last_heartbeat(self) -> Optional[float]: ...
    @property
    def mean_interval(self) -> float: ...
    @property
    def std_deviation(self) -> float: ...

_NodeTuple = Tuple[str, str, float, float, float, float, float, float, float, int]
_EventTuple = Tuple[int, float, str, str, Dict[str, Any]]

@final
class CrashRecoveryCore:
    """The core's crash-recovery manager at host scale (4096 nodes)."""

    def __new__(cls, threshold: float = 8.0) -> CrashRecoveryCore: ...
    def update_node_health(
        self,
        node_id: str,
        response_time: float,
        success_rate: float,
        task_completion_rate: float,
        bandwidth_utilization: float,
        cpu_usage: float,
        memory_usage: float,
        now: Optional[float] = None,
    ) -> None: ...
    def heartbeat(self, node_id: str, now: Optional[float] = None) -> None: ...
    def detect_crashes(self, now: Optional[float] = None) -> List[str]: ...
    def initiate_recovery(self, node_id: str, strategy: str = "automatic", now: Optional[float] = None) -> bool: ...
    def remove_node(self, node_id: str) -> None: ...
    def status(self, node_id: str) -> str: ...
    def phi(self, node_id: str, now: Optional[float] = None) -> float: ...
    def is_healthy(self, node_id: str, now: Optional[float] = None) -> bool: ...
    def node(self, node_id: str) -> _NodeTuple: ...
    def nodes(self) -> List[_NodeTuple]: ...
    def ids_with_status(self, *statuses: str) -> List[str]: ...
    def summary(self, now: Optional[float] = None) -> Dict[str, Any]: ...
    def events(self, since: int = 0) -> List[_EventTuple]: ...
    @property
    def next_event_seq(self) -> int: ...
    @property
    def dropped_events(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def threshold(self) -> float: ...
    def __len__(self) -> int: ...

def encode_heartbeat(
    sender: str,
    sequence: int,
    sent_at: float,
    *,
    response_time: float = 0.0,
    success_rate: float = 1.0,
    task_completion_rate: float = 1.0,
    bandwidth_utilization: float = 0.0,
    cpu_usage: float = 0.0,
    memory_usage: float = 0.0,
) -> bytes:
    """Encodes a heartbeat envelope (the bytes a Rust or C node would send)."""

def decode_envelope(data: bytes) -> Dict[str, Any]:
    """Decodes one envelope; raises ``DecodeError`` for anything malformed."""
