"""Lectern's API: middleware and one blueprint per capability; everything else lives in chalicelib/."""

from chalice import Chalice, CORSConfig

from chalicelib.core.middleware import request_context
from chalicelib.courses import api as courses
from chalicelib.identity import api as identity
from chalicelib.orgs import api as orgs
from chalicelib.realtime import api as realtime
from chalicelib.system import api as system
from chalicelib.uploads import api as uploads
from chalicelib.video import api as video

app = Chalice(app_name="lectern")
# Pages are served from another origin (:8080 locally, a static site on AWS); the API uses
# bearer tokens, never cookies, so any origin may call it.
# Retry-After: pages read when a rate limit lets them try again.
app.api.cors = CORSConfig(allow_origin="*", max_age=600, expose_headers=["X-Request-Id", "Retry-After"])
app.register_middleware(request_context, "http")

app.register_blueprint(system.bp)
app.register_blueprint(identity.bp)
app.register_blueprint(orgs.bp)
app.register_blueprint(uploads.bp)
app.register_blueprint(video.bp)
app.register_blueprint(courses.bp)

# Websocket handlers live on the app (Blueprints do not wrap them); Lambda's handler
# strings are app.ws_connect / app.ws_message / app.ws_disconnect.
ws_connect, ws_message, ws_disconnect = realtime.register(app)
