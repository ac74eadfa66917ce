"""``python -m webapp``: check the set-up, upgrade the database, seed the demo, serve."""

from __future__ import annotations

import sys

import uvicorn

from webapp.settings import StartupError, parse_settings


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    from webapp.app import build_app
    from webapp.context import start

    try:
        context = start(settings)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if context.password_generated:
        print(f"Admin password (generated, stored in {settings.data_dir}/admin_password.txt): "
              f"{context.admin_password}", flush=True)
    if context.demo_clips_seeded:
        print(f"Seeded {context.demo_clips_seeded} demo clips.", flush=True)
    app = build_app(context)
    print(f"Serving on http://{settings.host}:{settings.port}/ (schema "
          f"{context.schema_revision})", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
