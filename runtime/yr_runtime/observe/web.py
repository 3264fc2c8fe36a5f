"""The master's web server (aiohttp, on the daemon's event loop): the dashboard, its JSON
API and Prometheus' `/metrics`.

Every request needs the session token: the `yr_token` cookie (set by `/login?token=...`,
the URL `yr start` prints), an `Authorization: Bearer <token>` header (for Prometheus'
`authorization.credentials_file`), or `?token=`. It listens on loopback unless told
otherwise. Every asset is served from this package (observe/static/): no external request.
"""
from __future__ import annotations

import hmac
from pathlib import Path

from aiohttp import web

from yr_runtime.observe import exposition, state
from yr_runtime.services.observe import LogError, fetch_log

STATIC = Path(__file__).with_name("static")
COOKIE = "yr_token"
DEFAULT_PORT = 22870   # or the next free one (after the master's gRPC range, 22770-22869)
PORTS_TRIED = 100
LOG_TAIL_MAX = 5000


def make_app(master, token: bytes) -> web.Application:
    secret = token.decode()

    @web.middleware
    async def auth(request, handler):
        if request.path == "/login":
            return await handler(request)
        given = (request.cookies.get(COOKIE) or request.query.get("token")
                 or request.headers.get("Authorization", "").removeprefix("Bearer "))
        if not hmac.compare_digest(given or "", secret):
            raise web.HTTPUnauthorized(text="yr: missing or wrong session token; open the URL `yr start` printed "
                                            "(/login?token=...), or send Authorization: Bearer <token>")
        return await handler(request)

    async def login(request):
        if not hmac.compare_digest(request.query.get("token", ""), secret):
            raise web.HTTPUnauthorized(text="yr: wrong session token")
        resp = web.HTTPFound("/")
        resp.set_cookie(COOKIE, secret, httponly=True, samesite="Strict")
        raise resp

    async def index(request):
        return web.FileResponse(STATIC / "index.html")

    async def metrics(request):
        return web.Response(body=exposition.render(master), headers={"Content-Type": exposition.CONTENT_TYPE})

    async def overview(request):
        book = master.book
        totals = book.call_totals().values()
        return web.json_response({
            "nodes": state.rows(master, "nodes"), "jobs": state.rows(master, "jobs"),
            "functions": state.rows(master, "functions"), "rates": book.call_rates(),
            "calls_finished": sum(c[1] for c in totals), "calls_failed": sum(c[2] for c in totals)})

    async def instances(request):
        return web.json_response(state.rows(master, "instances"))

    async def instance(request):
        iid = request.match_info["id"]
        inst = master.cluster.instances.get(iid)
        if inst is None:
            raise web.HTTPNotFound(text=f"there is no instance with id {iid}")
        calls = {m: {"started": c[0], "finished": c[1], "failed": c[2], "seconds": c[3]}
                 for m, c in master.book.instance_calls(iid).items()}
        return web.json_response(dict(state.instance_row(inst), calls=calls))

    async def log_tail(request):
        try:
            tail = min(max(int(request.query.get("tail", "200")), 1), LOG_TAIL_MAX)
        except ValueError:
            raise web.HTTPBadRequest(text="tail must be an integer") from None
        try:
            read, _ = await fetch_log(master, request.match_info["id"], -1, tail, 0)
        except LogError as e:
            raise web.HTTPNotFound(text=str(e)) from None
        return web.Response(text=read.data.decode(errors="replace"))

    app = web.Application(middlewares=[auth])
    app.add_routes([web.get("/login", login), web.get("/", index), web.get("/metrics", metrics),
                    web.get("/api/overview", overview), web.get("/api/instances", instances),
                    web.get("/api/instances/{id}", instance), web.get("/api/instances/{id}/log", log_tail),
                    web.static("/static", STATIC)])
    return app


async def serve(master, token: bytes, host: str, port: int = 0) -> tuple[web.AppRunner, str]:
    """Starts the server on HOST:PORT (port 0: DEFAULT_PORT or the next free one); returns
    the runner (cleanup() stops it) and the URL."""
    runner = web.AppRunner(make_app(master, token), access_log=None)
    await runner.setup()
    for p in [port] if port else range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED):
        site = web.TCPSite(runner, host, p, reuse_address=False, reuse_port=False)
        try:
            await site.start()
        except OSError:
            if port:
                await runner.cleanup()
                raise
            continue
        shown = f"[{host}]" if ":" in host else host
        return runner, f"http://{shown}:{p}"
    await runner.cleanup()
    raise OSError(f"no free port for the dashboard on {host} in {DEFAULT_PORT}-{DEFAULT_PORT + PORTS_TRIED - 1}")
