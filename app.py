"""Lectern's API: middleware and blueprints only; everything else lives in chalicelib/."""

from chalice import Chalice, CORSConfig

from chalicelib.api import auth, me, orgs, realtime, system, tutors, uploads, videos
from chalicelib.api.middleware import request_context

app = Chalice(app_name="lectern")
# Pages are served from another origin (:8080 locally, a static site on AWS); the API uses
# bearer tokens, never cookies, so any origin may call it.
app.api.cors = CORSConfig(allow_origin="*", max_age=600, expose_headers=["X-Request-Id"])
app.register_middleware(request_context, "http")

app.register_blueprint(system.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(me.bp)
app.register_blueprint(tutors.bp)
app.register_blueprint(orgs.bp)
app.register_blueprint(uploads.bp)
app.register_blueprint(videos.bp)

# Websocket handlers live on the app (Blueprints do not wrap them); Lambda's handler
# strings are app.ws_connect / app.ws_message / app.ws_disconnect.
ws_connect, ws_message, ws_disconnect = realtime.register(app)
