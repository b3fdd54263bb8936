"""Type stubs of the private native module ``pouw_netops._native`` (the Rust core's binding)."""

import asyncio
from typing import (
    AbstractSet,
    Any,
    ClassVar,
    Dict,
    List,
    Mapping,
    MutableMapping,
    MutableSequence,
    MutableSet,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    final,
)

from typing_extensions import Self, disjoint_base

from ._types import CompressedMessageBatch, CrashRecoveryEvent, LeaderElectionState, LeaderElectionVote, NodeStatus

__all__ = [
    "__version__",
    "CrashRecoveryCore",
    "CrashRecoveryManager",
    "Election",
    "HistoryCore",
    "LeaderElectionManager",
    "MessageHistoryCompressor",
    "MeshCore",
    "NetworkMessage",
    "NetworkOperationsManager",
    "NodeCore",
    "NodeHealthMetrics",
    "Noop",
    "PanicException",
    "PhiAccrualDetector",
    "VPNMeshTopologyManager",
    "WorkerCore",
    "WorkerReplacementManager",
    "_trigger_panic",
    "build_equivocation",
    "build_quorum_certificate",
    "decode_envelope",
    "decode_json",
    "decode_sealed",
    "encode_heartbeat",
    "encode_json",
    "error_classes",
    "identity_public_key",
    "inspect_certificate",
    "inspect_vote",
    "issue_certificate",
    "issue_revocations",
    "merkle_leaf_hash",
    "merkle_verify_consistency",
    "merkle_verify_inclusion",
    "merkle_verify_record",
    "sign_vote",
    "verify_certificate",
    "verify_equivocation",
    "verify_quorum_certificate",
    "wireguard_public_key",
]
__version__: str

def error_classes() -> List[Tuple[str, str]]:
    """Every core error kind's name with the name of the exception class it raises."""

class PanicException(BaseException):
    """A panic inside the native code, surfaced as an exception (pyo3's ``PanicException``)."""

def _trigger_panic() -> None:
    """Panics inside the core; for the test that proves a panic does not kill the interpreter."""

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
    def heartbeat(self, node_id: str, now: Optional[float] = None) -> None: ...
    def update_metrics(self, node_id: str, metrics: Any, now: Optional[float] = None) -> None: ...
    def detect_crashes(self, now: Optional[float] = None) -> List[str]: ...
    def initiate_recovery(self, node_id: str, strategy: str = "automatic", now: Optional[float] = None) -> bool: ...
    def set_status(self, node_id: str, status: str, now: Optional[float] = None) -> None: ...
    def configure(
        self,
        *,
        threshold: Optional[float] = None,
        acceptable_pause: Optional[float] = None,
        first_estimate: Optional[float] = None,
        max_sample_size: Optional[int] = None,
    ) -> None: ...
    @property
    def own_now(self) -> Optional[float]:
        """The manager's own time: the latest ``now`` given (by any method), ``None`` if never (the wall clock)."""
    @property
    def acceptable_pause(self) -> float: ...
    @property
    def first_estimate(self) -> float: ...
    @property
    def max_sample_size(self) -> int: ...
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

