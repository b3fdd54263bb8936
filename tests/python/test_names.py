"""Enum names come from the core: the binding parses with the core's
``FromStr`` and prints with its ``as_str``, so both use one spelling."""

from __future__ import annotations

import pytest

from credentials import credentials

from pouw_netops import InvalidArgumentError, Node, _native

T0 = 1_700_000_000.0


def test_unknown_names_are_refused_with_the_core_list():
    mesh = _native.MeshCore("me")
    mesh.join("me", now=T0)
    mesh.join("a", now=T0)
    with pytest.raises(InvalidArgumentError, match="wireguard, openvpn, ipsec") as info:
        mesh.establish("a", "WireGuard", T0)  # names are case-sensitive
    assert info.value.kind == "invalid_argument"
    assert mesh.establish("a", "openvpn", T0) == "connecting"
    crash = _native.CrashRecoveryCore()
    with pytest.raises(InvalidArgumentError, match="online, suspected, offline, recovering, failed"):
        crash.ids_with_status("online", "gone")
    with pytest.raises(InvalidArgumentError, match="automatic, restart, replace"):
        crash.initiate_recovery("n", "custom", T0)
    with pytest.raises(InvalidArgumentError, match="supervisor, worker"):
        Node("s1", "Supervisor", ["s1"], **credentials("s1", "supervisor"))


def test_printed_names_parse_back():
    mesh = _native.MeshCore("me")
    mesh.join("me", now=T0)
    for peer, protocol in [("a", "wireguard"), ("b", "openvpn"), ("c", "ipsec")]:
        mesh.join(peer, now=T0)
        mesh.establish(peer, protocol, T0)
    tunnels = mesh.tunnels()
    assert {t[2] for t in tunnels} == {"wireguard", "openvpn", "ipsec"}
    for a, b, protocol, state, *_ in tunnels:
        peer = b if a == "me" else a
        assert mesh.establish(peer, protocol, T0) == state, "the printed protocol parses back"
    crash = _native.CrashRecoveryCore()
    crash.heartbeat("n", T0)
    assert crash.ids_with_status(crash.status("n")) == ["n"]
