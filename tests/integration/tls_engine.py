# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A second, empty dockerd in a sandbox host's network namespace, listening on TCP with TLS and
client-certificate auth, and the certificates for it (made here with ``cryptography``).

Certificates go to the host's run folder, which the host sees as /var/run/cw-tls: the modules, run on
the host over SSH, read them there. The server certificate names only ``SERVER_NAME`` (no IP), so
reaching the engine by address needs ``tls_hostname``.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox.hostctl import SYSTEM_PATH, terminate
from sandbox.model import Host
from sandbox.network import NETNS_DIR
from sandbox.probes import tcp_open
from sandbox.proc import wait_until

PORT = 2376
SERVER_NAME = 'cw-tls-engine.test'
_Key = ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: _Key, issuer: Optional[Tuple[x509.Certificate, _Key]], *, ca: bool = False,
                 server: bool = False, days: Tuple[int, int] = (-1, 30)) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now + datetime.timedelta(days=days[0]))
               .not_valid_after(now + datetime.timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _write(folder: Path, name: str, certificate: x509.Certificate, key: Optional[_Key] = None) -> None:
    (folder / ('%s.pem' % name)).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path = folder / ('%s-key.pem' % name)
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)


def make_certificates(folder: Path) -> None:
    """ca, server, client (signed by ca); other-ca; expired client and expired server (signed by ca, validity over)."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = {name: ec.generate_private_key(ec.SECP256R1())
            for name in ('ca', 'server', 'client', 'other-ca', 'expired', 'server-expired')}
    ca = _certificate('cw test CA', keys['ca'], None, ca=True)
    _write(folder, 'ca', ca)
    _write(folder, 'other-ca', _certificate('cw other CA', keys['other-ca'], None, ca=True))
    _write(folder, 'server', _certificate(SERVER_NAME, keys['server'], (ca, keys['ca']), server=True), keys['server'])
    _write(folder, 'client', _certificate('cw client', keys['client'], (ca, keys['ca'])), keys['client'])
    _write(folder, 'expired', _certificate('cw expired client', keys['expired'], (ca, keys['ca']), days=(-30, -1)),
           keys['expired'])
    _write(folder, 'server-expired', _certificate(SERVER_NAME, keys['server-expired'], (ca, keys['ca']), server=True,
                                                  days=(-30, -1)), keys['server-expired'])


def private_key_lines(folder: Path) -> List[str]:
    """The base64 lines of every private key made here: none may ever show up in a result or log."""
    lines = []
    for path in folder.glob('*-key.pem'):
        lines += [line for line in path.read_text(encoding='ascii').splitlines() if not line.startswith('-----')]
    return lines


@dataclass
class TLSEngine:
    """Where the TLS engine listens and where its certificates are, as the managed host sees them."""

    host: Host
    folder: Path
    port: int = PORT
    name: str = 'cw-tls'

    @property
    def url(self) -> str:
        """docker_host for the modules."""
        return 'tcp://%s:%d' % (self.host.address, self.port)

    def inside(self, name: str) -> str:
        """Path of a certificate file on the managed host."""
        return '/var/run/%s/%s' % (self.name, name)


def run_tls_engine(host: Host, server_cert: str = 'server', port: int = PORT, name: str = 'cw-tls') -> Iterator[TLSEngine]:
    """Start the engine (certificates first) with the server certificate ``server_cert``, yield it, stop it
    and remove its folders."""
    folder = host.run_dir / name
    data = Path(host.root) / (name + '-data')
    make_certificates(folder)
    (folder / 'daemon.json').write_text('{}\n', encoding='utf-8')
    path = '%s:%s' % (host.bin_dir, SYSTEM_PATH) if host.bin_dir else SYSTEM_PATH
    command = ['nsenter', '--net=%s' % (NETNS_DIR / host.netns), 'env', 'PATH=' + path, 'dockerd',
               '--config-file', str(folder / 'daemon.json'), '--data-root', str(data),
               '--exec-root', str(host.run_dir / (name + '-exec')), '--pidfile', str(host.run_dir / (name + '.pid')),
               '--bridge=none', '--iptables=false', '--ip-masq=false',
               '-H', 'tcp://%s:%d' % (host.address, port), '--tlsverify', '--tlscacert', str(folder / 'ca.pem'),
               '--tlscert', str(folder / ('%s.pem' % server_cert)), '--tlskey', str(folder / ('%s-key.pem' % server_cert))]
    engine = TLSEngine(host, folder, port, name)
    with open(Path(host.log_dir) / ('dockerd-%s.log' % name), 'ab') as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,  # pylint: disable=consider-using-with
                                   start_new_session=True)
    try:
        # dockerd opens its API listeners once the daemon is initialised.
        wait_until(lambda: process.poll() is None and tcp_open(host.address, port, 0.5), 60,
                   'the TLS engine of %s' % host.name, 0.5)
        yield engine
    finally:
        terminate([process.pid], 30.0)
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(host.run_dir / (name + '-exec'), ignore_errors=True)
