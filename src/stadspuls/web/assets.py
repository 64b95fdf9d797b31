"""The dashboard's own files (CSS, JavaScript, vendored libraries) served from the package under
`/static`: nothing is fetched from the internet, so the pages work on a closed police network."""

from __future__ import annotations

import os
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from stadspuls.web.templating import STATIC_DIR

# Vendored files change only with a new release of the package (their names carry no hash, so
# our own CSS and JS are revalidated instead: an edit shows on the next load).
VENDOR_MAX_AGE_S = 7 * 86400


class Assets(StaticFiles):
    """StaticFiles with a long cache lifetime for `vendor/` and revalidation for the rest."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = str(scope.get("path", ""))
        if "/vendor/" in path:
            response.headers["Cache-Control"] = f"public, max-age={VENDOR_MAX_AGE_S}"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


def static_files(**options: Any) -> Assets:
    return Assets(directory=STATIC_DIR, **options)
