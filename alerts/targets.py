"""Which hosts a webhook may reach: the SSRF guard of ``alerts.webhooks`` and of rule validation.

A webhook URL names a host; the host is resolved (``socket.getaddrinfo``) and every address it
resolves to must be public: loopback, private (RFC 1918, ULA), link-local (which holds the cloud
metadata service 169.254.169.254), shared (100.64/10, Alibaba's metadata 100.100.100.200),
multicast, reserved, documentation and unspecified (0.0.0.0, ::) addresses are refused, and so are
IPv6 forms carrying one of those IPv4 addresses (IPv4-mapped, NAT64, 6to4, Teredo) and the names
``localhost`` / ``*.localhost``. A self-hoster who needs internal receivers lists their networks in
``ALERTS_WEBHOOK_ALLOWED_NETWORKS`` (CIDRs; an address inside one is allowed whatever its kind).

The check runs twice: when a rule is saved (``webhook_url_check``; a name that does not resolve
yet is accepted there) and before every delivery attempt (``webhook_target_resolve``), whose result
names the one checked address the delivery then connects to, so a name that re-resolves elsewhere
between check and connect (DNS rebinding) cannot redirect it.
"""

import functools
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"http": 80, "https": 443}
# IPv4 ranges ipaddress.is_global does not refuse but a server-side request must not reach.
EXTRA_BLOCKED_V4 = (ipaddress.ip_network("100.64.0.0/10"),)  # shared address space (CGNAT, cloud metadata)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class WebhookTargetRefused(Exception):
    """The URL is malformed, names a refused host, or resolves to a refused address. ``reason`` is a
    fixed text that names no address (safe to store and to show the rule's owner)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookTargetUnresolved(Exception):
    """The host name does not resolve now (may be temporary)."""


@dataclass(frozen=True)
class WebhookTarget:
    """A checked webhook destination. ``ip``: the address to connect to (checked); ``host``: the name
    for the Host header and TLS (SNI and certificate); ``host_header``: host[:port] as sent;
    ``path``: path and query (at least "/")."""

    scheme: str
    host: str
    port: int
    ip: IPAddress
    host_header: str
    path: str


@functools.lru_cache(maxsize=8)
def _allowed_networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def allowed_networks() -> tuple[IPNetwork, ...]:
    """The networks of ``ALERTS_WEBHOOK_ALLOWED_NETWORKS``. Raises: ValueError for an entry that is no CIDR."""
    return _allowed_networks(tuple(settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS))


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_allowed(ip: IPAddress) -> bool:
    """True when a webhook may connect to ``ip``: inside an allowed network, or public (globally
    routable unicast, not a shared/metadata range, and no refused IPv4 address embedded in an IPv6 one)."""
    if any(ip in network for network in allowed_networks() if network.version == ip.version):
        return True
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return not any(ip in network for network in EXTRA_BLOCKED_V4)
    embedded = _embedded_v4(ip)
    return embedded is None or address_allowed(embedded)


def _split(url: str) -> tuple[str, str, int, str, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookTargetRefused("invalid URL") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".").lower()
    if scheme not in DEFAULT_PORTS or not host:
        raise WebhookTargetRefused("invalid URL: http(s) with a host is required")
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused("invalid URL: credentials in the URL are not allowed")
    port = port or DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, host_header, path


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal IP: itself). Raises: WebhookTargetUnresolved."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host == "localhost" or host.endswith(".localhost"):
        raise WebhookTargetRefused("host not allowed: loopback name")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookTargetUnresolved(host) from exc
    # A scope id (fe80::1%eth0) is dropped: link-local is refused either way.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise WebhookTargetUnresolved(host)
    return list(dict.fromkeys(addresses))


def _checked(addresses: list[IPAddress]) -> IPAddress:
    """The first address, when EVERY one is allowed (a name mixing public and internal addresses is refused:
    clients may pick either). Raises: WebhookTargetRefused."""
    if not all(address_allowed(ip) for ip in addresses):
        raise WebhookTargetRefused(
            "address not allowed: the host resolves to a loopback, private, link-local, multicast, "
            "metadata or unspecified address")
    return addresses[0]


def webhook_target_resolve(url: str) -> WebhookTarget:
    """Parse ``url``, resolve its host and check every address; return the target to connect to.

    Raises: WebhookTargetRefused (malformed URL, refused name or address: terminal);
    WebhookTargetUnresolved (the name does not resolve now: retryable).
    Source: the system resolver (its own timeouts, /etc/resolv.conf), once per call.
    """
    scheme, host, port, host_header, path = _split(url)
    ip = _checked(_resolve(host, port))
    return WebhookTarget(scheme=scheme, host=host, port=port, ip=ip, host_header=host_header, path=path)


def host_check(host: str, port: int) -> None:
    """Check one network host another sender (an Apprise destination) will connect to, like a webhook's: every
    address it resolves to must be allowed. Raises: WebhookTargetRefused; WebhookTargetUnresolved (does not
    resolve now). The sender resolves it again itself: unlike ``webhook_post``, the connection is not pinned to
    the checked address."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        raise WebhookTargetRefused("invalid URL: a host is required")
    _checked(_resolve(name, port))


def webhook_url_check(url: str) -> None:
    """Save-time check of a rule's webhook URL: as ``webhook_target_resolve``, but a name that does not
    resolve now is accepted (delivery checks it again before every attempt). Empty is accepted.
    Raises: WebhookTargetRefused."""
    if not url:
        return
    try:
        webhook_target_resolve(url)
    except WebhookTargetUnresolved:
        pass


def allowed_networks_check(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    """System check (``manage.py check``, run at start): every ALERTS_WEBHOOK_ALLOWED_NETWORKS entry is a
    CIDR (alerts.E001 otherwise), so a typo fails the start instead of every rule save."""
    try:
        allowed_networks()
    except ValueError as exc:
        return [Error(f"ALERTS_WEBHOOK_ALLOWED_NETWORKS: {exc}", id="alerts.E001")]
    return []
