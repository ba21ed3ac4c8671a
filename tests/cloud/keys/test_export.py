"""``keys export-ca`` and ``keys export-crl``: the broker's cafile and crlfile written by the CLI (no jq on the
key file), public mode, replaced atomically; a database not migrated is an error, not an empty CRL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from cloud.cli import main
from cloud.keys.service import init_keys, keys_dir
from cloud.settings import DATABASE_URL_ENV


def test_export_ca_and_crl_write_what_the_broker_needs(db_url: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, db_url)
    data = tmp_path / "data"
    config = tmp_path / "cloud.toml"
    config.write_text(f'data_dir = "{data}"\n')
    keyring = init_keys(keys_dir(data), now=datetime.now(UTC))
    ca_out, crl_out = tmp_path / "broker" / "ca.pem", tmp_path / "broker" / "ca.crl"
    ca_out.parent.mkdir()

    assert main(["keys", "export-crl", "--config", str(config), "--out", str(crl_out)]) == 1
    assert "migrate" in capsys.readouterr().err and not crl_out.exists()

    assert main(["migrate", "--config", str(config)]) == 0
    assert main(["keys", "export-ca", "--config", str(config), "--out", str(ca_out)]) == 0
    assert main(["keys", "export-crl", "--config", str(config), "--out", str(crl_out)]) == 0
    assert ca_out.read_bytes() == keyring.ca_cert_pem
    assert ca_out.stat().st_mode & 0o777 == crl_out.stat().st_mode & 0o777 == 0o644
    ca = x509.load_pem_x509_certificate(ca_out.read_bytes())
    crl = x509.load_pem_x509_crl(crl_out.read_bytes())
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.issuer == ca.subject and len(list(crl)) == 0
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - datetime.now(UTC) < timedelta(days=1, minutes=1)
    assert sorted(p.name for p in crl_out.parent.iterdir()) == ["ca.crl", "ca.pem"]  # no temp file left

    capsys.readouterr()
    assert main(["keys", "export-ca", "--config", str(config)]) == 0  # stdout by default
    assert capsys.readouterr().out.encode() == keyring.ca_cert_pem
