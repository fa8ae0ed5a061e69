"""Lectern's API: middleware and blueprints only; everything else lives in chalicelib/."""

from chalice import Chalice

from chalicelib.api import auth, me, orgs, system, tutors
from chalicelib.api.middleware import request_context

app = Chalice(app_name="lectern")
app.register_middleware(request_context, "http")

app.register_blueprint(system.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(me.bp)
app.register_blueprint(tutors.bp)
app.register_blueprint(orgs.bp)