@disjoint_base
class CrashRecoveryManager:
    """The old API's crash detection, as a native class (``pouw_netops.CrashRecoveryManager`` is this class).

    A write that cannot take ``now`` (``failed_nodes.add(n)``, ``node_metrics[n] = m``, …)
    happens at the manager's own time: the latest ``now`` it was given, or
    ``time.time()`` if it was never given one.
    """

    node_id: str
    def __init__(self, node_id: str, failure_detector_threshold: float = 10.0) -> None: ...
    @property
    def failure_detector_threshold(self) -> float: ...
    @failure_detector_threshold.setter
    def failure_detector_threshold(self, value: float) -> None: ...
    @property
    def phi_threshold(self) -> float: ...
    @phi_threshold.setter
    def phi_threshold(self, value: float) -> None: ...
    @property
    def heartbeat_timeout(self) -> float: ...
    @heartbeat_timeout.setter
    def heartbeat_timeout(self, value: float) -> None: ...
    @property
    def heartbeat_interval(self) -> float: ...
    @heartbeat_interval.setter
    def heartbeat_interval(self, value: float) -> None: ...
    @property
    def sampling_window(self) -> int: ...
    @sampling_window.setter
    def sampling_window(self, value: int) -> None: ...
    def update_node_health(self, node_id: str, metrics: NodeHealthMetrics, *, now: Optional[float] = None) -> None: ...
    def detect_crashes(self, *, now: Optional[float] = None) -> List[str]: ...
    def initiate_recovery(
        self, node_id: str, recovery_strategy: str = "automatic", *, now: Optional[float] = None
    ) -> bool: ...
    def get_network_health_summary(self, *, now: Optional[float] = None) -> Dict[str, Any]: ...
    @property
    def node_metrics(self) -> MutableMapping[str, NodeHealthMetrics]: ...
    @node_metrics.setter
    def node_metrics(self, value: Dict[str, NodeHealthMetrics]) -> None: ...
    @property
    def suspected_nodes(self) -> MutableSet[str]: ...
    @suspected_nodes.setter
    def suspected_nodes(self, value: AbstractSet[str]) -> None: ...
    @property
    def failed_nodes(self) -> MutableSet[str]: ...
    @failed_nodes.setter
    def failed_nodes(self, value: AbstractSet[str]) -> None: ...
    @property
    def recovering_nodes(self) -> MutableSet[str]: ...
    @recovering_nodes.setter
    def recovering_nodes(self, value: AbstractSet[str]) -> None: ...
    @property
    def last_heartbeats(self) -> Dict[str, float]: ...
    @property
    def recovery_events(self) -> List[CrashRecoveryEvent]: ...
    def heartbeat(self, node_id: str, *, now: Optional[float] = None) -> None: ...
    def status(self, node_id: str) -> NodeStatus: ...
    def phi(self, node_id: str, *, now: Optional[float] = None) -> float: ...
    def is_node_healthy(self, node_id: str, *, now: Optional[float] = None) -> bool: ...
    def remove_node(self, node_id: str) -> None: ...
    def events(self, since: int = 0) -> List[CrashRecoveryEvent]: ...
    @property
    def next_event_seq(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def _core(self) -> CrashRecoveryCore: ...
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

def encode_json(data: Any) -> bytes:
    """``json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()``, written in Rust."""

def decode_json(data: bytes) -> Any:
    """``json.loads(data)``, parsed in Rust (unusual input goes to ``json.loads``)."""

def merkle_leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: an RFC 9162 leaf hash."""

def merkle_verify_inclusion(leaf: bytes, index: int, size: int, path: bytes, root: bytes) -> None:
    """Checks an RFC 9162 inclusion path; ``DecodeError`` if it fails."""

def merkle_verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: bytes) -> None:
    """Checks an RFC 9162 consistency proof; ``DecodeError`` if it fails."""

def merkle_verify_record(proof: bytes, record: bytes, log_root: bytes) -> None:
    """Checks an encoded message inclusion proof for a record's canonical bytes; ``DecodeError`` if it fails."""

def decode_envelope(data: bytes) -> Dict[str, Any]:
    """Decodes one v1 envelope; raises ``DecodeError`` for anything malformed."""

def decode_sealed(data: bytes) -> Dict[str, Any]:
    """Splits one authenticated (v2) envelope into header and body fields, verifying nothing."""

def identity_public_key(seed: bytes) -> bytes:
    """The public key of the identity key with 32-byte ``seed``."""

def wireguard_public_key(private_key: bytes) -> bytes:
    """The WireGuard public key of the 32-byte WireGuard ``private_key``."""

def issue_certificate(
    authority: bytes,
    node_id: str,
    role: str,
    identity: bytes,
    *,
    wg_key: Optional[bytes],
    slots: int,
    pools: List[str],
    endpoints: List[str],
    serial: int,
    not_before: int,
    not_after: int,
) -> bytes:
    """A certificate signed by the authority key with seed ``authority``, encoded."""

def issue_revocations(authority: bytes, sequence: int, entries: List[Tuple[str, Optional[int]]]) -> bytes:
    """A revocation list signed by the authority key with seed ``authority``, encoded."""

def inspect_certificate(
    data: bytes,
) -> Tuple[str, str, bytes, bytes, List[str], int, List[str], int, int, int]:
    """A certificate's fields, decoded, not verified."""

def verify_certificate(
    data: bytes,
    authority: bytes,
    unix_now: int,
    role: Optional[str] = None,
    node_id: Optional[str] = None,
) -> Tuple[str, str, bytes, bytes, List[str], int, List[str], int, int, int]:
    """A certificate's fields, if signed by ``authority`` and valid at ``unix_now``."""

def sign_vote(seed: bytes, authority: bytes, kind: str, term: int, candidate: str, voter: str) -> bytes:
    """A signed vote (or pre-vote grant) by the identity key ``seed``, encoded."""

def inspect_vote(data: bytes) -> Tuple[str, int, str, str]:
    """A signed vote's ``(kind, term, candidate, voter)``, decoded, not verified."""

def build_quorum_certificate(votes: List[bytes], authority: bytes, voters: List[Tuple[str, bytes]], quorum: int) -> bytes:
    """The quorum certificate of verified ``votes`` among ``voters``, encoded."""

def verify_quorum_certificate(
    data: bytes, authority: bytes, voters: List[Tuple[str, bytes]], quorum: int
) -> Tuple[str, int, str, List[str], bytes]:
    """A verified certificate's ``(kind, term, candidate, signers, digest)``."""

def build_equivocation(first: bytes, second: bytes) -> bytes:
    """The canonical equivocation record of two signed votes, encoded."""

def verify_equivocation(data: bytes, authority: bytes, voter_key: bytes) -> Tuple[str, int, str, str]:
    """A verified equivocation record's ``(voter, term, first candidate, second candidate)``."""

@final
class Election:
    """One node's Raft leader election (PreVote and CheckQuorum as in etcd), sans-IO; times in seconds."""

    def __new__(
        cls,
        node_id: str,
        voters: List[str],
        *,
        election_timeout: float = 1.0,
        heartbeat_interval: float = 0.1,
        pre_vote: bool = True,
        check_quorum: bool = True,
        seed: int = 0,
        now: Optional[float] = None,
    ) -> Election: ...
    def tick(self, now: float) -> None:
        """Advances the timers to ``now`` (campaigns on timeout, leader heartbeats, quorum check)."""
    def campaign(self, now: float) -> None:
        """Starts a campaign now: a pre-vote round when ``pre_vote`` is on, else a real election; a no-op on the leader."""
    def step(self, now: float, data: bytes) -> None:
        """Handles one encoded message from another voter."""
    def poll_transmit(self) -> Optional[Tuple[Optional[str], bytes]]:
        """The next ``(destination or None for every other voter, bytes)`` to send, or ``None``."""
    def hard_state(self) -> Tuple[int, Optional[str]]:
        """``(term, voted_for)`` to persist; reading it releases the messages that waited for it."""
    def poll_timeout(self) -> Optional[float]:
        """When ``tick`` must next be called, in seconds; ``None`` before the timer started."""
    def set_randomized_election_timeout(self, seconds: float) -> None:
        """Overrides the drawn election timeout (a test hook)."""
    @property
    def role(self) -> str: ...
    @property
    def term(self) -> int: ...
    @property
    def voted_for(self) -> Optional[str]: ...
    @property
    def leader_id(self) -> Optional[str]: ...
    @property
    def node_id(self) -> str: ...
    @property
    def voters(self) -> List[str]: ...
    @property
    def election_timeout(self) -> float: ...
    @property
    def heartbeat_interval(self) -> float: ...
    @property
    def dropped_transmits(self) -> int: ...
    def start_election(self, now: Optional[float] = None) -> int:
        """Starts a real election at once (no pre-vote); returns the new term."""
    def request_vote(self, candidate: str, term: int, now: Optional[float] = None) -> bool:
        """Handles a vote request; whether the vote is granted."""
    def receive_vote_response(self, voter: str, granted: bool, now: Optional[float] = None) -> bool:
        """Counts an answer to the current campaign; whether this node just became leader."""
    def receive_heartbeat(self, leader: str, term: int, now: Optional[float] = None) -> bool:
        """Handles a leader's heartbeat; whether it was accepted."""
    def check_election_timeout(self, now: Optional[float] = None) -> bool:
        """Runs the timers; whether a campaign started because the timeout passed."""
    def step_down(self, now: Optional[float] = None) -> None:
        """Gives up leadership (or a campaign)."""
    def discard_output(self) -> int:
        """Drops every queued message and the pending hard-state mark; how many messages were dropped."""
    def set_timing(self, election_timeout: float, heartbeat_interval: float, now: Optional[float] = None) -> None:
        """Changes the election timeout and heartbeat interval of the running election."""
    def api_start_election(self, now: Optional[float] = None) -> bool: ...
    def api_request_vote(self, candidate_id: str, candidate_term: int, now: Optional[float] = None) -> bool: ...
    def api_receive_vote_response(self, voter_id: str, granted: bool, now: Optional[float] = None) -> bool: ...
    def api_receive_heartbeat(self, leader_id: str, leader_term: int, now: Optional[float] = None) -> bool: ...
    def api_check_election_timeout(self, now: Optional[float] = None) -> bool: ...
    def api_election_timed_out(self, now: Optional[float] = None) -> bool: ...
    def api_step_down(self, now: Optional[float] = None) -> None: ...
    def api_heartbeat(self, now: Optional[float] = None) -> bool: ...
    def status(self, now: Optional[float] = None) -> Dict[str, Any]:
        """A status snapshot (the old API's ``get_election_status`` keys)."""
    def vote_history(self) -> List[Tuple[str, str, int, float]]:
        """Granted votes, oldest first, as ``(voter, candidate, term, timestamp)``."""

@disjoint_base
class LeaderElectionManager:
    """The old API's Raft leader election, as a native class (``pouw_netops.LeaderElectionManager`` is this class).

    Assigning ``election_timeout`` or ``heartbeat_interval``, which cannot take
    ``now``, happens at the manager's own time: the latest ``now`` it was given
    (the constructor's included), or ``time.time()`` if it was never given one.
    """

    node_id: str
    supervisor_nodes: List[str]
    def __init__(
        self,
        node_id: str,
        supervisor_nodes: Sequence[str],
        *,
        election_timeout: float = 5.0,
        heartbeat_interval: float = 1.0,
        now: Optional[float] = None,
    ) -> None: ...
    def start_election(self, *, now: Optional[float] = None) -> bool: ...
    def request_vote(self, candidate_id: str, candidate_term: int, *, now: Optional[float] = None) -> bool: ...
    def receive_vote_response(self, voter_id: str, granted: bool, *, now: Optional[float] = None) -> bool: ...
    def receive_heartbeat(self, leader_id: str, leader_term: int, *, now: Optional[float] = None) -> bool: ...
    def check_election_timeout(self, *, now: Optional[float] = None) -> bool: ...
    def step_down(self, *, now: Optional[float] = None) -> None: ...
    def heartbeat(self, *, now: Optional[float] = None) -> bool: ...
    def get_election_status(self, *, now: Optional[float] = None) -> Dict[str, Any]: ...
    @property
    def state(self) -> LeaderElectionState: ...
    @property
    def current_term(self) -> int: ...
    @property
    def voted_for(self) -> Optional[str]: ...
    @property
    def leader_id(self) -> Optional[str]: ...
    @property
    def received_votes(self) -> Set[str]: ...
    @property
    def vote_history(self) -> List[LeaderElectionVote]: ...
    @property
    def election_timeout(self) -> float: ...
    @election_timeout.setter
    def election_timeout(self, value: float) -> None: ...
    @property
    def heartbeat_interval(self) -> float: ...
    @heartbeat_interval.setter
    def heartbeat_interval(self, value: float) -> None: ...
    @property
    def is_leader_active(self) -> bool: ...

_TaskTuple = Tuple[str, str, List[str], List[str]]

@final
class WorkerCore:
    """The core's worker-replacement manager at host scale (4096 workers and tasks)."""

    def __new__(cls) -> WorkerCore: ...
    def register_pool(self, task_type: str, workers: List[str]) -> None: ...
    def add_worker(self, task_type: str, worker: str) -> bool: ...
    def remove_worker(self, task_type: str, worker: str) -> None: ...
    def remove_pool(self, task_type: str) -> int: ...
    def pool(self, task_type: str) -> Optional[List[str]]: ...
    def primary_tasks(self, worker: str) -> List[str]: ...
    def task(self, task_id: str) -> Optional[Tuple[str, List[str], List[str]]]: ...
    def available(self, task_type: str) -> int: ...
    def assign(
        self, task_id: str, task_type: str, required: int, backups: int = 2, now: Optional[float] = None
    ) -> Tuple[List[str], List[str]]: ...
    def replace(self, failed: str, task_id: str, now: Optional[float] = None) -> Optional[str]: ...
    def release(self, task_id: str) -> int: ...
    def recover(self, worker: str, now: Optional[float] = None) -> int: ...
    def pools(self) -> List[Tuple[str, List[str]]]: ...
    def tasks(self) -> List[_TaskTuple]: ...
    def history(self) -> List[Tuple[float, str, str, Optional[str], int]]: ...
    def utilization(self, now: Optional[float] = None) -> Dict[str, Any]: ...

@disjoint_base
class WorkerReplacementManager:
    """The old API's worker pools and failover, as a native class (``pouw_netops.WorkerReplacementManager`` is this class)."""

    node_id: str
    def __init__(self, node_id: str) -> None: ...
    def register_worker_pool(self, task_type: str, worker_ids: Sequence[str]) -> None: ...
    def assign_workers_to_task(
        self,
        task_id: str,
        task_type: str,
        required_workers: int,
        backup_workers: int = 2,
        *,
        now: Optional[float] = None,
    ) -> Tuple[List[str], List[str]]: ...
    def replace_failed_worker(self, failed_worker_id: str, task_id: str, *, now: Optional[float] = None) -> Optional[str]: ...
    def release_task_workers(self, task_id: str) -> None: ...
    def get_worker_utilization_stats(self, *, now: Optional[float] = None) -> Dict[str, Any]: ...
    @property
    def worker_pools(self) -> MutableMapping[str, MutableSequence[str]]: ...
    @worker_pools.setter
    def worker_pools(self, value: Mapping[str, Sequence[str]]) -> None: ...
    @property
    def worker_assignments(self) -> Mapping[str, str]: ...
    @worker_assignments.setter
    def worker_assignments(self, value: Any) -> None: ...
    @property
    def backup_workers(self) -> Mapping[str, List[str]]: ...
    @backup_workers.setter
    def backup_workers(self, value: Any) -> None: ...
    @property
    def replacement_history(self) -> Sequence[Dict[str, Any]]: ...
    @replacement_history.setter
    def replacement_history(self, value: Any) -> None: ...
    def recover_worker(self, worker_id: str, *, now: Optional[float] = None) -> int: ...
    def task_workers(self, task_id: str) -> Optional[Tuple[List[str], List[str]]]: ...

_BatchTuple = Tuple[int, float, float, int, int, bytes, bytes]
_RecordTuple = Tuple[float, str, str, bytes]

@final
class HistoryCore:
    """The core's message history at host scale (1024 batches in memory, 256 archived)."""

    def __new__(cls, compression_threshold: int = 1000, compression_level: int = 6) -> HistoryCore: ...
    @property
    def compression_threshold(self) -> int: ...
    @compression_threshold.setter
    def compression_threshold(self, threshold: int) -> None: ...
    def add(
        self, sender: str, message_type: str, timestamp: float, payload: bytes, now: Optional[float] = None
    ) -> Optional[int]: ...
    def add_data(
        self, sender: str, message_type: str, timestamp: float, data: Any, now: Optional[float] = None
    ) -> Optional[int]: ...
    def add_message(self, message: Any, now: Optional[float] = None) -> Optional[int]: ...
    def compress(self, now: Optional[float] = None) -> Optional[_BatchTuple]: ...
    @property
    def own_now(self) -> Optional[float]:
        """The manager's own time: the latest ``now`` given (by any method), ``None`` if never (the wall clock)."""
    def batches(self) -> List[_BatchTuple]: ...
    def poll_archived(self) -> Optional[_BatchTuple]: ...
    def search(
        self, start: float, end: float, message_type: Optional[str] = None, sender: Optional[str] = None
    ) -> List[_RecordTuple]: ...
    @staticmethod
    def decode_batch(data: bytes) -> List[_RecordTuple]: ...
    def search_dicts(
        self, start: float, end: float, message_type: Optional[str] = None, sender: Optional[str] = None
    ) -> List[Dict[str, Any]]: ...
    @staticmethod
    def decode_batch_dicts(data: bytes) -> List[Dict[str, Any]]: ...
    def log_root(self) -> bytes: ...
    def log_size(self) -> int: ...
    def log_root_at(self, size: int) -> bytes: ...
    def inclusion_proof(self, batch_id: int, index: int) -> bytes: ...
    def inclusion_proof_for(self, batch: bytes, index: int) -> bytes: ...
    def consistency_proof(self, first: int) -> bytes: ...
    @staticmethod
    def record_bytes(sender: str, message_type: str, timestamp: float, payload: bytes) -> bytes: ...
    def stats(self) -> Dict[str, Any]: ...
    def buffer(self) -> List[_RecordTuple]: ...
    def buffer_dicts(self) -> List[Dict[str, Any]]: ...
    def __len__(self) -> int: ...

@disjoint_base
class MessageHistoryCompressor:
    """The old API's message history, as a native class (``pouw_netops.MessageHistoryCompressor`` is this class).

    ``message_buffer.append(m)``, which cannot take ``now``, happens at the
    manager's own time: the latest ``now`` it was given, or ``time.time()`` if
    it was never given one.
    """

    node_id: str
    archive_threshold: int
    def __init__(
        self,
        node_id: str,
        compression_threshold: int = 1000,
        max_batch_size: int = 10000,
        *,
        compression_level: int = 6,
    ) -> None: ...
    @property
    def compression_threshold(self) -> int: ...
    @compression_threshold.setter
    def compression_threshold(self, value: int) -> None: ...
    @property
    def max_batch_size(self) -> int: ...
    @max_batch_size.setter
    def max_batch_size(self, value: int) -> None: ...
    def add_message(self, message: NetworkMessage, *, now: Optional[float] = None) -> None: ...
    def compress_message_batch(self, *, now: Optional[float] = None) -> Optional[CompressedMessageBatch]: ...
    def decompress_batch(self, batch: CompressedMessageBatch) -> List[Dict[str, Any]]: ...
    def search_messages(
        self,
        start_time: float,
        end_time: float,
        message_type: Optional[str] = None,
        sender_id: Optional[str] = None,
    ) -> List[Dict[str, Any]]: ...
    def get_compression_stats(self) -> Dict[str, Any]: ...
    @property
    def message_buffer(self) -> Sequence[Dict[str, Any]]: ...
    @property
    def compressed_batches(self) -> Sequence[CompressedMessageBatch]: ...
    def poll_archived(self) -> Optional[CompressedMessageBatch]: ...
    def log_root(self) -> bytes: ...
    def log_size(self) -> int: ...
    def log_root_at(self, size: int) -> bytes: ...
    def inclusion_proof(self, batch: Union[int, CompressedMessageBatch], index: int) -> bytes: ...
    def consistency_proof(self, first: int) -> bytes: ...

_MeshNodeTuple = Tuple[str, str, str, str, List[str], float]
_TunnelTuple = Tuple[str, str, str, str, Optional[float], Optional[float], int, int, int]
_RouteTuple = Tuple[str, Optional[str], Optional[float], int]

@final
class MeshCore:
    """The core's VPN mesh at host scale (4096 nodes, 32,768 links)."""

    def __new__(cls, node_id: str, cidr: str = "10.0.0.0/16") -> MeshCore: ...
    def join(
        self,
        node_id: str,
        public_key: Optional[str] = None,
        endpoint: Optional[str] = None,
        capabilities: List[str] = ...,
        virtual_ip: Optional[str] = None,
        now: Optional[float] = None,
    ) -> str: ...
    def leave(self, node_id: str, now: Optional[float] = None) -> bool: ...
    def establish(self, remote: str, protocol: str = "wireguard", now: Optional[float] = None) -> str: ...
    def record_handshake(self, peer: str, now: Optional[float] = None) -> str: ...
    def record_latest_handshakes(self, text: str, unix_now: int, now: Optional[float] = None) -> Dict[str, int]: ...
    def render_dot(self, now: Optional[float] = None) -> str: ...
    def record_latency(self, peer: str, rtt: float, now: Optional[float] = None) -> float: ...
    def record_link(self, a: str, b: str, latency: float, up: bool = True, now: Optional[float] = None) -> None: ...
    def monitor(self, now: Optional[float] = None) -> Dict[str, Any]: ...
    def nodes(self) -> List[_MeshNodeTuple]: ...
    def tunnels(self) -> List[_TunnelTuple]: ...
    def routes(self, now: Optional[float] = None) -> List[_RouteTuple]: ...
    def path(self, dest: str, now: Optional[float] = None) -> Optional[List[str]]: ...
    def next_hop(self, dest: str, now: Optional[float] = None) -> Optional[Tuple[str, float]]: ...
    def render_wireguard(
        self,
        private_key: Optional[str] = None,
        listen_port: Optional[int] = 51820,
        now: Optional[float] = None,
        format: str = "wg-quick",
        placeholder_keys: bool = False,
    ) -> str: ...
    def topology(self, now: Optional[float] = None) -> Dict[str, Any]: ...
    @property
    def own_now(self) -> Optional[float]:
        """The manager's own time: the latest ``now`` given (by any method), ``None`` if never (the wall clock)."""
    @property
    def node_id(self) -> str: ...
    @property
    def cidr(self) -> str: ...
    def __contains__(self, node_id: str) -> bool: ...
    def __len__(self) -> int: ...

@disjoint_base
class VPNMeshTopologyManager:
    """The old API's VPN mesh, as a native class (``pouw_netops.VPNMeshTopologyManager`` is this class).

    What cannot take ``now`` (``mesh_nodes[n] = info``, ``del mesh_nodes[n]``,
    reading ``routing_table``, ``render_wireguard``) happens at the manager's
    own time: the latest ``now`` it was given, or ``time.time()`` if it was
    never given one.
    """

    node_id: str
    network_cidr: str
    encryption_enabled: bool
    tunnel_protocols: List[str]
    preferred_protocol: str
    def __init__(self, node_id: str, network_cidr: str = "10.0.0.0/16") -> None: ...
    def join_mesh(self, node_info: Dict[str, Any], *, now: Optional[float] = None) -> str: ...
    def leave_mesh(self, node_id: str, *, now: Optional[float] = None) -> bool: ...
    def establish_tunnel(
        self, remote_node_id: str, protocol: Optional[str] = None, *, now: Optional[float] = None
    ) -> bool: ...
    def monitor_tunnel_health(self, *, now: Optional[float] = None) -> Dict[str, Any]: ...
    def get_mesh_topology(self, *, now: Optional[float] = None) -> Dict[str, Any]: ...
    @property
    def mesh_nodes(self) -> Mapping[str, Dict[str, Any]]: ...
    @property
    def virtual_ips(self) -> Mapping[str, str]: ...
    @property
    def routing_table(self) -> Mapping[str, Optional[str]]: ...
    @property
    def tunnels(self) -> Mapping[str, Dict[str, Any]]: ...
    def record_link(self, a: str, b: str, latency_seconds: float, *, up: bool = True, now: Optional[float] = None) -> None: ...
    def record_handshake(self, peer: str, *, now: Optional[float] = None) -> str: ...
    def record_latest_handshakes(self, text: str, unix_now: int, *, now: Optional[float] = None) -> Dict[str, int]: ...
    def to_dot(self, *, now: Optional[float] = None) -> str: ...
    def record_latency(self, peer: str, rtt_seconds: float, *, now: Optional[float] = None) -> float: ...
    def route(self, dest: str, *, now: Optional[float] = None) -> Optional[List[str]]: ...
    def next_hop(self, dest: str, *, now: Optional[float] = None) -> Optional[str]: ...
    def route_cost(self, dest: str, *, now: Optional[float] = None) -> Optional[float]: ...
    def render_wireguard(
        self,
        private_key: Optional[str] = None,
        listen_port: Optional[int] = 51820,
        format: str = "wg-quick",
        placeholder_keys: bool = False,
    ) -> str: ...
    @property
    def _core(self) -> MeshCore: ...
    def __len__(self) -> int: ...

@final
class NodeCore:
    """One node's network operations (the core coordinator), sans-IO; times in seconds."""

    def __new__(
        cls,
        node_id: str,
        role: str,
        supervisors: List[str],
        *,
        identity: bytes,
        certificate: bytes,
        authority: bytes,
        epoch: int,
        unix_at_zero: int,
        seed: int = 0,
        config: Optional[Dict[str, Any]] = None,
    ) -> NodeCore: ...
    def start(self, now: float) -> None:
        """Starts (or restarts) at ``now``."""
    def stop(self, now: float) -> None:
        """Stops gracefully at ``now``."""
    def handle_message(self, now: float, data: bytes) -> None:
        """Handles one received datagram."""
    def tick(self, now: float) -> None:
        """Runs every timer due at ``now``."""
    def submit_task(self, now: float, task_id: str, task_type: str, required: int, backups: int = 2) -> None:
        """(Supervisor) adds a task."""
    def report_checkpoint(self, now: float, task_id: str, sequence: int, digest: Optional[bytes] = None) -> None:
        """(Worker) reports progress on a task it is primary of."""
    def poll_hard_state(self) -> Optional[Tuple[int, Optional[str]]]:
        """``(term, voted_for)`` to persist, when it changed."""
    def restore_hard_state(self, term: int, voted_for: Optional[str] = None) -> None:
        """Restores a persisted hard state (applies at the next ``start``)."""
    def poll_transmit(self) -> Optional[Tuple[str, bytes]]:
        """The next ``(node_id, bytes)``: every message is sealed for one node."""
    def apply_revocations(self, data: bytes) -> int:
        """Takes a newer revocation list; returns how many members it removed."""
    def certificate(self) -> Tuple[str, str, bytes, bytes, List[str], int, List[str], int, int, int]:
        """This node's certificate's fields."""
    def members(self) -> List[Tuple[str, str, bytes, bytes, List[str], int, List[str], int, int, int]]:
        """The admitted members' certificates' fields."""
    def render_wireguard(
        self,
        private_key: Union[bytes, str],
        *,
        listen_port: Optional[int] = None,
        format: str = "wg-quick",
        placeholder_keys: bool = False,
    ) -> str:
        """This node's WireGuard configuration, with its private key."""
    def set_endpoint(self, endpoint: str) -> None:
        """This node moved to tunnel ``endpoint``; peers take it from a signed record."""
    def record_latest_handshakes(self, now: float, unix_now: int, text: str) -> Dict[str, int]:
        """What ``wg show <if> latest-handshakes`` printed; counts of what it held."""
    def peer_rtt(self, peer: str) -> Optional[Tuple[float, float]]:
        """The smoothed round-trip time to ``peer`` and its variation, in seconds."""
    def poll_event(self) -> Optional[Tuple[str, float, str, Dict[str, Any]]]:
        """The next event as ``(kind, at, node, details)``."""
    def poll_archived(self) -> Optional[bytes]:
        """The next archived history batch as bytes, or ``None``."""
    def poll_timeout(self) -> Optional[float]:
        """When ``tick`` must next be called; ``None`` when stopped."""
    @property
    def node_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def is_running(self) -> bool: ...
    @property
    def is_leader(self) -> bool: ...
    @property
    def leader_id(self) -> Optional[str]: ...
    def tasks(self) -> List[Tuple[str, str, int, int, Optional[int]]]:
        """The task table."""
    def held_tasks(self) -> List[Tuple[str, str, str, str]]:
        """The roles this worker holds."""
    def task_workers(self, task_id: str) -> Optional[Tuple[List[str], List[str]]]:
        """(Leader) primaries and backups of a task."""
    def status(self, now: float) -> Dict[str, Any]:
        """A status snapshot at ``now``."""

@disjoint_base
class NetworkOperationsManager:
    """The old API's coordinator of the five managers, as a native class (``pouw_netops.NetworkOperationsManager`` is this class)."""

    node_id: str
    role: str
    supervisor_nodes: List[str]
    tick_interval: float
    crash_recovery: CrashRecoveryManager
    worker_replacement: WorkerReplacementManager
    message_compressor: MessageHistoryCompressor
    vpn_mesh: VPNMeshTopologyManager
    leader_election: Optional[LeaderElectionManager]
    is_running: bool
    ticks: int
    _task: Optional[asyncio.Task[None]]
    def __init__(
        self,
        node_id: str,
        role: str,
        supervisor_nodes: Optional[List[str]] = None,
        *,
        tick_interval: float = 1.0,
    ) -> None: ...
    def tick(self, *, now: Optional[float] = None) -> None: ...
    def handle_node_crash(self, crashed_node_id: str, *, now: Optional[float] = None) -> None: ...
    async def _run(self) -> None: ...
    async def start_operations(self) -> None: ...
    async def stop_operations(self) -> None: ...
    def get_network_status(self) -> Dict[str, Any]:
        """The old API's report; each manager reports at its own time (the latest ``now`` it was given)."""


@final
class Noop:
    """A native method that does nothing: the benchmarks' floor."""

    def __new__(cls) -> Noop: ...
    def call(self, a: object, b: object = None, now: Optional[float] = None) -> bool: ...

@disjoint_base
class NodeHealthMetrics:
    """The old API's health figures, as a native class (``pouw_netops.NodeHealthMetrics`` is this class)."""

    __match_args__: ClassVar[Tuple[str, ...]]

    node_id: str
    last_heartbeat: float
    response_time: float
    success_rate: float
    task_completion_rate: float
    bandwidth_utilization: float
    cpu_usage: float
    memory_usage: float
    status: Any
    def __new__(
        cls,
        node_id: str,
        last_heartbeat: float,
        response_time: float,
        success_rate: float,
        task_completion_rate: float,
        bandwidth_utilization: float,
        cpu_usage: float,
        memory_usage: float,
        status: Any = None,
    ) -> Self: ...
    def is_healthy(self, now: Optional[float] = None) -> bool: ...
    def __reduce__(self) -> Tuple[type, Tuple[Any, ...]]: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __lt__(self, other: object) -> bool: ...
    def __le__(self, other: object) -> bool: ...
    def __gt__(self, other: object) -> bool: ...
    def __ge__(self, other: object) -> bool: ...

@disjoint_base
class NetworkMessage:
    """The old API's message, as a native class (``pouw_netops.NetworkMessage`` is this class)."""

    __match_args__: ClassVar[Tuple[str, ...]]

    msg_type: str
    sender_id: str
    timestamp: float
    data: Dict[str, Any]
    def __new__(
        cls, msg_type: str, sender_id: str, timestamp: Optional[float] = None, data: Optional[Dict[str, Any]] = None
    ) -> Self: ...
    def __reduce__(self) -> Tuple[type, Tuple[Any, ...]]: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __lt__(self, other: object) -> bool: ...
    def __le__(self, other: object) -> bool: ...
    def __gt__(self, other: object) -> bool: ...
    def __ge__(self, other: object) -> bool: ...
