"""Command-line and environment settings of the web app, checked before anything starts."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from audio.io import DEFAULT_MAX_SECONDS
from db.session import sqlite_url

PASSWORD_FILE = "admin_password.txt"
REPO_CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"


class StartupError(RuntimeError):
    """The app cannot start; the message is the one line printed before exiting."""


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know at start."""

    host: str = "127.0.0.1"
    port: int = 7860
    data_dir: Path = Path("data")
    db_url: str | None = None
    seed_demo: bool = True
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_upload_mb: int = 500
    #: below this much free space in the data folder, /api/health says "low_disk"
    min_free_mb: int = 1024
    checkpoints_dir: Path = REPO_CHECKPOINTS
    #: the address raters reach the app at (behind a proxy or tunnel); None: as requested
    public_url: str | None = None

    @property
    def database_url(self) -> str:
        return self.db_url or sqlite_url(self.data_dir / "workbench.db")

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"


def parse_settings(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m webapp",
        description="Speech enhancement and quality workbench: web app and JSON API.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("APP_DATA_DIR",
                        "data")), help="folder for the database, audio store and password "
                                       "(default ./data, or APP_DATA_DIR)")
    parser.add_argument("--db-url", default=os.environ.get("APP_DB_URL"),
                        help="SQLAlchemy database URL (default: SQLite in the data folder; "
                             "or APP_DB_URL)")
    parser.add_argument("--no-demo", action="store_true",
                        help="do not seed the demo set into an empty database")
    parser.add_argument("--max-duration", type=float, default=DEFAULT_MAX_SECONDS,
                        help="longest clip accepted, in seconds (default %(default)s)")
    parser.add_argument("--max-upload-mb", type=int, default=500,
                        help="largest upload or admin request body, in MB (default "
                             "%(default)s); rater calls are capped at 16 KB")
    parser.add_argument("--min-free-mb", type=int, default=1024,
                        help="free space in the data folder below which /api/health reports "
                             "low_disk (default %(default)s)")
    parser.add_argument("--checkpoints-dir", type=Path, default=REPO_CHECKPOINTS,
                        help="folder whose SE checkpoints (*.pt) are offered as systems "
                             "(default: the shipped ./checkpoints)")
    parser.add_argument("--public-url", type=_public_url,
                        default=os.environ.get("APP_PUBLIC_URL") or None,
                        help="address raters reach the app at, such as https://rate.example.org "
                             "(behind a proxy or tunnel); the rater links the app shows start "
                             "with it (default: the address the admin page was opened at; "
                             "or APP_PUBLIC_URL)")
    args = parser.parse_args(argv)
    if args.public_url is not None:
        try:
            args.public_url = _public_url(args.public_url)
        except argparse.ArgumentTypeError as exc:  # from APP_PUBLIC_URL
            parser.error(f"APP_PUBLIC_URL: {exc}")
    return Settings(host=args.host, port=args.port, data_dir=args.data_dir.expanduser(),
                    db_url=args.db_url or None, seed_demo=not args.no_demo,
                    max_seconds=args.max_duration, max_upload_mb=args.max_upload_mb,
                    min_free_mb=args.min_free_mb,
                    checkpoints_dir=args.checkpoints_dir.expanduser(),
                    public_url=args.public_url)


def _public_url(value: str) -> str:
    """An http(s) URL with a host and nothing after the path, without the trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a public address such as https://rate.example.org")
    return value.strip().rstrip("/")


def rater_base_url(settings: Settings, request_base_url: object | None) -> str:
    """Where rater links point: ``--public-url`` when set, else the address of the request
    (what the admin typed in the browser, often 127.0.0.1)."""
    if settings.public_url:
        return settings.public_url
    return str(request_base_url).rstrip("/") if request_base_url else ""


def loopback_warning(url: str) -> str:
    """A one-line warning when ``url`` points at this machine only (no crowd worker can
    reach 127.0.0.1 or localhost), else an empty string."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if not loopback:
        return ""
    return (f"Warning: the rater link points at {host}, which only this computer can reach; "
            f"start the app with --public-url (or APP_PUBLIC_URL) set to the address raters "
            f"use.")


def prepare_data_dir(data_dir: Path) -> Path:
    """Create the data folder if needed and prove that it is writable."""
    data_dir = Path(data_dir).expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise StartupError(f"data folder {data_dir} cannot be created or written: "
                           f"{exc.strerror or exc}") from exc
    return data_dir


def admin_password(data_dir: Path) -> tuple[str, bool]:
    """The admin password: APP_ADMIN_PASSWORD, else the one stored in the data folder, else a
    new one stored there (owner-readable only).

    Returns:
        the password and whether it was generated just now (so it is printed once).
    """
    from_env = os.environ.get("APP_ADMIN_PASSWORD", "").strip()
    if from_env:
        return from_env, False
    path = Path(data_dir) / PASSWORD_FILE
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip(), False
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password, True
